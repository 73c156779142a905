using CabinAgent.Speech.Audio;
using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Protocol;

namespace CabinAgent.Speech.Sources;

/// <summary>
/// Audio from the cockpit's audio front-end over MQTT: raw s16le chunks on one topic (format in
/// <see cref="MqttAudioOptions"/>). An empty payload marks the end of an utterance (push-to-talk
/// released) and is passed on as an empty chunk, which makes the endpointer cut at once. Chunks
/// arriving faster than they are consumed queue up to a bound; beyond it the oldest are dropped
/// and counted in the log rather than letting memory grow.
/// <para>A broker that is not up yet (the audio front-end may boot after the agent) is waited for: the first
/// connection is retried with the same backoff, the state says so, and one warning is logged. After that the source
/// survives the broker going away: it reconnects with a bounded backoff (<see cref="MqttAudioOptions.ReconnectDelayMs"/>
/// doubling up to <see cref="MqttAudioOptions.MaxReconnectDelayMs"/>, as the agent's own connection does) and
/// subscribes again. Audio published while it is disconnected is not received. Every chunk is tagged with the
/// connection it came on, and the first chunk from another connection — or the loss itself, whichever the reader
/// sees first — is preceded by an empty chunk when audio was under way, so an utterance cut by the loss ends there
/// and is never glued to audio after the reconnect.</para>
/// </summary>
public sealed class MqttAudioSource(AudioInputOptions options, ILogger? logger = null) : IConnectedAudioSource
{
    /// <summary>A chunk and the connection it came on; a null payload says that connection was lost.</summary>
    private readonly record struct Item(int Connection, byte[]? Payload);

    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly MqttClientFactory _factory = new();
    private readonly CancellationTokenSource _lifetime = new();
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly Lock _stopLock = new();
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IMqttClient? _client;
    private Channel<Item>? _queue;
    private Task? _keepConnected;
    private Task? _stopping;
    private int _started;
    private int _connection;      // connections made so far; the current one's number tags its chunks
    private int _lostConnection;  // the last connection whose loss was handled
    private int _disconnects;
    private int _reconnects;
    private long _dropped;
    private long _lostAt;
    private volatile AudioConnectionState _state = AudioConnectionState.Connecting;
    private volatile string? _problem; // null until something is wrong

    /// <summary>Completes once the first subscription is in place (readiness for the daemon, ordering for tests).</summary>
    public Task Subscribed => _subscribed.Task;

    public string Description => $"mqtt:{options.Mqtt.Topic}@{options.Mqtt.Host}:{options.Mqtt.Port}";

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
        var mqtt = options.Mqtt;
        var queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(mqtt.MaxQueuedChunks)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }, _ =>
        {
            if (Interlocked.Increment(ref _dropped) % 100 == 1)
                _logger.LogWarning("MQTT audio: consumer is behind, dropped {Count} chunks so far", Interlocked.Read(ref _dropped));
        });
        _queue = queue;

        _client = _factory.CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            if (e.ApplicationMessage.Topic == mqtt.Topic)
                queue.Writer.TryWrite(new Item(Volatile.Read(ref _connection), e.ApplicationMessage.Payload.ToArray()));
            return Task.CompletedTask;
        };
        _client.DisconnectedAsync += e =>
        {
            // Our own disconnect, or a connection attempt that failed (the reconnect loop handles those).
            if (!_lifetime.IsCancellationRequested && e.ClientWasConnected)
                OnConnectionLost(Volatile.Read(ref _connection), e.Reason.ToString());
            return Task.CompletedTask;
        };
        try
        {
            await ConnectAsync(cancellationToken).ConfigureAwait(false);
            OnFirstSubscription(attempts: 1);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Not up yet: keep trying in the background, as after a loss; the reader waits on the queue meanwhile.
            _problem = $"cannot reach {mqtt.Host}:{mqtt.Port} to subscribe to {mqtt.Topic} ({e.Message}); retrying";
            _logger.LogWarning("MQTT audio: cannot reach {Host}:{Port} to subscribe to {Topic} ({Error}); retrying. No audio until it answers",
                mqtt.Host, mqtt.Port, mqtt.Topic, e.Message);
        }
        _keepConnected = Task.Run(() => KeepConnectedAsync(_lifetime.Token), CancellationToken.None);

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

    /// <summary>Connects and subscribes, unless already connected. A new connection gets the next number.</summary>
    private async Task ConnectAsync(CancellationToken ct)
    {
        var mqtt = options.Mqtt;
        await _connectLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_client!.IsConnected) return;
            var clientOptions = new MqttClientOptionsBuilder()
                .WithTcpServer(mqtt.Host, mqtt.Port)
                .WithClientId(mqtt.ClientId)
                .WithCleanSession()
                .WithTimeout(TimeSpan.FromMilliseconds(mqtt.ConnectTimeoutMs))
                .Build();
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                timeout.CancelAfter(mqtt.ConnectTimeoutMs);
                await _client.ConnectAsync(clientOptions, timeout.Token).ConfigureAwait(false);
            }
            // Before subscribing: every chunk from here on is tagged with the new connection.
            Interlocked.Increment(ref _connection);
            try
            {
                await _client.SubscribeAsync(
                    _factory.CreateSubscribeOptionsBuilder().WithTopicFilter(mqtt.Topic, MqttQualityOfServiceLevel.AtMostOnce).Build(),
                    ct).ConfigureAwait(false);
            }
            catch
            {
                // Connected but not subscribed would be a silent microphone: drop the connection and try again.
                try { await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None).ConfigureAwait(false); }
                catch (Exception e) { _logger.LogDebug(e, "MQTT audio: disconnect after a failed subscribe failed"); }
                throw;
            }
            _state = AudioConnectionState.Connected;
            _problem = null;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private void OnFirstSubscription(int attempts)
    {
        var mqtt = options.Mqtt;
        _subscribed.TrySetResult();
        _logger.LogInformation("MQTT audio: listening on {Topic} at {Host}:{Port} ({Rate} Hz, {Channels} ch, s16le){Attempts}",
            mqtt.Topic, mqtt.Host, mqtt.Port, options.SampleRate, options.Channels, attempts > 1 ? $" after {attempts} attempts" : "");
    }

    /// <summary>Marks a connection lost, once: counts it, logs it, tells the reader.</summary>
    private void OnConnectionLost(int connection, string reason)
    {
        if (Interlocked.Exchange(ref _lostConnection, connection) == connection) return;
        var mqtt = options.Mqtt;
        Interlocked.Increment(ref _disconnects);
        Interlocked.Exchange(ref _lostAt, Stopwatch.GetTimestamp());
        _problem = $"disconnected from {mqtt.Host}:{mqtt.Port} ({reason}); reconnecting";
        _state = AudioConnectionState.Reconnecting;
        _queue?.Writer.TryWrite(new Item(connection, null));
        _logger.LogWarning("MQTT audio: disconnected from {Host}:{Port} ({Reason}); reconnecting. The utterance in progress ends here; audio is not received until the connection is back",
            mqtt.Host, mqtt.Port, reason);
    }

    private async Task KeepConnectedAsync(CancellationToken ct)
    {
        var mqtt = options.Mqtt;
        var delay = mqtt.ReconnectDelayMs;
        var attempts = 0;
        while (true)
        {
            try
            {
                await Task.Delay(attempts == 0 ? mqtt.ReconnectDelayMs : delay, ct).ConfigureAwait(false);
                if (_client!.IsConnected) continue;
                // Normally the client's event has said so already; this catches a loss it did not report.
                OnConnectionLost(Volatile.Read(ref _connection), "connection lost");
                attempts++;
                await ConnectAsync(ct).ConfigureAwait(false);
                if (!_subscribed.Task.IsCompleted)
                {
                    // The first connection (the broker was not up at start): not a reconnect.
                    OnFirstSubscription(attempts + 1);
                    attempts = 0;
                    delay = mqtt.ReconnectDelayMs;
                    continue;
                }
                Interlocked.Increment(ref _reconnects);
                var down = Stopwatch.GetElapsedTime(Interlocked.Read(ref _lostAt));
                _logger.LogInformation("MQTT audio: reconnected to {Host}:{Port} after {Attempts} attempt(s), {Seconds:F1} s without audio; listening on {Topic} again",
                    mqtt.Host, mqtt.Port, attempts, down.TotalSeconds, mqtt.Topic);
                attempts = 0;
                delay = mqtt.ReconnectDelayMs;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Logged once at the loss and once at the reconnect; the attempts in between only at debug level.
                _problem = _subscribed.Task.IsCompleted
                    ? $"disconnected from {mqtt.Host}:{mqtt.Port}; reconnecting (attempt {attempts}: {e.Message})"
                    : $"cannot reach {mqtt.Host}:{mqtt.Port} to subscribe to {mqtt.Topic}; retrying (attempt {attempts + 1}: {e.Message})";
                _logger.LogDebug("MQTT audio: reconnect attempt {Attempt} failed ({Error}); next in {Delay} ms", attempts, e.Message, delay);
                delay = Math.Min(delay * 2, mqtt.MaxReconnectDelayMs);
            }
        }
    }

    private Task StopAsync()
    {
        lock (_stopLock)
            return _stopping ??= StopOnceAsync();
    }

    private async Task StopOnceAsync()
    {
        await _lifetime.CancelAsync().ConfigureAwait(false);
        if (_keepConnected is not null)
        {
            try { await _keepConnected.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        if (_state != AudioConnectionState.Closed)
        {
            _state = AudioConnectionState.Closed;
            _problem = "stopped";
        }
        if (_client is null) return;
        try
        {
            if (_client.IsConnected)
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build()).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogDebug(e, "MQTT audio: disconnect failed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _client?.Dispose();
        _connectLock.Dispose();
        _lifetime.Dispose();
    }
}
