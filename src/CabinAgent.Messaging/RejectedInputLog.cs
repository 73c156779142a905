using Microsoft.Extensions.Logging;

namespace CabinAgent.Messaging;

/// <summary>
/// Warnings for one kind of rejected bus input (acks today; telemetry and transcripts can share it), rate-limited:
/// anyone who floods the bus with garbage must not flood the journal too, yet every rejection is counted exactly.
/// At most <c>linesPerWindow</c> warnings per window; the rest are only counted, and one summary line says how
/// many were suppressed when the window closes. Runs on an injected clock so the limit is testable step by step.
/// </summary>
public sealed class RejectedInputLog : IDisposable
{
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly int _linesPerWindow;
    private readonly TimeSpan _window;
    private readonly Lock _sync = new();
    private long _total;
    private DateTimeOffset? _windowStart;
    private int _loggedInWindow;
    private long _suppressedInWindow;
    private ITimer? _summary;

    /// <param name="input">What is rejected (<c>ack</c>); the log lines and the metric label name it.</param>
    public RejectedInputLog(string input, ILogger logger, TimeProvider time, int linesPerWindow = 5, TimeSpan? window = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(linesPerWindow, 1);
        Input = input;
        _logger = logger;
        _time = time;
        _linesPerWindow = linesPerWindow;
        _window = window ?? TimeSpan.FromSeconds(10);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_window, TimeSpan.Zero);
    }

    public string Input { get; }

    /// <summary>Every rejection since start, logged or not.</summary>
    public long Total { get { lock (_sync) return _total; } }

    public void Reject(string reason)
    {
        // Logged under the lock so a window's lines and its summary stay in order.
        lock (_sync)
        {
            _total++;
            var now = _time.GetUtcNow();
            if (_windowStart is not { } start || now - start >= _window)
            {
                SummarizeLocked();
                _windowStart = start = now;
                _loggedInWindow = 0;
            }
            if (_loggedInWindow < _linesPerWindow)
            {
                _loggedInWindow++;
                _logger.LogWarning("Rejected {Input}: {Reason}", Input, reason);
                return;
            }
            if (_suppressedInWindow++ == 0)
                _summary = _time.CreateTimer(w => Summarize((DateTimeOffset)w!), start, start + _window - now, Timeout.InfiniteTimeSpan);
        }
    }

    private void Summarize(DateTimeOffset window)
    {
        // A timer from a window that already closed (a rejection arrived first and summarized it) has nothing to say.
        lock (_sync)
            if (_windowStart == window) SummarizeLocked();
    }

    private void SummarizeLocked()
    {
        _summary?.Dispose();
        _summary = null;
        if (_suppressedInWindow == 0) return;
        _logger.LogWarning("Rejected {Input}: {Suppressed} more suppressed in the last {WindowSeconds} s ({Total} since start)",
            Input, _suppressedInWindow, _window.TotalSeconds, _total);
        _suppressedInWindow = 0;
    }

    /// <summary>Says what was suppressed in the open window, so a shutdown loses no count from the log either.</summary>
    public void Dispose()
    {
        lock (_sync) SummarizeLocked();
    }
}
