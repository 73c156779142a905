using CabinAgent.Speech.Audio;
using CabinAgent.Speech.Sources;
using Microsoft.Extensions.Configuration;

namespace CabinAgent.Speech.Tests;

public class SpeechOptionsTests
{
    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var options = new SpeechOptions
        {
            ModelPath = "",
            Language = "fr",
            Threads = -1,
            MaxTokens = 0,
            Endpointing = new EndpointerOptions { SilenceMs = 10 },
            Input = new AudioInputOptions { Kind = "pulse" },
        };
        var error = Assert.Throws<ArgumentException>(() => options.Validate());
        Assert.Equal(
            "Speech:ModelPath is not set; Speech:Language 'fr' is not one of zh, en, auto; Speech:Threads must be 0 (all cores) to 256; " +
            "Speech:MaxTokens must be within [1, 224]; Speech:Endpointing: SilenceMs must be at least 50; " +
            "Speech:Input:Kind 'pulse' is not one of raw, arecord, mqtt, wav",
            error.Message);
    }

    [Fact]
    public void The_defaults_are_valid_apart_from_the_model()
    {
        new SpeechOptions().Validate(requireModel: false);
        Assert.Equal(Environment.ProcessorCount, new SpeechOptions().EffectiveThreads);
    }

    [Fact]
    public void The_speech_section_binds_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Speech:ModelPath"] = "/models/ggml-small.bin",
            ["Speech:Language"] = "zh",
            ["Speech:Endpointing:SilenceMs"] = "500",
            ["Speech:Endpointing:Vad:HighPassHz"] = "120",
            ["Speech:Input:Kind"] = "mqtt",
            ["Speech:Input:Mqtt:Topic"] = "vehicle/car-7/audio/in",
        }).Build();
        var bound = new SpeechOptions();
        configuration.GetSection(SpeechOptions.SectionName).Bind(bound);
        Assert.Equal("zh", bound.Language);
        Assert.Equal(500, bound.Endpointing.SilenceMs);
        Assert.Equal(120, bound.Endpointing.Vad.HighPassHz);
        Assert.Equal("vehicle/car-7/audio/in", bound.Input.Mqtt.Topic);
    }
}
