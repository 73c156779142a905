using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace CabinAgent.Messaging;

/// <summary>An inbound message, already copied out of the client's buffers.</summary>
/// <param name="Retained">The broker's retained copy, delivered because we subscribed (not a live publish).</param>
public sealed record InboundMessage(string Topic, byte[] Payload, long ReceivedTimestamp, string? CorrelationData = null, bool Retained = false);

/// <summary>
/// The agent's one MQTT 5 session: connects with a retained last will on the status topic, announces
/// itself online, keeps reconnecting with backoff when the broker goes away, and restores its
/// subscriptions after every reconnect.
/// </summary>
public sealed class MqttConnection : IAsyncDisposable
{
    private readonly MqttOptions _options;
    private readonly TopicMap _topics;
    private readonly ILogger _logger;
    private readonly IMqttClient _client;
    private readonly List<(string Filter, Func<InboundMessage, Task> Handler)> _subscriptions = [];
    private readonly CancellationTokenSource _lifetime = new();
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private Task? _reconnectLoop;

    public MqttConnection(MqttOptions options, TopicMap topics, ILogger<MqttConnection> logger)
    {
        _options = options;
        _topics = topics;
        _logger = logger;
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += e =>
        {
            if (!_lifetime.IsCancellationRequested)
                _logger.LogWarning("Disconnected from the broker: {Reason}", e.Reason);
            return Task.CompletedTask;
        };
    }

    public bool IsConnected => _client.IsConnected;

    /// <summary>Raised after every successful (re)connect, once subscriptions are restored.</summary>
    public event Func<Task>? Connected;

    public static string StatusPayload(string state) => JsonSerializer.Serialize(new Dictionary<string, string> { ["state"] = state });

    /// <summary>Registers a handler; subscribed now if connected and again after every reconnect.</summary>
    public async Task SubscribeAsync(string filter, Func<InboundMessage, Task> handler, CancellationToken ct)
    {
        lock (_subscriptions) _subscriptions.Add((filter, handler));
        if (_client.IsConnected)
            await _client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce, ct).ConfigureAwait(false);
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
        if (await TryConnectLockedAsync(ct).ConfigureAwait(false) && Connected is { } connected)
        {
            try
            {
                await connected().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "A reconnect handler failed");
            }
        }
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
                .WithClientId(_options.EffectiveClientId)
                .WithProtocolVersion(MqttProtocolVersion.V500)
                .WithKeepAlivePeriod(TimeSpan.FromSeconds(_options.KeepAliveSeconds))
                .WithTimeout(TimeSpan.FromMilliseconds(_options.ConnectTimeoutMs))
                .WithCleanStart(true)
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
            await _client.ConnectAsync(options, timeout.Token).ConfigureAwait(false);

            List<string> filters;
            lock (_subscriptions) filters = _subscriptions.Select(s => s.Filter).Distinct().ToList();
            foreach (var filter in filters)
                await _client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce, ct).ConfigureAwait(false);

            await _client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(_topics.Status)
                .WithPayload(StatusPayload("online"))
                .WithRetainFlag(true)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build(), ct).ConfigureAwait(false);
            _logger.LogInformation("Connected to {Broker} as {ClientId}", _options.Broker, _options.EffectiveClientId);
            return true;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private async Task KeepConnectedAsync(CancellationToken ct)
    {
        var delay = _options.ReconnectDelayMs;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (!_client.IsConnected)
                {
                    await ConnectOnceAsync(ct).ConfigureAwait(false);
                    delay = _options.ReconnectDelayMs;
                }
                await Task.Delay(_options.ReconnectDelayMs, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogWarning("Broker {Broker} unreachable ({Error}); retrying in {Delay} ms", _options.Broker, ex.Message, delay);
                try { await Task.Delay(delay, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                delay = Math.Min(delay * 2, _options.MaxReconnectDelayMs);
            }
        }
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var received = System.Diagnostics.Stopwatch.GetTimestamp();
        var topic = e.ApplicationMessage.Topic;
        var payload = e.ApplicationMessage.Payload.ToArray();
        var correlation = e.ApplicationMessage.CorrelationData is { Length: > 0 } data ? System.Text.Encoding.UTF8.GetString(data) : null;
        List<Func<InboundMessage, Task>> handlers;
        lock (_subscriptions)
            handlers = _subscriptions.Where(s => TopicMatches(s.Filter, topic)).Select(s => s.Handler).ToList();
        foreach (var handler in handlers)
        {
            try
            {
                await handler(new InboundMessage(topic, payload, received, correlation, e.ApplicationMessage.Retain)).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Handler for {Topic} failed", topic);
            }
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
