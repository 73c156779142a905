using CabinAgent.Actions;
using CabinAgent.Host.Commands;
using CabinAgent.Host.Composition;
using CabinAgent.Training;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Understanding;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// An emergency said while the real LLM tier decodes: the decode is cancelled and the call goes out without waiting for
/// it. How fast is a benchmark figure (`bench safety`, load llm_decode), not a wall-clock assertion here.
/// </summary>
public class EmergencyPreemptionTests
{
    /// <summary>Lets the test know the model has started on the utterance.</summary>
    private sealed class Observed(IUnderstandingTier inner) : IUnderstandingTier
    {
        public TaskCompletionSource Entered { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Tier Name => inner.Name;

        public ValueTask<TierResult> UnderstandAsync(Utterance utterance, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            return inner.UnderstandAsync(utterance, cancellationToken);
        }
    }

    /// <summary>
    /// 990 CJK Extension A characters, fixed by a seed: within the 1,000-character transcript limit, but ~2,400 prompt
    /// tokens, so the test model decodes for about half a second on one thread (measured unloaded).
    /// </summary>
    private static string LongRequest()
    {
        var random = new Random(1);
        return new string(Enumerable.Range(0, 990).Select(_ => (char)random.Next(0x3400, 0x4DB6)).ToArray());
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
        var llm = Assert.Single(services.GetRequiredService<UnderstandingTiers>().Tiers, t => t.Name == Tier.Llm);
        var observed = new Observed(llm);
        var pipeline = new UtterancePipeline(
            services.GetRequiredService<ActionCatalog>(), services.GetRequiredService<CommandSchema>(),
            [observed], services.GetRequiredService<ISafetyLayer>(), services.GetRequiredService<IAgentOutput>(),
            new PipelineOptions { Tiers = TierMode.Llm }, NullLogger<UtterancePipeline>.Instance);

        // On a loaded box the decode can end before the emergency is even scheduled; such an attempt tests nothing,
        // so it is repeated. A preemption that never works fails every attempt.
        var attempts = new List<string>();
        for (var attempt = 1; attempt <= 4; attempt++)
        {
            observed.Entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var busy = pipeline.ProcessAsync(new UtteranceInput($"long-{attempt}", LongRequest()));
            await observed.Entered.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await Task.Delay(20);
            var decodingWhenCalled = !busy.IsCompleted;
            var emergency = await pipeline.ProcessAsync(new UtteranceInput($"sos-{attempt}", "救命！出车祸了，快叫救护车"));
            var preempted = await busy.WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal((Outcome.Published, Tier.Safety, "EMERGENCY_CALL"), (emergency.Outcome, emergency.Tier!.Value, emergency.Command!.Action));
            await ecu.WaitForAsync(r => r.Any(m => m.UserProperties["utterance_id"] == $"sos-{attempt}"));
            Assert.Equal("vehicle/demo/cmd/emergency", ecu.Received.Single(m => m.UserProperties["utterance_id"] == $"sos-{attempt}").Topic);
            if (preempted.Outcome == Outcome.Error)
            {
                Assert.Equal("llm tier failed: preempted by an emergency", preempted.Error);
                Assert.DoesNotContain(ecu.Received, m => m.UserProperties["utterance_id"] == $"long-{attempt}");
                return;
            }
            attempts.Add($"attempt {attempt}: decoding when the emergency came: {decodingWhenCalled}; long utterance ended {preempted.Outcome} ({preempted.Error})");
        }
        Assert.Fail("the decode was never preempted:\n" + string.Join("\n", attempts));
    }
}
