using System.Collections.Concurrent;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace CabinAgent.Robustness.Tests;

/// <summary>One message seen on the bus.</summary>
public sealed record BusMessage(string Topic, string Payload, IReadOnlyDictionary<string, string> UserProperties);

/// <summary>
/// An ECU simulator that records everything on the broker (filter <c>#</c>, not just <c>vehicle/#</c>), so a
/// publish that escaped the vehicle prefix would be seen too.
/// </summary>
public sealed class BusRecorder : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly ConcurrentQueue<BusMessage> _received = new();

    private BusRecorder(IMqttClient client)
    {
        _client = client;
        _client.ApplicationMessageReceivedAsync += e =>
        {
            var m = e.ApplicationMessage;
            var props = (m.UserProperties ?? []).ToDictionary(p => p.Name, p => p.ReadValueAsString());
            _received.Enqueue(new BusMessage(m.Topic, Encoding.UTF8.GetString(m.Payload), props));
            return Task.CompletedTask;
        };
    }

    public IReadOnlyList<BusMessage> Received => _received.ToArray();

    public static async Task<BusRecorder> ConnectAsync(string brokerUrl, string filter = "#")
    {
        var uri = new Uri(brokerUrl);
        var client = new MqttClientFactory().CreateMqttClient();
        var recorder = new BusRecorder(client);
        await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer(uri.Host, uri.Port)
            .WithClientId("ecu-sim-" + Guid.NewGuid().ToString("N")[..8])
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .Build());
        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic(filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
            .Build());
        return recorder;
    }

    /// <summary>Waits until <paramref name="predicate"/> holds, or fails naming what arrived.</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<BusMessage>, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!predicate(Received))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("the bus recorder did not see what was expected; got: " +
                    string.Join(" | ", Received.Select(m => $"{m.Topic} {m.Payload}")));
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected) await _client.DisconnectAsync();
        _client.Dispose();
    }
}
