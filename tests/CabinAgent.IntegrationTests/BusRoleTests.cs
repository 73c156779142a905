using System.Text;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Messaging;
using MQTTnet;
using MQTTnet.Protocol;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// The bus with roles (docs/security.md) on a real mosquitto running the shipped production configuration and ACL,
/// every client with its role's certificate: nobody outside a role can spoof telemetry, acks, transcripts or
/// confirmations, and the agent daemon runs under TLS with its client certificate.
/// </summary>
public sealed class BusRoleTests(ProductionBus bus, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<ProductionBus>
{
    private const string Vehicle = "vehicle/demo/";

    private static readonly string[] Domains = new TopicMap(
            ActionCatalog.Load(Path.Combine(AppContext.BaseDirectory, "config", "actions.json")), "demo")
        .ActionTopics.Select(t => t[(Vehicle + "cmd/").Length..]).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Who may write each topic, as docs/security.md states it; every other role must be refused.</summary>
    private static IEnumerable<(string Topic, string Writer)> Writers() =>
    [
        ("cmd/media", "cabin-agent"), ("cmd/climate", "cabin-agent"), ("cmd/emergency", "cabin-agent"),
        ("agent/response", "cabin-agent"), ("agent/status", "cabin-agent"), ("safety/alert", "cabin-agent"),
        ("telemetry/speed_kmh", "telemetry"), ("telemetry/gear", "telemetry"),
        ("agent/transcript", "speech-front"), ("audio/in", "speech-front"),
        .. Domains.Select(d => ($"agent/ack/{d}", $"ecu-{d}")),
    ];

    [Fact]
    public void TheShippedAclHasOneRolePerPartOfTheBusAndOneEcuPerCatalogDomain()
    {
        Assert.Equal(["cabin-agent", "telemetry", "speech-front", "hmi", .. Domains.Select(d => $"ecu-{d}").Order(StringComparer.Ordinal)],
            [.. ProductionBus.Roles().Take(4), .. ProductionBus.Roles().Skip(4).Order(StringComparer.Ordinal)]);
    }

    [Fact]
    public async Task EachTopicIsWritableByItsRoleAloneEveryOtherRoleIsRefused()
    {
        await using var broker = await bus.StartBrokerAsync();
        var outcomes = new List<string>();
        var expected = new List<string>();
        foreach (var role in ProductionBus.Roles())
        {
            using var client = new MqttClientFactory().CreateMqttClient();
            await client.ConnectAsync(bus.As(role, broker).Build());
            foreach (var (topic, writer) in Writers())
            {
                var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Vehicle + topic)
                    .WithPayload("""{"value": 0}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                outcomes.Add($"{role} → {topic}: {result.ReasonCode}");
                // Nobody subscribes here, so an accepted publish is answered "no matching subscribers".
                expected.Add($"{role} → {topic}: {(role == writer ? MqttClientPublishReasonCode.NoMatchingSubscribers : MqttClientPublishReasonCode.NotAuthorized)}");
            }
            await client.DisconnectAsync();
        }

        Assert.Equal(expected, outcomes);
        Assert.Equal(ProductionBus.Roles().Count * Writers().Count(), outcomes.Count);
    }

    [Fact]
    public async Task AClientWithoutACertificateFromTheBusCaCannotConnect()
    {
        await using var broker = await bus.StartBrokerAsync();
        using var client = new MqttClientFactory().CreateMqttClient();
        var withoutCertificate = new MqttClientOptionsBuilder().WithTcpServer("localhost", broker.Port)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithTlsOptions(BrokerTls.Build(new MqttOptions { CaFile = Path.Combine(bus.Pki, "ca.crt") }, "localhost"))
            .WithCredentials("cabin-agent", "any password")
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build();

        await Assert.ThrowsAnyAsync<Exception>(() => client.ConnectAsync(withoutCertificate));
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task TheDaemonRunsUnderTlsOnlyTheRightEcuGetsACommandAndOnlyItsAckCounts()
    {
        await using var broker = await bus.StartBrokerAsync();
        await using var media = await bus.ConnectAsync("ecu-media", broker);
        await using var climate = await bus.ConnectAsync("ecu-climate", broker);
        await using var speech = await bus.ConnectAsync("speech-front", broker);
        await using var hmi = await bus.ConnectAsync("hmi", broker);
        media.Acknowledge = _ => ("ok", null);
        await using var agent = await Daemon.StartAsync(bus, broker, hmi);

        await speech.PublishAsync(Vehicle + "agent/transcript", """{"id": "u-climate", "text": "打开空调"}"""u8.ToArray());
        await climate.WaitForAsync(r => r.Any(m => m.Topic == Vehicle + "cmd/climate"), TimeSpan.FromSeconds(30));
        var command = Assert.Single(climate.On(Vehicle + "cmd/climate"));
        Assert.Equal(Vehicle + "agent/ack/climate", command.ResponseTopic);

        // The media ECU speaks for the climate: refused by the broker on the climate's ack topic, ignored by the agent
        // on its own; the climate ECU's answer decides.
        var onClimatesTopic = await media.AnswerAsync(command, "failed", "spoofed");
        var onItsOwnTopic = await media.AnswerAsync(command, "failed", "spoofed", topic: Vehicle + "agent/ack/media");
        var real = await climate.AnswerAsync(command, "ok");
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, onClimatesTopic.ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.Success, onItsOwnTopic.ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.Success, real.ReasonCode);

        await speech.PublishAsync(Vehicle + "agent/transcript", """{"id": "u-media", "text": "下一首"}"""u8.ToArray());
        var metrics = await agent.WaitForMetricAsync("cabin_utterances_total{", 2);
        await hmi.WaitForAsync(r => r.Count(m => m.Topic == Vehicle + "agent/response") >= 2);

        Assert.Equal(["cabin_utterances_total{outcome=\"published\",tier=\"deterministic\"} 2"], Lines(metrics, "cabin_utterances_total{"));
        Assert.Equal(["cabin_rejected_input_total{input=\"ack\"} 1"], Lines(metrics, "cabin_rejected_input_total{"));
        Assert.Contains($"Rejected ack: ack for {command.UserProperties["command_id"]} came on {Vehicle}agent/ack/media, not on its domain's {Vehicle}agent/ack/climate", agent.Output);
        Assert.Equal(["u-climate command", "u-media command"], hmi.On(Vehicle + "agent/response")
            .Select(m => $"{m.Json["utterance_id"]} {m.Json["kind"]}").Order(StringComparer.Ordinal));
        // Each ECU read its own commands only.
        Assert.Equal(["MUSIC_NEXT"], media.Received.Where(m => m.Topic.Contains("/cmd/", StringComparison.Ordinal)).Select(m => m.Json["action"]!.GetValue<string>()));
        Assert.Equal(["HVAC_ON"], climate.Received.Where(m => m.Topic.Contains("/cmd/", StringComparison.Ordinal)).Select(m => m.Json["action"]!.GetValue<string>()));
    }

    [Fact]
    public async Task AFloodOfGarbageAcksIsCountedExactlyAndLoggedInAFewLines()
    {
        await using var broker = await bus.StartBrokerAsync();
        await using var media = await bus.ConnectAsync("ecu-media", broker);
        await using var hmi = await bus.ConnectAsync("hmi", broker);
        await using var agent = await Daemon.StartAsync(bus, broker, hmi);

        var started = DateTime.UtcNow;
        for (var i = 0; i < 5_000; i++)
            await media.PublishAsync(Vehicle + "agent/ack/media", Encoding.UTF8.GetBytes(i % 2 == 0 ? "garbage" : $$"""{"command_id":"c{{i}}","status":"ok"}"""));
        var metrics = await agent.WaitForMetricAsync("cabin_rejected_input_total{", 5_000);
        var windows = (int)Math.Ceiling((DateTime.UtcNow - started).TotalSeconds / 10) + 1;

        Assert.Equal(["cabin_rejected_input_total{input=\"ack\"} 5000"], Lines(metrics, "cabin_rejected_input_total{"));
        // Every rejection is in the log, one way or the other, once the last window's summary is out (10 s at most).
        var accounted = 0L;
        List<string> logged = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(30); accounted < 5_000 && DateTime.UtcNow < deadline; await Task.Delay(200))
        {
            logged = agent.Output.Split('\n').Where(l => l.Contains("Rejected ack: ", StringComparison.Ordinal)).ToList();
            accounted = logged.Sum(l => Suppressed.Match(l) is { Success: true } m ? long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 1);
        }
        output.WriteLine($"5,000 garbage acks over {windows - 1} window(s) of 10 s gave {logged.Count} lines:\n{string.Join('\n', logged)}");
        Assert.Equal(5_000, accounted);
        // At most 5 lines per 10 s window (docs/security.md), and one summary each, over the windows the flood spanned.
        Assert.InRange(logged.Count, 6, 6 * windows);
    }

    [Fact]
    public async Task OnlyTelemetryPublishersMoveTheSafetyLayerAndOnlyTheSpeechFrontCanConfirm()
    {
        await using var broker = await bus.StartBrokerAsync();
        await using var telemetry = await bus.ConnectAsync("telemetry", broker);
        await using var speech = await bus.ConnectAsync("speech-front", broker);
        await using var body = await bus.ConnectAsync("ecu-body", broker);
        await using var hmi = await bus.ConnectAsync("hmi", broker);
        await using var agent = await Daemon.StartAsync(bus, broker, hmi);

        // Driving at 80 km/h; the body ECU claims the car stands still so the trunk may open. The broker refuses it.
        var realGear = await telemetry.PublishAsync(Vehicle + "telemetry/gear", """{"value": "D"}"""u8.ToArray());
        var spoofedSpeed = await body.PublishAsync(Vehicle + "telemetry/speed_kmh", """{"value": 0}"""u8.ToArray());
        var realSpeed = await telemetry.PublishAsync(Vehicle + "telemetry/speed_kmh", """{"value": 80}"""u8.ToArray());
        await speech.PublishAsync(Vehicle + "agent/transcript", """{"id": "u-trunk-moving", "text": "打开后备箱"}"""u8.ToArray());
        await hmi.WaitForAsync(r => Spoken(r, "u-trunk-moving").Count == 1, TimeSpan.FromSeconds(30));

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, spoofedSpeed.ReasonCode);
        Assert.Equal((MqttClientPublishReasonCode.Success, MqttClientPublishReasonCode.Success), (realGear.ReasonCode, realSpeed.ReasonCode));
        Assert.Equal(["refusal 车辆行驶中（80公里每小时），无法打开后备箱。"], Spoken(hmi.Received, "u-trunk-moving"));

        // Parked: the driver asks again and is asked to confirm. The body ECU answers "确认" itself: refused by the
        // broker; the driver says no, and no command reaches the body ECU.
        await telemetry.PublishAsync(Vehicle + "telemetry/speed_kmh", """{"value": 0}"""u8.ToArray());
        await telemetry.PublishAsync(Vehicle + "telemetry/gear", """{"value": "P"}"""u8.ToArray());
        await speech.PublishAsync(Vehicle + "agent/transcript", """{"id": "u-trunk-parked", "text": "打开后备箱"}"""u8.ToArray());
        await hmi.WaitForAsync(r => Spoken(r, "u-trunk-parked").Count == 1, TimeSpan.FromSeconds(30));
        var spoofedYes = await body.PublishAsync(Vehicle + "agent/transcript", """{"id": "u-yes", "text": "确认"}"""u8.ToArray());
        await speech.PublishAsync(Vehicle + "agent/transcript", """{"id": "u-no", "text": "取消"}"""u8.ToArray());
        var metrics = await agent.WaitForMetricAsync("cabin_safety_events{event=\"confirmation_declined\"", 1);

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, spoofedYes.ReasonCode);
        Assert.Equal(["confirmation 确定要打开后备箱吗？请说“确认”或“取消”。"], Spoken(hmi.Received, "u-trunk-parked"));
        Assert.Equal(["cabin_safety_events{event=\"confirmation_declined\",detail=\"\"} 1"], Lines(metrics, "cabin_safety_events{event=\"confirmation_declined\""));
        Assert.Empty(Lines(metrics, "cabin_safety_events{event=\"confirmation_accepted\""));
        Assert.Equal(["cabin_safety_events{event=\"telemetry_accepted\",detail=\"gear\"} 2", "cabin_safety_events{event=\"telemetry_accepted\",detail=\"speed_kmh\"} 2"],
            Lines(metrics, "cabin_safety_events{event=\"telemetry_accepted\""));
        Assert.DoesNotContain(body.Received, m => m.Topic.Contains("/cmd/", StringComparison.Ordinal));
    }

    private static readonly System.Text.RegularExpressions.Regex Suppressed = new(@"Rejected ack: (\d+) more suppressed");

    private static List<string> Spoken(IReadOnlyList<ReceivedMessage> received, string utteranceId) =>
        received.Where(m => m.Topic == Vehicle + "agent/response" && m.Json["utterance_id"]!.GetValue<string>() == utteranceId)
            .Select(m => $"{m.Json["kind"]} {m.Json["text"]}").ToList();

    private static List<string> Lines(string metrics, string prefix) =>
        metrics.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();

    /// <summary><c>cabin-agent run</c> with the shipped production configuration, its certificate from the bus PKI.</summary>
    private sealed class Daemon : IAsyncDisposable
    {
        private readonly AgentProcess _process;
        private readonly HttpClient _http;

        private Daemon(AgentProcess process, int healthPort)
        {
            _process = process;
            _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}") };
        }

        public string Output => _process.StandardOutput + _process.StandardError;

        /// <summary>Starts the daemon and waits until <paramref name="observer"/> (allowed to read it) sees it online.</summary>
        public static async Task<Daemon> StartAsync(ProductionBus bus, MosquittoBroker broker, EcuSimulator observer)
        {
            var healthPort = EmbeddedBroker.FreeLoopbackPort();
            var config = bus.AgentConfig(broker, new JsonObject
            {
                ["Mqtt"] = new JsonObject { ["OutboxPath"] = AgentUnderTest.NewOutboxPath(), ["AckTimeoutMs"] = 30_000 },
                ["Observability"] = new JsonObject { ["Port"] = healthPort },
                ["Agent"] = new JsonObject { ["Tiers"] = "deterministic" },
            });
            var daemon = new Daemon(AgentProcess.Start("run", "--config", config), healthPort);
            try
            {
                await observer.WaitForAsync(r => r.Any(m => m.Topic == Vehicle + "agent/status" && m.Payload.Contains("online", StringComparison.Ordinal)),
                    TimeSpan.FromSeconds(60));
            }
            catch (TimeoutException ex)
            {
                await daemon.DisposeAsync();
                throw new TimeoutException($"{ex.Message}\nagent: {daemon.Output}\nbroker: {broker.Log}");
            }
            return daemon;
        }

        /// <summary>Polls /metrics until the lines starting with <paramref name="prefix"/> add up to at least <paramref name="total"/>.</summary>
        public async Task<string> WaitForMetricAsync(string prefix, double total)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var metrics = await _http.GetStringAsync("/metrics");
                var sum = Lines(metrics, prefix).Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
                if (sum >= total) return metrics;
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"{prefix} reached {sum}, not {total}\n{metrics}\nagent: {Output}");
                await Task.Delay(100);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _process.Kill();
            await _process.WaitForExitAsync();
            _process.Dispose();
            _http.Dispose();
        }
    }
}
