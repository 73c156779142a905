using CabinAgent.Speech.Audio;
using MQTTnet.Protocol;

namespace CabinAgent.Messaging;

/// <summary>
/// The cockpit's audio topic as the <see cref="IAudioFeed"/> speech listens to, on a connection of its own
/// (<see cref="MqttConnectionRole.Audio"/>: client id <c>&lt;agent&gt;-audio</c>, clean session, no will, no status): the
/// same connection type, so TLS, credentials, reconnect and backoff are the agent's, but its own TCP connection and
/// receive loop — a flood of audio never queues in front of telemetry, transcripts or alerts on the agent's session.
/// Subscribed at QoS 0 on a session that keeps nothing: audio from before a reconnect would otherwise reach the
/// recogniser late, as if just said. The connection is started by the first <see cref="StartAsync"/>.
/// </summary>
public sealed class MqttAudioFeed(MqttConnection connection, MqttOptions options, string topic) : IAudioFeed
{
    public string Topic => topic;

    public string Endpoint
    {
        get
        {
            var (host, port) = MqttOptions.ParseBroker(options.Broker);
            return $"{host}:{port}";
        }
    }

    public string Description => $"mqtt:{Topic}@{Endpoint}";

    public async Task<IAsyncDisposable> StartAsync(Action<AudioFeedEvent> receiver, CancellationToken cancellationToken)
    {
        var delivery = new Delivery(connection, receiver);
        await connection.SubscribeAsync(topic, delivery.OnMessage, cancellationToken, qos: MqttQualityOfServiceLevel.AtMostOnce)
            .ConfigureAwait(false);
        // Already up: subscribed just now, on this connection (a reconnect meanwhile reports its own number, and the
        // receiver ignores the older one).
        if (connection.IsConnected) delivery.OnConnected();
        // The first start brings the audio connection up; until the broker is there, the delivery reports it unreachable.
        else connection.StartInBackground();
        return delivery;
    }

    /// <summary>Forwards the connection's events until disposed; the broker subscription stays and is ignored.</summary>
    private sealed class Delivery : IAsyncDisposable
    {
        private readonly MqttConnection _connection;
        private volatile Action<AudioFeedEvent>? _receiver;

        public Delivery(MqttConnection connection, Action<AudioFeedEvent> receiver)
        {
            _connection = connection;
            _receiver = receiver;
            connection.Connected += OnConnectedAsync;
            connection.Disconnected += OnDisconnected;
            connection.ConnectFailed += OnConnectFailed;
        }

        public Task OnMessage(InboundMessage message)
        {
            _receiver?.Invoke(new AudioFeedEvent.Chunk(message.Connection, message.Payload));
            return Task.CompletedTask;
        }

        public void OnConnected() => _receiver?.Invoke(new AudioFeedEvent.Connected(_connection.ConnectionNumber));

        private Task OnConnectedAsync()
        {
            OnConnected();
            return Task.CompletedTask;
        }

        private void OnDisconnected(int number, string reason) => _receiver?.Invoke(new AudioFeedEvent.Lost(number, reason));

        private void OnConnectFailed(string error) => _receiver?.Invoke(new AudioFeedEvent.Unreachable(error));

        public ValueTask DisposeAsync()
        {
            _receiver = null;
            _connection.Connected -= OnConnectedAsync;
            _connection.Disconnected -= OnDisconnected;
            _connection.ConnectFailed -= OnConnectFailed;
            return ValueTask.CompletedTask;
        }
    }
}
