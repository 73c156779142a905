using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using CabinAgent.Host.Commands;
using CabinAgent.Host.Composition;
using CabinAgent.Messaging;
using CabinAgent.Speech;
using CabinAgent.Speech.Audio;
using CabinAgent.Speech.Sources;
using CabinAgent.Tests.Shared;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Xunit.Abstractions;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// Audio never delays safety traffic (probe findings F2/F3 of issue #12): speech's MQTT audio has a connection of its
/// own (client id <c>&lt;agent&gt;-audio</c>, clean session), so a flood on audio/in does not hold up telemetry alerts or
/// emergency transcripts on the agent's session; without MQTT audio no audio connection exists; and an audio
/// subscription an older version left in the agent's persistent session is removed.
/// </summary>
[Trait("Category", "Fault")]
public class AudioConnectionTests(ITestOutputHelper output)
{
    private const string AudioIn = "vehicle/demo/audio/in";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private static IConfiguration Configuration(string brokerUrl, bool mqttAudio) =>
        AgentComposition.BuildConfiguration(null, new Dictionary<string, string?>
        {
            ["Mqtt:Broker"] = brokerUrl,
            ["Mqtt:VehicleId"] = "demo",
            ["Mqtt:ReconnectDelayMs"] = "100",
            ["Mqtt:MaxReconnectDelayMs"] = "1000",
            ["Mqtt:OutboxPath"] = AgentUnderTest.NewOutboxPath(),
            ["Mqtt:IntakeJournalPath"] = Path.Combine(Path.GetTempPath(), $"cabin-audio-intake-{Guid.NewGuid():N}.jsonl"),
            ["Agent:Tiers"] = "deterministic",
            ["Speech:Input:Kind"] = mqttAudio ? "mqtt" : "arecord",
        });

    private static ServiceProvider Compose(IConfiguration configuration) => CliSupport.BuildAgent(configuration, verbose: false,
        s => s.Configure<SpeechOptions>(configuration.GetSection(SpeechOptions.SectionName)));

    private static byte[] Json(string id, string text) => Encoding.UTF8.GetBytes(new JsonObject { ["id"] = id, ["text"] = text }.ToJsonString());

    [Theory]
    [InlineData(0)] // no audio: the same traffic without a flood, for comparison
    [InlineData(64 * 1024)]
    [InlineData(4 * 1024 * 1024)]
    public async Task A_door_alert_and_an_emergency_get_through_a_flood_of_audio(int chunkBytes)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var configuration = Configuration(broker.Url, mqttAudio: true);
        await using var services = Compose(configuration);
        var main = services.GetRequiredService<MqttConnection>();
        var audio = services.GetRequiredKeyedService<MqttConnection>(AgentComposition.AudioConnection);
        Assert.Equal((MqttConnectionRole.Agent, MqttConnectionRole.Audio), (main.Role, audio.Role));
        Assert.Equal(main.ClientId + "-audio", audio.ClientId);

        var runtime = services.GetRequiredService<AgentRuntime>();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await runtime.StartAsync(AgentLanes.Daemon, cts.Token);
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SpeechOptions>>().Value.Input;
        await using var source = (MqttAudioSource)AudioSources.Create(options, new ListLogger(), services.GetRequiredService<IAudioFeed>());
        long samples = 0;
        var consumer = Task.Run(async () =>
        {
            await foreach (var chunk in source.ReadAsync(cts.Token))
                Interlocked.Add(ref samples, chunk.Length);
        });
        await source.Subscribed.WaitAsync(cts.Token);
        // Two sessions on the broker: the agent's, and the audio one with its own client id.
        Assert.Contains($" as {main.ClientId} (", broker.Log);
        Assert.Contains($" as {audio.ClientId} (", broker.Log);

        await using var alerts = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/safety/alert");
        await using var responses = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/agent/response");
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/cmd/#");
        ecu.Acknowledge = _ => ("ok", null);
        await using var gateway = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/none");
        // A bystander on the telemetry: when the broker delivered the door signal to anyone (for the report only).
        await using var bystander = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/telemetry/door_open");

        // The flood: as fast as the broker takes it, until the safety traffic is through.
        using var flooder = new MqttClientFactory().CreateMqttClient();
        await flooder.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithClientId($"flood-{Guid.NewGuid():N}").Build(), cts.Token);
        var chunk = new byte[chunkBytes];
        new Random(12).NextBytes(chunk);
        using var stopFlood = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        long published = 0;
        var flood = Task.Run(async () =>
        {
            while (chunkBytes > 0 && !stopFlood.IsCancellationRequested)
            {
                await flooder.PublishBinaryAsync(AudioIn, chunk, MqttQualityOfServiceLevel.AtMostOnce, cancellationToken: stopFlood.Token);
                Interlocked.Increment(ref published);
            }
        });
        // In full swing before the safety traffic: 64 MB published (at least 8 chunks), and 8 chunks through the source.
        var floodChunks = chunkBytes == 0 ? 0 : Math.Max(8, (64 << 20) / chunkBytes);
        var waited = Stopwatch.StartNew();
        while ((Interlocked.Read(ref published) < floodChunks || Interlocked.Read(ref samples) < 8L * chunkBytes / 2) && waited.Elapsed < Patience)
            await Task.Delay(20, cts.Token);
        var floodedBefore = Interlocked.Read(ref published);

        await gateway.PublishAsync("vehicle/demo/telemetry/speed_kmh", """{"value": 40}"""u8.ToArray());
        var doorAt = Stopwatch.GetTimestamp();
        await gateway.PublishAsync("vehicle/demo/telemetry/door_open", """{"value": true}"""u8.ToArray());
        var bystanderSaw = bystander.WaitForAsync(r => r.Count > 0, Patience).ContinueWith(_ => Stopwatch.GetElapsedTime(doorAt), TaskScheduler.Default);
        await alerts.WaitForAsync(r => r.Count > 0, Patience);
        var alertLatency = Stopwatch.GetElapsedTime(doorAt);
        var doorDelivered = await bystanderSaw;
        var sosAt = Stopwatch.GetTimestamp();
        await gateway.PublishAsync("vehicle/demo/agent/transcript", Json("sos", "救命，出车祸了"));
        await responses.WaitForAsync(r => r.Any(m => m.Json["utterance_id"]?.GetValue<string>() == "sos"), Patience);
        var sosLatency = Stopwatch.GetElapsedTime(sosAt);
        var floodedDuring = Interlocked.Read(ref published);
        await stopFlood.CancelAsync();
        try { await flood; } catch (OperationCanceledException) { }

        output.WriteLine($"chunks of {chunkBytes} B: {floodedBefore} published before the door opened, {floodedDuring} by the emergency answer; door alert after {alertLatency.TotalMilliseconds:F0} ms (door signal at a bystander after {doorDelivered.TotalMilliseconds:F0} ms), " +
            $"emergency answer after {sosLatency.TotalMilliseconds:F0} ms; {source.DroppedChunks} chunks dropped by the source");
        Assert.Equal("door_open_moving", Assert.Single(alerts.On("vehicle/demo/safety/alert")).Json["kind"]!.GetValue<string>());
        var emergency = Assert.Single(ecu.On("vehicle/demo/cmd/emergency"));
        Assert.Equal(("EMERGENCY_CALL", "sos"), (emergency.Json["action"]!.GetValue<string>(), emergency.UserProperties["utterance_id"]));
        Assert.Equal(chunkBytes > 0, Interlocked.Read(ref samples) > 0);

        await cts.CancelAsync();
        try { await consumer; } catch (OperationCanceledException) { }
        await runtime.StopAsync(drainOutbox: false, CancellationToken.None);
    }

    [Fact]
    public async Task Without_mqtt_audio_there_is_no_audio_connection()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var services = Compose(Configuration(broker.Url, mqttAudio: false));
        Assert.Null(services.GetService<IAudioFeed>());
        Assert.Null(services.GetKeyedService<MqttConnection>(AgentComposition.AudioConnection));
        var runtime = services.GetRequiredService<AgentRuntime>();
        await runtime.StartAsync(AgentLanes.Daemon, CancellationToken.None);
        var main = services.GetRequiredService<MqttConnection>();
        Assert.True(main.IsConnected);
        Assert.Contains($" as {main.ClientId} (", broker.Log);
        Assert.DoesNotContain("-audio", broker.Log);
        await runtime.StopAsync(drainOutbox: false, CancellationToken.None);
    }

    /// <summary>
    /// F3: an older version subscribed audio/in on the agent's persistent session; with speech off the broker kept
    /// delivering audio there. The agent's connection removes that subscription when it connects.
    /// </summary>
    [Fact]
    public async Task The_agent_removes_an_audio_subscription_an_older_version_left_in_its_session()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        const string marker = "vehicle/demo/test/marker";
        var clientId = "";
        await using (var services = Compose(Configuration(broker.Url, mqttAudio: false)))
            clientId = services.GetRequiredService<MqttConnection>().ClientId;

        // The session as an older version left it: audio/in subscribed (and a marker, to know when delivery is done).
        var session = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(clientId).WithCleanStart(false).WithSessionExpiryInterval(3600).Build();
        using (var old = new MqttClientFactory().CreateMqttClient())
        {
            await old.ConnectAsync(session);
            await old.SubscribeAsync(AudioIn, MqttQualityOfServiceLevel.AtMostOnce);
            await old.SubscribeAsync(marker, MqttQualityOfServiceLevel.AtLeastOnce);
            await old.DisconnectAsync();
        }
        Assert.Equal(1, await AudioDeliveredToSessionAsync(broker, session, marker)); // the setup: audio reaches the session

        await using (var services = Compose(Configuration(broker.Url, mqttAudio: false)))
        {
            await services.GetRequiredService<MqttConnection>().ConnectAsync(CancellationToken.None);
        }
        Assert.Equal(0, await AudioDeliveredToSessionAsync(broker, session, marker));
    }

    /// <summary>Resumes the session, publishes one audio chunk and then the marker, and counts the audio that came before it.</summary>
    private static async Task<int> AudioDeliveredToSessionAsync(MosquittoBroker broker, MqttClientOptions session, string marker)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var audio = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.ApplicationMessageReceivedAsync += e =>
        {
            if (e.ApplicationMessage.Topic == AudioIn) Interlocked.Increment(ref audio);
            if (e.ApplicationMessage.Topic == marker) done.TrySetResult();
            return Task.CompletedTask;
        };
        var connected = await client.ConnectAsync(session);
        Assert.True(connected.IsSessionPresent);
        using var publisher = new MqttClientFactory().CreateMqttClient();
        await publisher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithClientId($"front-end-{Guid.NewGuid():N}").Build());
        await publisher.PublishBinaryAsync(AudioIn, new byte[640], MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.PublishBinaryAsync(marker, [1], MqttQualityOfServiceLevel.AtLeastOnce);
        await done.Task.WaitAsync(Patience);
        await client.DisconnectAsync();
        return Volatile.Read(ref audio);
    }
}
