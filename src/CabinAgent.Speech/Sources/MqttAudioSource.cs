using CabinAgent.Speech.Audio;
using System.Buffers;
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
/// </summary>
public sealed class MqttAudioSource(AudioInputOptions options, ILogger? logger = null) : IAudioSource
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private IMqttClient? _client;
    private long _dropped;
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the subscription is in place (readiness for the daemon, ordering for tests).</summary>
    public Task Subscribed => _subscribed.Task;

    public string Description => $"mqtt:{options.Mqtt.Topic}@{options.Mqtt.Host}:{options.Mqtt.Port}";

    public long DroppedChunks => Interlocked.Read(ref _dropped);

    public async IAsyncEnumerable<ReadOnlyMemory<float>> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var mqtt = options.Mqtt;
        var queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(mqtt.MaxQueuedChunks)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }, _ =>
        {
            if (Interlocked.Increment(ref _dropped) % 100 == 1)
                _logger.LogWarning("MQTT audio: consumer is behind, dropped {Count} chunks so far", Interlocked.Read(ref _dropped));
        });

        var factory = new MqttClientFactory();
        _client = factory.CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            if (e.ApplicationMessage.Topic == mqtt.Topic)
                queue.Writer.TryWrite(e.ApplicationMessage.Payload.ToArray());
            return Task.CompletedTask;
        };
        _client.DisconnectedAsync += e =>
        {
            // Without the broker there is no audio: end the stream with the reason, the host decides to restart.
            if (e.ClientWasConnected)
                queue.Writer.TryComplete(new AudioSourceException($"MQTT audio: disconnected from {mqtt.Host}:{mqtt.Port} ({e.Reason})"));
            return Task.CompletedTask;
        };
        var clientOptions = new MqttClientOptionsBuilder()
            .WithTcpServer(mqtt.Host, mqtt.Port)
            .WithClientId(mqtt.ClientId)
            .WithCleanSession()
            .Build();
        try
        {
            await _client.ConnectAsync(clientOptions, cancellationToken).ConfigureAwait(false);
            await _client.SubscribeAsync(
                factory.CreateSubscribeOptionsBuilder().WithTopicFilter(mqtt.Topic, MqttQualityOfServiceLevel.AtMostOnce).Build(),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _subscribed.TrySetException(e);
            throw new AudioSourceException($"MQTT audio: cannot subscribe to {mqtt.Topic} on {mqtt.Host}:{mqtt.Port}: {e.Message}", e);
        }
        _subscribed.TrySetResult();
        _logger.LogInformation("MQTT audio: listening on {Topic} ({Rate} Hz, {Channels} ch, s16le)", mqtt.Topic, options.SampleRate, options.Channels);

        var decoder = new Pcm16Decoder(options.SampleRate, options.Channels);
        await foreach (var payload in queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (payload.Length == 0)
            {
                var tail = decoder.Flush();
                if (tail.Length > 0) yield return tail;
                decoder = new Pcm16Decoder(options.SampleRate, options.Channels);
                yield return ReadOnlyMemory<float>.Empty; // end of utterance
                continue;
            }
            var samples = decoder.Decode(payload);
            if (samples.Length > 0) yield return samples;
        }
    }

    public async ValueTask DisposeAsync()
    {
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
        _client.Dispose();
    }
}
