namespace CabinAgent.Speech.Audio;

public enum AudioConnectionState
{
    /// <summary>The first connection is being made; retried with backoff while the broker does not answer (then <c>ConnectionProblem</c> says why).</summary>
    Connecting,

    /// <summary>Connected and subscribed: audio arrives.</summary>
    Connected,

    /// <summary>The connection was lost; it is being made again with backoff. No audio arrives meanwhile.</summary>
    Reconnecting,

    /// <summary>Stopped: the read ended or the source was disposed.</summary>
    Closed,
}

/// <summary>
/// A source whose audio comes over a connection that can drop and come back (the MQTT broker). While it is down
/// no audio arrives; the source ends the utterance in progress with an empty chunk when the connection is lost,
/// so nothing from before the loss is glued to audio after it.
/// </summary>
public interface IConnectedAudioSource : IAudioSource
{
    AudioConnectionState ConnectionState { get; }

    /// <summary>Why there is no audio, for /healthz; null while connected.</summary>
    string? ConnectionProblem { get; }
}
