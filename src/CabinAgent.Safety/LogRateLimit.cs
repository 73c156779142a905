namespace CabinAgent.Safety;

/// <summary>
/// At most <c>maxLines</c> log lines per key per <c>interval</c>, on the caller's clock. Why: a flood of bad telemetry
/// (a broken ECU sends thousands a second) must not flood the log or cost the safety path its time; the counters keep
/// the exact totals, so a dropped line loses nothing. The first line of a new interval says how many were left out.
/// Not thread-safe: the caller serialises access.
/// </summary>
internal sealed class LogRateLimit(int maxLines, TimeSpan interval)
{
    private sealed class Window
    {
        public DateTimeOffset Start;
        public int Lines;
        public long Skipped;
    }

    private readonly Dictionary<string, Window> _windows = new(StringComparer.Ordinal);

    /// <summary>True when a line for <paramref name="key"/> may be written at <paramref name="at"/>;
    /// <paramref name="skipped"/> is how many were left out since the last line written for that key.</summary>
    public bool TryTake(string key, DateTimeOffset at, out long skipped)
    {
        skipped = 0;
        if (!_windows.TryGetValue(key, out var w))
        {
            _windows[key] = new Window { Start = at, Lines = 1 };
            return true;
        }
        // A clock stepped back starts a new interval too: better one line too many than a silent log.
        if (at - w.Start >= interval || at < w.Start)
        {
            w.Start = at;
            w.Lines = 0;
        }
        if (w.Lines >= maxLines)
        {
            w.Skipped++;
            return false;
        }
        w.Lines++;
        skipped = w.Skipped;
        w.Skipped = 0;
        return true;
    }
}
