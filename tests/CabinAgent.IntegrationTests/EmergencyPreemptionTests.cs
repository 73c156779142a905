using CabinAgent.Actions;
using CabinAgent.Host.Commands;
using CabinAgent.Host.Composition;
using CabinAgent.Llm.Models;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Understanding;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.IntegrationTests;

/// <summary>An emergency said while the real LLM tier decodes: the decode is cancelled and the call goes out at once.</summary>
public class EmergencyPreemptionTests
{
    /// <summary>Lets the test know the model has started on the utterance.</summary>
    private sealed class Observed(IUnderstandingTier inner, TaskCompletionSource entered) : IUnderstandingTier
    {
        public string Name => inner.Name;

        public ValueTask<TierResult> UnderstandAsync(Utterance utterance, CancellationToken cancellationToken)
        {
            entered.TrySetResult();
            return inner.UnderstandAsync(utterance, cancellationToken);
        }
    }

    [Fact]
    public async Task AnEmergencyWhileTheModelDecodesCancelsTheDecodeAndGoesOutWithinBudget()
    {
        var model = TestModelBuilder.EnsureDefault();
        await using var broker = await MosquittoBroker.StartAsync();
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/cmd/#");
        var configuration = AgentComposition.BuildConfiguration(null, new Dictionary<string, string?>
        {
            ["Mqtt:Broker"] = broker.Url, ["Mqtt:OutboxPath"] = AgentUnderTest.NewOutboxPath(),
            ["Agent:Tiers"] = "llm", ["Llm:ModelPath"] = model, ["Llm:Required"] = "true",
            ["Llm:ConfidenceFloor"] = "0", ["Llm:Threads"] = "1", ["Llm:DecodeDeadlineMs"] = "60000",
        });
        await using var services = CliSupport.BuildAgent(configuration, verbose: false);
        await services.GetRequiredService<CabinAgent.Messaging.MqttConnection>().ConnectAsync(CancellationToken.None);
        var llm = Assert.Single(services.GetRequiredService<UnderstandingTiers>().Tiers, t => t.Name == "llm");
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pipeline = new UtterancePipeline(
            services.GetRequiredService<ActionCatalog>(), services.GetRequiredService<CommandSchema>(),
            [new Observed(llm, entered)], services.GetRequiredService<ISafetyLayer>(), services.GetRequiredService<IAgentOutput>(),
            new PipelineOptions { Tiers = TierMode.Llm }, NullLogger<UtterancePipeline>.Instance);

        // A long request keeps the model busy with its prompt for a good while on any machine.
        var longRequest = string.Concat(Enumerable.Repeat("请帮我找一首适合在高速上开车时听的歌，", 45));
        var busy = pipeline.ProcessAsync(new UtteranceInput("long", longRequest));
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(20);
        var emergency = await pipeline.ProcessAsync(new UtteranceInput("sos", "救命！出车祸了，快叫救护车"));
        var preempted = await busy.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal((Outcomes.Published, "safety", "EMERGENCY_CALL"), (emergency.Outcome, emergency.Tier, emergency.Command!.Action));
        Assert.True(emergency.LatencyMs["total"] < 1000, $"emergency took {emergency.LatencyMs["total"]} ms");
        Assert.Equal((Outcomes.Error, "llm tier failed: preempted by an emergency"), (preempted.Outcome, preempted.Error));
        await ecu.WaitForAsync(r => r.Count >= 1);
        var call = Assert.Single(ecu.Received);
        Assert.Equal(("vehicle/demo/cmd/emergency", "sos"), (call.Topic, call.UserProperties["utterance_id"]));
    }
}
