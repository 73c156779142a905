using CabinAgent.Speech.Audio;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.Speech.Sources;

/// <summary>
/// Audio from the cockpit's audio front-end over MQTT: raw s16le chunks on one topic (format in
/// <see cref="MqttAudioOptions"/>), taken through an <see cref="IAudioFeed"/> — the agent's audio MQTT connection, so this
/// source has no client, TLS, credentials or backoff of its own. An empty payload marks the end of an utterance
/// (push-to-talk released) and is passed on as an empty chunk, which makes the endpointer cut at once. Chunks arriving
/// faster than they are consumed queue up to a bound; beyond it the oldest are dropped and counted in the log rather
/// than letting memory grow.
/// <para>A broker that is not up yet (the audio front-end may boot after the agent) is waited for: the state says so
/// and one warning is logged. After that the source follows the connection through losses and reconnects. Audio
/// published while it is disconnected is not received. Every chunk is tagged with the connection it came on, and the
/// first chunk from another connection — or the loss itself, whichever the reader sees first — is preceded by an empty
/// chunk when audio was under way, so an utterance cut by the loss ends there and is never glued to audio after the
/// reconnect.</para>
/// </summary>
public sealed class MqttAudioSource(IAudioFeed feed, AudioInputOptions options, ILogger? logger = null) : IConnectedAudioSource
{
    /// <summary>A chunk and the connection it came on; a null payload says that connection was lost.</summary>
    private readonly record struct Item(int Connection, byte[]? Payload);

    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly Lock _stateLock = new();
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Channel<Item>? _queue;
    private IAsyncDisposable? _delivery;
    private int _started;
    private int _connection;      // the connection audio is subscribed on now (0: none yet)
    private int _lostConnection;  // the last connection whose loss was handled
    private int _failedAttempts;  // connection attempts that failed since the start or the last loss
    private int _disconnects;
    private int _reconnects;
    private long _dropped;
    private long _lostAt;
    private volatile AudioConnectionState _state = AudioConnectionState.Connecting;
    private volatile string? _problem; // null until something is wrong

    /// <summary>Completes once the first subscription is in place (readiness for the daemon, ordering for tests).</summary>
    public Task Subscribed => _subscribed.Task;

    public string Description => feed.Description;

    public long DroppedChunks => Interlocked.Read(ref _dropped);

    /// <summary>Connections lost since the start.</summary>
    public int Disconnects => Volatile.Read(ref _disconnects);

    /// <summary>Connections made again after a loss, each with the subscription restored.</summary>
    public int Reconnects => Volatile.Read(ref _reconnects);

    public AudioConnectionState ConnectionState => _state;

    public string? ConnectionProblem => _problem;

    public async IAsyncEnumerable<ReadOnlyMemory<float>> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
            throw new InvalidOperationException("an MqttAudioSource is read once");
        var queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(options.Mqtt.MaxQueuedChunks)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }, _ =>
        {
            if (Interlocked.Increment(ref _dropped) % 100 == 1)
                _logger.LogWarning("MQTT audio: consumer is behind, dropped {Count} chunks so far", Interlocked.Read(ref _dropped));
        });
        _queue = queue;
        _delivery = await feed.StartAsync(OnFeed, cancellationToken).ConfigureAwait(false);

        try
        {
            var decoder = new Pcm16Decoder(options.SampleRate, options.Channels);
            var connection = Volatile.Read(ref _connection);
            var underWay = false; // audio passed on since the last empty chunk
            await foreach (var item in queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (item.Payload is null || item.Connection != connection)
                {
                    // The connection the audio so far came on is gone: what was under way ends here.
                    if (underWay)
                    {
                        var tail = decoder.Flush();
                        if (tail.Length > 0) yield return tail;
                        yield return ReadOnlyMemory<float>.Empty;
                        underWay = false;
                    }
                    decoder = new Pcm16Decoder(options.SampleRate, options.Channels);
                    connection = item.Payload is null ? -1 : item.Connection;
                    if (item.Payload is null) continue;
                }
                if (item.Payload.Length == 0)
                {
                    var tail = decoder.Flush();
                    if (tail.Length > 0) yield return tail;
                    decoder = new Pcm16Decoder(options.SampleRate, options.Channels);
                    yield return ReadOnlyMemory<float>.Empty; // end of utterance
                    underWay = false;
                    continue;
                }
                var samples = decoder.Decode(item.Payload);
                if (samples.Length > 0)
                {
                    underWay = true;
                    yield return samples;
                }
            }
        }
        finally
        {
            await StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>On the transport's receive loop: chunks are queued, the connection's state is followed at once.</summary>
    private void OnFeed(AudioFeedEvent e)
    {
        switch (e)
        {
            case AudioFeedEvent.Chunk chunk:
                _queue?.Writer.TryWrite(new Item(chunk.Connection, chunk.Payload));
                break;
            case AudioFeedEvent.Connected connected:
                OnConnected(connected.Connection);
                break;
            case AudioFeedEvent.Lost lost:
                OnConnectionLost(lost.Connection, lost.Reason);
                break;
            case AudioFeedEvent.Unreachable unreachable:
                OnUnreachable(unreachable.Reason);
                break;
        }
    }

    private void OnConnected(int connection)
    {
        int attempts;
        bool first;
        lock (_stateLock)
        {
            // Reported twice when the source starts on a connection that is coming up at that very moment.
            if (connection <= _connection || _state == AudioConnectionState.Closed) return;
            _connection = connection;
            attempts = _failedAttempts + 1;
            _failedAttempts = 0;
            first = !_subscribed.Task.IsCompleted;
            _state = AudioConnectionState.Connected;
            _problem = null;
        }
        if (first)
        {
            _subscribed.TrySetResult();
            _logger.LogInformation("MQTT audio: listening on {Topic} at {Endpoint} ({Rate} Hz, {Channels} ch, s16le){Attempts}",
                feed.Topic, feed.Endpoint, options.SampleRate, options.Channels, attempts > 1 ? $" after {attempts} attempts" : "");
            return;
        }
        Interlocked.Increment(ref _reconnects);
        var down = Stopwatch.GetElapsedTime(Interlocked.Read(ref _lostAt));
        _logger.LogInformation("MQTT audio: reconnected to {Endpoint} after {Attempts} attempt(s), {Seconds:F1} s without audio; listening on {Topic} again",
            feed.Endpoint, attempts, down.TotalSeconds, feed.Topic);
    }

    /// <summary>Marks a connection lost, once: counts it, logs it, tells the reader.</summary>
    private void OnConnectionLost(int connection, string reason)
    {
        lock (_stateLock)
        {
            // Only the connection audio is on now, and only once.
            if (connection != _connection || _lostConnection == connection || _state == AudioConnectionState.Closed) return;
            _lostConnection = connection;
            _failedAttempts = 0;
            _problem = $"disconnected from {feed.Endpoint} ({reason}); reconnecting";
            _state = AudioConnectionState.Reconnecting;
        }
        Interlocked.Increment(ref _disconnects);
        Interlocked.Exchange(ref _lostAt, Stopwatch.GetTimestamp());
        _queue?.Writer.TryWrite(new Item(connection, null));
        _logger.LogWarning("MQTT audio: disconnected from {Endpoint} ({Reason}); reconnecting. The utterance in progress ends here; audio is not received until the connection is back",
            feed.Endpoint, reason);
    }

    private void OnUnreachable(string reason)
    {
        bool firstWarning;
        int attempt;
        lock (_stateLock)
        {
            if (_state is AudioConnectionState.Connected or AudioConnectionState.Closed) return;
            attempt = ++_failedAttempts;
            var everSubscribed = _subscribed.Task.IsCompleted;
            firstWarning = !everSubscribed && _problem is null;
            _problem = everSubscribed
                ? $"disconnected from {feed.Endpoint}; reconnecting (attempt {attempt}: {reason})"
                : $"cannot reach {feed.Endpoint} to subscribe to {feed.Topic} ({reason}); retrying";
        }
        // Logged once at the start or the loss and once at the (re)connect; the attempts in between only at debug level.
        if (firstWarning)
            _logger.LogWarning("MQTT audio: cannot reach {Endpoint} to subscribe to {Topic} ({Error}); retrying. No audio until it answers",
                feed.Endpoint, feed.Topic, reason);
        else
            _logger.LogDebug("MQTT audio: connection attempt {Attempt} failed ({Error})", attempt, reason);
    }

    private async Task StopAsync()
    {
        lock (_stateLock)
        {
            if (_state == AudioConnectionState.Closed) return;
            _state = AudioConnectionState.Closed;
            _problem = "stopped";
        }
        if (Interlocked.Exchange(ref _delivery, null) is { } delivery)
            await delivery.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
