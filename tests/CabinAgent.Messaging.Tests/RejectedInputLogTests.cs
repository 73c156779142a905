using CabinAgent.Messaging;
using CabinAgent.Safety;
using CabinAgent.Tests.Shared;

namespace CabinAgent.Messaging.Tests;

public class RejectedInputLogTests
{
    private readonly SafetyReplayClock _clock = new(1_700_000_000_000);
    private readonly ListLogger _logger = new();

    [Fact]
    public void AFloodGivesTheFirstLinesThenOneSummaryAndTheExactCount()
    {
        using var log = new RejectedInputLog("ack", _logger, _clock, linesPerWindow: 5, window: TimeSpan.FromSeconds(10));

        for (var i = 0; i < 5_000; i++) log.Reject($"garbage {i}");
        var duringTheWindow = _logger.Lines;
        _clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(5_000, log.Total);
        Assert.Equal(["Warning Rejected ack: garbage 0", "Warning Rejected ack: garbage 1", "Warning Rejected ack: garbage 2",
            "Warning Rejected ack: garbage 3", "Warning Rejected ack: garbage 4"], duringTheWindow);
        Assert.Equal([.. duringTheWindow, "Warning Rejected ack: 4995 more suppressed in the last 10 s (5000 since start)"], _logger.Lines);
    }

    [Fact]
    public void ANewWindowLogsAgainAndAQuietWindowSaysNothing()
    {
        using var log = new RejectedInputLog("ack", _logger, _clock, linesPerWindow: 2, window: TimeSpan.FromSeconds(10));

        log.Reject("a");
        log.Reject("b");
        _clock.Advance(TimeSpan.FromSeconds(10)); // nothing was suppressed: no summary
        log.Reject("c");
        log.Reject("d");
        log.Reject("e");
        _clock.Advance(TimeSpan.FromSeconds(3));
        log.Reject("f");
        _clock.Advance(TimeSpan.FromSeconds(7)); // the window that began with "c" closes
        log.Reject("g");

        Assert.Equal(7, log.Total);
        Assert.Equal([
            "Warning Rejected ack: a", "Warning Rejected ack: b", "Warning Rejected ack: c", "Warning Rejected ack: d",
            "Warning Rejected ack: 2 more suppressed in the last 10 s (6 since start)", "Warning Rejected ack: g",
        ], _logger.Lines);
    }

    [Fact]
    public void ARejectionAfterTheWindowSummarizesItEvenBeforeItsTimerRan()
    {
        // A clock whose timers never fire stands for a timer that is late: the next rejection still closes the window.
        var log = new RejectedInputLog("ack", _logger, new NoTimerClock(_clock), linesPerWindow: 1, window: TimeSpan.FromSeconds(10));

        log.Reject("a");
        log.Reject("b");
        _clock.Advance(TimeSpan.FromSeconds(11));
        log.Reject("c");
        log.Reject("d");
        log.Dispose();

        Assert.Equal([
            "Warning Rejected ack: a", "Warning Rejected ack: 1 more suppressed in the last 10 s (3 since start)",
            "Warning Rejected ack: c", "Warning Rejected ack: 1 more suppressed in the last 10 s (4 since start)",
        ], _logger.Lines);
    }

    private sealed class NoTimerClock(TimeProvider inner) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new Idle();

        private sealed class Idle : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;
            public void Dispose() { }
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
