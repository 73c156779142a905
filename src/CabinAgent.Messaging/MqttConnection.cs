using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Polly;

namespace CabinAgent.Messaging;

/// <summary>An inbound message, already copied out of the client's buffers.</summary>
/// <param name="ReceivedTimestamp">Stopwatch timestamp taken the moment the message reached the agent: every latency
/// (alerts, emergencies, acknowledgements) is measured from here, not from when a handler got to it.</param>
public sealed record InboundMessage(string Topic, byte[] Payload, long ReceivedTimestamp, string? CorrelationData = null)
{
    /// <summary>The broker's DUP flag: it sent this message before, to an earlier connection of this session.</summary>
    public bool Redelivered { get; init; }

    /// <summary>Sent because the subscription was made (a retained message), not because someone just published it.</summary>
    public bool Retained { get; init; }

    /// <summary>Which connection of the session it arrived on (1, 2, … since the process started).</summary>
    public int Connection { get; init; }

    /// <summary>
    /// For subscriptions with <see cref="Acknowledgement.Manual"/>: sends the QoS 1 PUBACK. Until it is called the broker
    /// keeps the message and sends it again to the next connection. Returns false, sending nothing, once the connection
    /// it arrived on is gone (the broker then redelivers it, and the intake recognises the redelivery).
    /// </summary>
    public Func<CancellationToken, Task<bool>> AcknowledgeAsync { get; init; } = static _ => Task.FromResult(true);
}

/// <summary>When the broker is told a message was received.</summary>
public enum Acknowledgement
{
    /// <summary>As soon as the handler returns.</summary>
    Automatic,

    /// <summary>When the handler calls <see cref="InboundMessage.AcknowledgeAsync"/>: after the message is safe on disk.</summary>
    Manual,
}

/// <summary>What an <see cref="MqttConnection"/> is for: its client id, its session and whether it speaks for the agent.</summary>
public enum MqttConnectionRole
{
    /// <summary>
    /// The agent's session (<see cref="MqttOptions.EffectiveClientId"/>): persistent, with the retained last will and the
    /// online/offline status. Everything safety-relevant (telemetry, transcripts, commands, acknowledgements, alerts)
    /// travels here.
    /// </summary>
    Agent,

    /// <summary>
    /// Speech's audio input only (<c>&lt;EffectiveClientId&gt;-audio</c>): a clean session that keeps nothing (expiry 0),
    /// no will, no status. Its own TCP connection, so a flood of audio can never hold up the agent's session.
    /// </summary>
    Audio,
}

/// <summary>
/// One MQTT 5 session of the agent (<see cref="MqttConnectionRole"/>: the agent's own, or the audio input's): connects with a retained last will on the status topic, announces
/// itself online (the agent's role only), keeps reconnecting with backoff when the broker goes away, and restores its
/// subscriptions after every reconnect. The session is persistent (<see cref="MqttOptions.SessionExpirySeconds"/>):
/// what is sent to the agent while it is away waits on the broker.
/// <para>The client delivers messages one at a time on one receive loop, so a handler that waited would hold up
/// every other topic (telemetry, ECU acknowledgements) behind it. Handlers therefore only classify and hand the
/// message on to their own lane; they must return at once.</para>
/// </summary>
public sealed class MqttConnection : IAsyncDisposable
{
    private readonly MqttOptions _options;
    private readonly TopicMap _topics;
    private readonly ILogger _logger;
    private readonly IMqttClient _client;
    private readonly List<(string Filter, Func<InboundMessage, Task> Handler, Acknowledgement Ack, MqttQualityOfServiceLevel Qos)> _subscriptions = [];
    private readonly ResiliencePipeline _reconnect;
    private int _generation;
    private int _upGeneration;   // the last connection that was made (an attempt that failed has a number too)
    private int _lostGeneration; // the last connection whose loss was reported
    private readonly CancellationTokenSource _lifetime = new();
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private Task? _reconnectLoop;
    private bool _audioRetired; // the agent's role: audio/in removed from the session (once per process)

    public MqttConnection(MqttOptions options, TopicMap topics, ILogger<MqttConnection> logger, MqttConnectionRole role = MqttConnectionRole.Agent)
    {
        _options = options;
        Role = role;
        _topics = topics;
        _logger = logger;
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += e =>
        {
            if (!_lifetime.IsCancellationRequested)
            {
                _logger.LogWarning("Disconnected from the broker: {Reason}", e.Reason);
                // A failed connection attempt ends here too; only a connection that was up can be lost.
                if (e.ClientWasConnected) ReportLost(e.Reason.ToString());
            }
            return Task.CompletedTask;
        };
        _reconnect = BrokerReconnect.Pipeline(options, (error, delay) =>
        {
            _logger.LogWarning("Broker {Broker} unreachable ({Error}); retrying in {Delay} ms", _options.Broker, error, delay);
        });
    }

    public bool IsConnected => _client.IsConnected;

    public MqttConnectionRole Role { get; }

    /// <summary>The client id this connection uses: the agent's, or the agent's with <c>-audio</c> appended.</summary>
    public string ClientId => Role == MqttConnectionRole.Audio ? _options.EffectiveClientId + "-audio" : _options.EffectiveClientId;

    private bool SpeaksForAgent => Role == MqttConnectionRole.Agent;

    private uint SessionExpirySeconds => SpeaksForAgent ? (uint)_options.SessionExpirySeconds : 0;

    /// <summary>The number of the current (or last) connection; <see cref="InboundMessage.Connection"/> carries the same.</summary>
    public int ConnectionNumber => Volatile.Read(ref _generation);

    /// <summary>Raised after every successful (re)connect, once subscriptions are restored.</summary>
    public event Func<Task>? Connected;

    /// <summary>Raised once when a connection that was up is lost, with its number and the reason.</summary>
    public event Action<int, string>? Disconnected;

    /// <summary>Raised when an attempt to connect fails, with the error; the backoff then waits.</summary>
    public event Action<string>? ConnectFailed;

    public static string StatusPayload(string state) => JsonSerializer.Serialize(new Dictionary<string, string> { ["state"] = state });

    /// <summary>
    /// Registers a handler; subscribed now if connected and again after every reconnect. The handler runs on the
    /// client's receive loop: it must hand the message on and return, never wait.
    /// </summary>
    /// <param name="qos">The subscription's maximum QoS: at most once for what must not be kept for the agent while it
    /// is away (live audio), else at least once.</param>
    public async Task SubscribeAsync(string filter, Func<InboundMessage, Task> handler, CancellationToken ct,
        Acknowledgement acknowledgement = Acknowledgement.Automatic, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce)
    {
        lock (_subscriptions) _subscriptions.Add((filter, handler, acknowledgement, qos));
        if (_client.IsConnected)
            await SubscribeOnBrokerAsync(filter, qos, ct).ConfigureAwait(false);
    }

    private async Task SubscribeOnBrokerAsync(string filter, MqttQualityOfServiceLevel qos, CancellationToken ct)
    {
        var result = await _client.SubscribeAsync(filter, qos, ct).ConfigureAwait(false);
        // A broker's ACL can refuse a subscription without failing the call: say so, or it looks like silence on the topic.
        foreach (var item in result.Items.Where(i => (int)i.ResultCode >= 0x80))
            _logger.LogError("The broker refused the subscription to {Filter}: {Code}", filter, item.ResultCode);
    }

    /// <summary>Connects once (throws when the broker is unreachable), then keeps the session alive in the background.</summary>
    public async Task ConnectAsync(CancellationToken ct)
    {
        await ConnectOnceAsync(ct).ConfigureAwait(false);
        _reconnectLoop ??= Task.Run(() => KeepConnectedAsync(_lifetime.Token), CancellationToken.None);
    }

    /// <summary>Starts the background loop without requiring the broker to be up now (degraded start).</summary>
    public void StartInBackground() =>
        _reconnectLoop ??= Task.Run(() => KeepConnectedAsync(_lifetime.Token), CancellationToken.None);

    public async Task PublishAsync(MqttApplicationMessage message, CancellationToken ct)
    {
        if (!_client.IsConnected)
            throw new MqttNotConnectedException($"not connected to {_options.Broker}");
        var result = await _client.PublishAsync(message, ct).ConfigureAwait(false);
        if (!result.IsSuccess)
            throw new MqttPublishRefusedException($"the broker refused the publish on {message.Topic}: {result.ReasonCode} {result.ReasonString}".TrimEnd());
    }

    private async Task ConnectOnceAsync(CancellationToken ct)
    {
        bool connectedNow;
        try
        {
            connectedNow = await TryConnectLockedAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            ConnectFailed?.Invoke(ex.Message);
            throw;
        }
        if (!connectedNow || Connected is not { } connected) return;
        // Each handler awaited on its own: awaiting the multicast delegate would wait for (and see the failure of) the
        // last one only.
        foreach (var handler in connected.GetInvocationList().Cast<Func<Task>>())
        {
            try
            {
                await handler().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "A reconnect handler failed");
            }
        }
    }

    /// <summary>Tells the <see cref="Disconnected"/> handlers, once per connection.</summary>
    private void ReportLost(string reason)
    {
        var generation = Volatile.Read(ref _upGeneration);
        if (generation == 0 || Interlocked.Exchange(ref _lostGeneration, generation) == generation) return;
        Disconnected?.Invoke(generation, reason);
    }

    /// <summary>Returns true when this call made a new connection.</summary>
    private async Task<bool> TryConnectLockedAsync(CancellationToken ct)
    {
        await _connectLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_client.IsConnected) return false;
            var (host, port) = MqttOptions.ParseBroker(_options.Broker);
            var builder = new MqttClientOptionsBuilder()
                .WithTcpServer(host, port)
                .WithClientId(ClientId)
                .WithProtocolVersion(MqttProtocolVersion.V500)
                .WithKeepAlivePeriod(TimeSpan.FromSeconds(_options.KeepAliveSeconds))
                .WithTimeout(TimeSpan.FromMilliseconds(_options.ConnectTimeoutMs))
                .WithCleanStart(SessionExpirySeconds == 0)
                .WithSessionExpiryInterval(SessionExpirySeconds);
            // Only the agent's session announces the agent: the audio connection's loss says nothing about it.
            if (SpeaksForAgent)
                builder = builder
                    .WithWillTopic(_topics.Status)
                    .WithWillPayload(Encoding.UTF8.GetBytes(StatusPayload("offline")))
                    .WithWillRetain(true)
                    .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
            if (_options.UseTls)
                builder = builder.WithTlsOptions(BrokerTls.Build(_options, host));
            if (!string.IsNullOrWhiteSpace(_options.Username))
                builder = builder.WithCredentials(_options.Username, _options.ReadPassword());
            var options = builder.Build();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_options.ConnectTimeoutMs);
            // Before connecting: what the broker sends right after its CONNACK already belongs to the new connection.
            Interlocked.Increment(ref _generation);
            var connected = await _client.ConnectAsync(options, timeout.Token).ConfigureAwait(false);
            Volatile.Write(ref _upGeneration, _generation);
            if (SpeaksForAgent && !_audioRetired)
                await RetireAudioSubscriptionAsync(ct).ConfigureAwait(false);

            List<(string Filter, MqttQualityOfServiceLevel Qos)> filters;
            lock (_subscriptions) filters = _subscriptions.Select(s => (s.Filter, s.Qos)).Distinct().ToList();
            foreach (var (filter, qos) in filters)
                await SubscribeOnBrokerAsync(filter, qos, ct).ConfigureAwait(false);

            if (SpeaksForAgent)
                await _client.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic(_topics.Status)
                    .WithPayload(StatusPayload("online"))
                    .WithRetainFlag(true)
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .Build(), ct).ConfigureAwait(false);
            _logger.LogInformation("Connected to {Broker} as {ClientId} (session {Session})", _options.Broker, ClientId,
                connected.IsSessionPresent ? "resumed" : "new");
            return true;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    /// <summary>
    /// Audio has its own connection (<see cref="MqttConnectionRole.Audio"/>). A session an older version persisted under
    /// the agent's client id may still hold the audio subscription, and the broker would go on pushing audio down the
    /// agent's connection — ahead of telemetry and transcripts, even with speech off. Removed once, on the first connection.
    /// </summary>
    private async Task RetireAudioSubscriptionAsync(CancellationToken ct)
    {
        var result = await _client.UnsubscribeAsync(_topics.AudioIn, ct).ConfigureAwait(false);
        _audioRetired = true;
        if (result.Items.Any(i => i.ResultCode == MqttClientUnsubscribeResultCode.Success))
            _logger.LogWarning("Removed the audio subscription {Topic} an older version left in the agent's session", _topics.AudioIn);
    }

    /// <summary>
    /// Looks every <see cref="MqttOptions.ReconnectDelayMs"/> whether the connection is up; when it is not, reconnects
    /// through the <see cref="BrokerReconnect"/> backoff until it is.
    /// </summary>
    private async Task KeepConnectedAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (!_client.IsConnected)
                {
                    // Normally the client's event has said so already; this catches a loss it did not report.
                    ReportLost("connection lost");
                    await _reconnect.ExecuteAsync(async token => await ConnectOnceAsync(token).ConfigureAwait(false), ct).ConfigureAwait(false);
                }
                await Task.Delay(_options.ReconnectDelayMs, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var received = System.Diagnostics.Stopwatch.GetTimestamp();
        var topic = e.ApplicationMessage.Topic;
        var payload = e.ApplicationMessage.Payload.ToArray();
        var correlation = e.ApplicationMessage.CorrelationData is { Length: > 0 } data ? System.Text.Encoding.UTF8.GetString(data) : null;
        List<(Func<InboundMessage, Task> Handler, Acknowledgement Ack)> handlers;
        lock (_subscriptions)
            handlers = _subscriptions.Where(s => TopicMatches(s.Filter, topic)).Select(s => (s.Handler, s.Ack)).ToList();
        var generation = Volatile.Read(ref _generation);
        var message = new InboundMessage(topic, payload, received, correlation)
        {
            Redelivered = e.ApplicationMessage.Dup,
            Retained = e.ApplicationMessage.Retain,
            Connection = generation,
        };
        if (handlers.Any(h => h.Ack == Acknowledgement.Manual) && e.ApplicationMessage.QualityOfServiceLevel != MqttQualityOfServiceLevel.AtMostOnce)
        {
            e.AutoAcknowledge = false;
            message = message with { AcknowledgeAsync = ct => AcknowledgeAsync(e, generation, ct) };
        }
        foreach (var (handler, _) in handlers)
        {
            try
            {
                await handler(message).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Handler for {Topic} failed", topic);
            }
        }
    }

    private async Task<bool> AcknowledgeAsync(MqttApplicationMessageReceivedEventArgs e, int generation, CancellationToken ct)
    {
        // A PUBACK on a later connection could name a packet id the broker has since given to another message.
        if (generation != Volatile.Read(ref _generation) || !_client.IsConnected) return false;
        try
        {
            await e.AcknowledgeAsync(ct).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // The connection went away: the broker sends the message again and the intake recognises it.
            _logger.LogDebug("Could not acknowledge a message on {Topic}: {Error}", e.ApplicationMessage.Topic, ex.Message);
            return false;
        }
    }

    /// <summary>MQTT topic filter matching with <c>+</c> and <c>#</c>.</summary>
    public static bool TopicMatches(string filter, string topic)
    {
        var f = filter.Split('/');
        var t = topic.Split('/');
        for (var i = 0; i < f.Length; i++)
        {
            if (f[i] == "#") return true;
            if (i >= t.Length) return false;
            if (f[i] != "+" && f[i] != t[i]) return false;
        }
        return f.Length == t.Length;
    }

    public async ValueTask DisposeAsync()
    {
        await _lifetime.CancelAsync().ConfigureAwait(false);
        if (_reconnectLoop is not null)
        {
            try { await _reconnectLoop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        if (_client.IsConnected)
        {
            try
            {
                // A clean shutdown says offline itself; the will is for crashes.
                if (SpeaksForAgent)
                    await _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(_topics.Status)
                        .WithPayload(StatusPayload("offline")).WithRetainFlag(true)
                        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build()).ConfigureAwait(false);
                await _client.DisconnectAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _logger.LogDebug(ex, "Disconnect failed");
            }
        }
        _client.Dispose();
        _lifetime.Dispose();
        _connectLock.Dispose();
    }
}

public sealed class MqttNotConnectedException(string message) : Exception(message);

/// <summary>The broker answered the publish with a failure reason code (not authorised, topic invalid, …): resending will not help.</summary>
public sealed class MqttPublishRefusedException(string message) : Exception(message);
