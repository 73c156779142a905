using CabinAgent.Host.Commands;
using CabinAgent.Host.Composition;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace CabinAgent.IntegrationTests;

/// <summary>The agent exactly as the daemon composes it, pointed at a test broker.</summary>
public sealed class AgentUnderTest : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private AgentUnderTest(ServiceProvider services) => _services = services;

    public UtterancePipeline Pipeline => _services.GetRequiredService<UtterancePipeline>();
    public MqttConnection Connection => _services.GetRequiredService<MqttConnection>();
    public TopicMap Topics => _services.GetRequiredService<TopicMap>();

    public MqttAgentOutput Output => _services.GetRequiredService<MqttAgentOutput>();

    public CabinAgent.Safety.SafetyModule Safety => _services.GetRequiredService<CabinAgent.Safety.SafetyModule>();

    /// <summary>The daemon's runtime over the same objects, for tests that run its lanes.</summary>
    public AgentRuntime Runtime => _services.GetRequiredService<AgentRuntime>();

    /// <summary>Each agent gets its own outbox file unless a test shares one on purpose (a restart).</summary>
    public static string NewOutboxPath() => Path.Combine(Path.GetTempPath(), $"cabin-test-outbox-{Guid.NewGuid():N}.jsonl");

    public static async Task<AgentUnderTest> StartAsync(string brokerUrl, string tiers = "deterministic", bool connect = true,
        string? outboxPath = null, int ackTimeoutMs = 0, int outboxTtlSeconds = 60)
    {
        var configuration = AgentComposition.BuildConfiguration(null, new Dictionary<string, string?>
        {
            ["Mqtt:Broker"] = brokerUrl,
            ["Mqtt:VehicleId"] = "demo",
            ["Mqtt:ReconnectDelayMs"] = "100",
            ["Mqtt:MaxReconnectDelayMs"] = "200",
            ["Mqtt:OutboxPath"] = outboxPath ?? NewOutboxPath(),
            ["Mqtt:OutboxTtlSeconds"] = outboxTtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Mqtt:AckTimeoutMs"] = ackTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Agent:Tiers"] = tiers,
        });
        var services = CliSupport.BuildAgent(configuration, verbose: false);
        var agent = new AgentUnderTest(services);
        await agent.Output.StartAsync(CancellationToken.None);
        if (connect) await agent.Connection.ConnectAsync(CancellationToken.None);
        else agent.Connection.StartInBackground();
        return agent;
    }

    public Task<UtteranceRecord> SayAsync(string text, string? lang = null, string? id = null) =>
        Pipeline.ProcessAsync(new UtteranceInput(id ?? UtteranceInput.NewId(), text, lang));

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
