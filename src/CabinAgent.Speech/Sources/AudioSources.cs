using CabinAgent.Speech.Audio;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Speech.Sources;

public static class AudioSources
{
    /// <summary>
    /// The source <see cref="AudioInputOptions.Kind"/> names. Options are validated first. <c>mqtt</c> takes its audio
    /// from <paramref name="feed"/>, the agent's MQTT connection.
    /// </summary>
    public static IAudioSource Create(AudioInputOptions options, ILogger? logger = null, IAudioFeed? feed = null)
    {
        options.Validate();
        return options.Kind switch
        {
            "raw" => RawPcmSource.FromPath(options.Path, options.SampleRate, options.Channels),
            "arecord" => new ArecordSource(options),
            "mqtt" => new MqttAudioSource(
                feed ?? throw new ArgumentException("Input:Kind 'mqtt' takes its audio over the agent's MQTT connection, and there is none here"),
                options, logger),
            "wav" => new WavFileSource(options.Path),
            _ => throw new ArgumentException($"Input:Kind '{options.Kind}' is not one of {string.Join(", ", AudioInputOptions.Kinds)}"),
        };
    }
}
