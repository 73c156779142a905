using CabinAgent.Speech.Audio;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Speech.Sources;

public static class AudioSources
{
    /// <summary>The source <see cref="AudioInputOptions.Kind"/> names. Options are validated first.</summary>
    public static IAudioSource Create(AudioInputOptions options, ILogger? logger = null)
    {
        options.Validate();
        return options.Kind switch
        {
            "raw" => RawPcmSource.FromPath(options.Path, options.SampleRate, options.Channels),
            "arecord" => new ArecordSource(options),
            "mqtt" => new MqttAudioSource(options, logger),
            "wav" => new WavFileSource(options.Path),
            _ => throw new ArgumentException($"Input:Kind '{options.Kind}' is not one of {string.Join(", ", AudioInputOptions.Kinds)}"),
        };
    }
}
