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

    public static async Task<AgentUnderTest> StartAsync(string brokerUrl, string tiers = "deterministic", bool connect = true)
    {
        var configuration = AgentComposition.BuildConfiguration(null, new Dictionary<string, string?>
        {
            ["Mqtt:Broker"] = brokerUrl,
            ["Mqtt:VehicleId"] = "demo",
            ["Mqtt:ReconnectDelayMs"] = "100",
            ["Agent:Tiers"] = tiers,
        });
        var services = CliSupport.BuildAgent(configuration, verbose: false);
        var agent = new AgentUnderTest(services);
        if (connect) await agent.Connection.ConnectAsync(CancellationToken.None);
        return agent;
    }

    public Task<UtteranceRecord> SayAsync(string text, string? lang = null, string? id = null) =>
        Pipeline.ProcessAsync(new UtteranceInput(id ?? UtteranceInput.NewId(), text, lang));

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
