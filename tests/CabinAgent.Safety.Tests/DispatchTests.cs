using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.Safety.Tests;

public class DispatchTests
{
    /// <summary>A sink that blocks until released, like a broker stuck in reconnect.</summary>
    private sealed class StuckSink : IAlertSink
    {
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly List<object> Published = [];
        public int Failures;

        public int Count { get { lock (Published) return Published.Count; } }

        public async ValueTask PublishAlertAsync(SafetyAlert alert, CancellationToken ct)
        {
            Entered.TrySetResult();
            await Release.Task.WaitAsync(ct);
            if (Failures-- > 0) throw new IOException("broker unavailable");
            lock (Published) Published.Add(alert);
        }

        public async ValueTask SpeakAsync(SpokenNotice notice, CancellationToken ct)
        {
            await Release.Task.WaitAsync(ct);
            lock (Published) Published.Add(notice);
        }
    }

    /// <summary>Waits for the consumer task (a liveness bound, not a timing assertion).</summary>
    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the dispatcher never delivered");
            await Task.Delay(10);
        }
    }

    private static SafetyAlert Alert(string kind, DateTimeOffset at) =>
        new(kind, kind, AlertSeverity.Warning, "test", new JsonObject(), "zh", "en", "zh", at, null, false);

    [Fact]
    public async Task A_stuck_sink_never_blocks_posting_and_nothing_is_dropped_until_the_queue_is_full()
    {
        var options = Harness.OptionsWith(j => j["dispatch"]!["queue_capacity"] = 8);
        var counters = new SafetyCounters();
        var clock = new SafetyReplayClock(Harness.StartMs);
        var sink = new StuckSink();
        var dispatcher = new ChannelAlertDispatcher(sink, options, new LatencyBudgets(options, counters, NullLogger.Instance),
            counters, clock, NullLogger.Instance);
        using var cts = new CancellationTokenSource();
        var consumer = dispatcher.RunAsync(cts.Token);

        // One item is taken by the consumer (blocked in the sink), eight wait in the queue, the next is refused.
        Assert.True(dispatcher.TryPost(Alert(AlertKinds.Overspeed, clock.GetUtcNow())));
        await sink.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var accepted = 1;
        for (var i = 0; i < 8; i++)
            if (dispatcher.TryPost(Alert(AlertKinds.Overspeed, clock.GetUtcNow()))) accepted++;
        Assert.Equal(9, accepted);
        Assert.False(dispatcher.TryPost(Alert(AlertKinds.DoorOpenMoving, clock.GetUtcNow())));

        clock.Advance(TimeSpan.FromMilliseconds(1500)); // the sink was stuck for 1.5 s: every alert misses its budget
        sink.Release.SetResult();
        await Until(() => dispatcher.Pending == 0 && sink.Count >= accepted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consumer);

        Assert.Equal(accepted, sink.Published.Count);
        Assert.Equal(accepted, counters.Get("alerts_published"));
        Assert.Equal(accepted, counters.Get("latency_budget_miss.overspeed"));
    }

    [Fact]
    public async Task A_failing_publish_is_retried_then_counted()
    {
        var options = Harness.LoadOptions();
        var counters = new SafetyCounters();
        var sink = new StuckSink { Failures = 1 };
        sink.Release.SetResult();
        var dispatcher = new ChannelAlertDispatcher(sink, options, new LatencyBudgets(options, counters, NullLogger.Instance),
            counters, TimeProvider.System, NullLogger.Instance);
        using var cts = new CancellationTokenSource();
        var consumer = dispatcher.RunAsync(cts.Token);
        Assert.True(dispatcher.TryPost(Alert(AlertKinds.Fatigue, DateTimeOffset.UtcNow)));
        await Until(() => sink.Count >= 1);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consumer);
        Assert.Equal(1, counters.Get("alerts_published"));
        Assert.Equal(0, counters.Get("alerts_publish_failed"));
    }

    /// <summary>
    /// A replay's trace time runs ahead with the next lines while an alert waits for the sink; only the lag the alert
    /// already had when posted (rules' clock) plus the real wait after it (latency clock) is latency.
    /// </summary>
    [Theory]
    [InlineData(0, 5000, 10, 0)]     // due when posted, trace jumped 5 s, 10 ms real wait: within budget
    [InlineData(1500, 5000, 10, 1)]  // posted 1.5 s after it was due: a miss, however the trace moved
    [InlineData(0, 0, 1500, 1)]      // the sink took 1.5 s of real time: a miss
    public async Task Alert_latency_is_the_lag_when_posted_plus_the_wait_on_the_latency_clock(
        int lagMs, int traceJumpMs, int waitMs, int misses)
    {
        var options = Harness.LoadOptions();
        var counters = new SafetyCounters();
        var trace = new SafetyReplayClock(Harness.StartMs);
        var wall = new SafetyReplayClock(0);
        var sink = new StuckSink();
        var dispatcher = new ChannelAlertDispatcher(sink, options, new LatencyBudgets(options, counters, NullLogger.Instance),
            counters, trace, NullLogger.Instance, latencyClock: wall);
        using var cts = new CancellationTokenSource();
        var consumer = dispatcher.RunAsync(cts.Token);

        Assert.True(dispatcher.TryPost(Alert(AlertKinds.Overspeed, trace.GetUtcNow() - TimeSpan.FromMilliseconds(lagMs))));
        await sink.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        trace.Advance(TimeSpan.FromMilliseconds(traceJumpMs));
        wall.Advance(TimeSpan.FromMilliseconds(waitMs));
        sink.Release.SetResult();
        await Until(() => sink.Count >= 1);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consumer);

        Assert.Equal((1, misses), (counters.Get("latency_budget_checked.overspeed"), counters.Get("latency_budget_miss.overspeed")));
    }

    [Fact]
    public void Latency_budget_counts_misses_per_path()
    {
        var options = Harness.LoadOptions();
        var counters = new SafetyCounters();
        var budgets = new LatencyBudgets(options, counters, NullLogger.Instance);
        Assert.True(budgets.Record("emergency", TimeSpan.FromMilliseconds(1000)));
        Assert.False(budgets.Record("emergency", TimeSpan.FromMilliseconds(1001)));
        Assert.Equal(2, counters.Get("latency_budget_checked.emergency"));
        Assert.Equal(1, counters.Get("latency_budget_miss.emergency"));
    }

    [Fact]
    public void The_pipeline_reports_emergency_latency_through_the_contract()
    {
        var h = new Harness();
        ISafetyLayer layer = h.Layer;
        layer.RecordEmergencyLatency("u1", TimeSpan.FromMilliseconds(1200));
        Assert.Equal(1, h.Layer.Counters.Get("latency_budget_miss.emergency"));
    }
}

public class IndependenceTests
{
    /// <summary>An outbox whose TryPost blocks: the thread evaluating telemetry stays inside the state lock.</summary>
    private sealed class BlockingOutbox : IAlertOutbox
    {
        public readonly ManualResetEventSlim Entered = new();
        public readonly ManualResetEventSlim Release = new();

        public bool TryPost(SafetyAlert alert)
        {
            Entered.Set();
            Release.Wait();
            return true;
        }

        public bool TryPost(SpokenNotice notice) => true;
    }

    [Fact]
    public async Task An_emergency_does_not_wait_for_telemetry_evaluation()
    {
        var outbox = new BlockingOutbox();
        var layer = new SafetyLayer(Harness.LoadOptions(), Harness.Detector, Harness.Catalog, outbox, new SafetyReplayClock(Harness.StartMs));
        layer.IngestTelemetry("telemetry/speed_kmh", """{"value": 50}"""u8, Harness.At(0));
        var telemetry = Task.Run(() => layer.IngestTelemetry("telemetry/door_open", """{"value": true}"""u8, Harness.At(0)));
        Assert.True(outbox.Entered.Wait(TimeSpan.FromSeconds(30)), "the door alert never reached the outbox");

        // The telemetry thread is now stuck inside the evaluation; the emergency path must still answer.
        var emergency = Task.Run(() => layer.PreCheck("u1", "救命", "zh", Harness.At(1)));
        var first = await Task.WhenAny(emergency, Task.Delay(TimeSpan.FromSeconds(30)));
        outbox.Release.Set();
        await telemetry.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(first == emergency, "PreCheck waited for the telemetry evaluation");
        Assert.IsType<EmergencyDetected>(await emergency);
    }
}
