namespace CabinAgent.Speech.Audio;

/// <summary>
/// Audio pushed to the agent by a transport it does not own here: the cockpit's audio topic, carried by the agent's audio
/// MQTT connection (<c>CabinAgent.Messaging.MqttAudioFeed</c>; an instance of the same connection type as the agent's
/// main one, so bulk audio never waits in line with safety traffic). Speech owns this small port and holds no client
/// of its own, so TLS, credentials, reconnect and backoff exist once, in the connection type.
/// </summary>
public interface IAudioFeed
{
    /// <summary>For logs and /healthz: <c>mqtt:vehicle/demo/audio/in@127.0.0.1:1883</c>.</summary>
    string Description { get; }

    /// <summary>Where the audio comes from, for sentences like "disconnected from 127.0.0.1:1883".</summary>
    string Endpoint { get; }

    /// <summary>The audio topic.</summary>
    string Topic { get; }

    /// <summary>
    /// Starts delivering to <paramref name="receiver"/>: chunks, and the connection's ups and downs. The receiver is
    /// called on the transport's receive loop, so it must hand the event on and return at once. Disposing the result
    /// stops the delivery.
    /// </summary>
    Task<IAsyncDisposable> StartAsync(Action<AudioFeedEvent> receiver, CancellationToken cancellationToken);
}

/// <summary>What an <see cref="IAudioFeed"/> reports. Connections are numbered 1, 2, … since the process started.</summary>
public abstract record AudioFeedEvent
{
    private AudioFeedEvent() { }

    /// <summary>
    /// One message of the audio topic, as it came: raw little-endian s16le bytes (an empty payload ends the
    /// utterance), and the connection it arrived on.
    /// </summary>
    public sealed record Chunk(int Connection, byte[] Payload) : AudioFeedEvent;

    /// <summary>The connection is up and the audio topic subscribed on it.</summary>
    public sealed record Connected(int Connection) : AudioFeedEvent;

    /// <summary>The connection was lost; nothing arrives until the next <see cref="Connected"/>.</summary>
    public sealed record Lost(int Connection, string Reason) : AudioFeedEvent;

    /// <summary>An attempt to (re)connect failed; the transport tries again after its backoff.</summary>
    public sealed record Unreachable(string Reason) : AudioFeedEvent;
}
