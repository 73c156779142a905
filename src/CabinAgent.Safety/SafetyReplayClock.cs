namespace CabinAgent.Safety;

/// <summary>
/// A clock that only moves when told: replay drives it from the trace's <c>t_ms</c>, tests step it by hand.
/// Timers created on it (e.g. <c>Task.Delay(…, clock)</c>) fire when the time is advanced past their due time.
/// </summary>
public sealed class SafetyReplayClock : TimeProvider
{
    private readonly Lock _sync = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now;
    private long _ticks;

    public SafetyReplayClock(DateTimeOffset start) => _now = start;

    public SafetyReplayClock(long unixMs) : this(DateTimeOffset.FromUnixTimeMilliseconds(unixMs)) { }

    public override DateTimeOffset GetUtcNow() { lock (_sync) return _now; }

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() { lock (_sync) return _ticks; }

    /// <summary>Sets the time (never backwards: a trace line out of time order keeps the clock where it is).</summary>
    public void SetUtcNow(DateTimeOffset value)
    {
        List<ManualTimer> due;
        lock (_sync)
        {
            if (value <= _now) return;
            _ticks += (value - _now).Ticks;
            _now = value;
            due = _timers.Where(t => t.DueAt is { } d && d <= value).ToList();
        }
        foreach (var t in due) t.Fire(value);
    }

    public void Advance(TimeSpan by) => SetUtcNow(GetUtcNow() + by);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (_sync) _timers.Add(timer);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class ManualTimer(SafetyReplayClock clock, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan _period;
        public DateTimeOffset? DueAt { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._sync)
            {
                _period = period;
                DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : clock._now + dueTime;
            }
            if (dueTime == TimeSpan.Zero) Fire(clock.GetUtcNow());
            return true;
        }

        public void Fire(DateTimeOffset now)
        {
            lock (clock._sync)
            {
                if (DueAt is null || DueAt > now) return;
                DueAt = _period > TimeSpan.Zero && _period != Timeout.InfiniteTimeSpan ? now + _period : null;
            }
            callback(state);
        }

        public void Dispose()
        {
            lock (clock._sync)
            {
                DueAt = null;
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
