using CabinAgent.Speech.Audio;
using CabinAgent.Speech.Sources;
using CabinAgent.Speech.Whisper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CabinAgent.Speech;

public static class SpeechServiceCollectionExtensions
{
    /// <summary>
    /// Registers the speech front's own types on <see cref="SpeechOptions"/>: the whisper recognizer (model loaded once,
    /// on first use), the endpointer settings, the configured audio source and <see cref="SpeechFrontEnd"/>. Binding and
    /// validating the options is the Host's composition root's, as for every other section.
    /// </summary>
    public static IServiceCollection AddCabinSpeech(this IServiceCollection services)
    {
        services.AddSingleton<ISpeechRecognizer>(sp => WhisperRecognizer.Load(
            sp.GetRequiredService<IOptions<SpeechOptions>>().Value,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("CabinAgent.Speech.Whisper")));
        services.AddSingleton<EndpointerOptions>(sp => sp.GetRequiredService<IOptions<SpeechOptions>>().Value.Endpointing);
        services.AddTransient<IAudioSource>(sp => AudioSources.Create(
            sp.GetRequiredService<IOptions<SpeechOptions>>().Value.Input,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("CabinAgent.Speech.Input"),
            sp.GetService<IAudioFeed>()));
        services.AddSingleton(sp => new SpeechFrontEnd(
            sp.GetRequiredService<ISpeechRecognizer>(),
            sp.GetRequiredService<EndpointerOptions>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<SpeechFrontEnd>()));
        return services;
    }
}
