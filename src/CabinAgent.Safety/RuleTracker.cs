namespace CabinAgent.Safety;

/// <summary>What a rule's condition says about the current state.</summary>
public enum Condition
{
    /// <summary>Above the trigger threshold.</summary>
    Raised,
    /// <summary>Between the clear and trigger thresholds (hysteresis band): an active alert stays active, a pending one resets.</summary>
    Band,
    /// <summary>At or below the clear threshold.</summary>
    Clear,
    /// <summary>A needed signal is missing or stale: the rule cannot judge and says so.</summary>
    Unknown,
}

/// <summary>
/// Hold time, hysteresis and re-alert interval of one rule, as a small state machine:
/// Inactive → (Raised) Pending → (Raised for hold) Active → (Raised for re-alert interval) re-alert …;
/// Clear → Inactive. A re-activation inside the re-alert interval of the last alert is not spoken again unless
/// its severity is higher (anti-flood). Pure: times come in, decisions come out.
/// </summary>
public sealed class RuleTracker(string rule, TimeSpan hold, TimeSpan realert)
{
    private enum Phase { Inactive, Pending, Active }

    /// <summary>How long to wait before retrying an alert the outbound queue could not take.</summary>
    public static readonly TimeSpan RetryAfterQueueFull = TimeSpan.FromMilliseconds(100);

    private Phase _phase = Phase.Inactive;
    private DateTimeOffset _pendingSince;
    private DateTimeOffset? _lastAlertAt;
    private AlertSeverity _lastSeverity;
    private DateTimeOffset _retryNotBefore = DateTimeOffset.MinValue;

    public string Rule { get; } = rule;
    public bool IsActive => _phase == Phase.Active;
    public bool IsPending => _phase == Phase.Pending;

    /// <summary>The last condition seen, and why (for status pages and logs).</summary>
    public Condition LastCondition { get; private set; } = Condition.Unknown;

    /// <summary>
    /// Feeds the condition at <paramref name="now"/>. Returns the time the alert became due when it should fire now
    /// (the caller posts it and then calls <see cref="Fired"/>), else null. <paramref name="suppressed"/> is true when
    /// an activation was swallowed by the re-alert interval.
    /// </summary>
    public DateTimeOffset? Update(Condition condition, AlertSeverity severity, DateTimeOffset now, out bool suppressed)
    {
        suppressed = false;
        LastCondition = condition;
        switch (condition)
        {
            case Condition.Clear:
                _phase = Phase.Inactive;
                return null;
            case Condition.Unknown:
            case Condition.Band:
                // Hold time needs the condition continuously: a gap or an unknown restarts it.
                // An active alert is neither repeated nor cleared without fresh evidence.
                if (_phase == Phase.Pending) _phase = Phase.Inactive;
                return null;
        }

        if (now < _retryNotBefore) return null;
        switch (_phase)
        {
            case Phase.Inactive:
                _phase = Phase.Pending;
                _pendingSince = now;
                goto case Phase.Pending;
            case Phase.Pending:
                var due = _pendingSince + hold;
                if (now < due) return null;
                if (_lastAlertAt is { } last && now - last < realert && severity <= _lastSeverity)
                {
                    // Re-activation shortly after an alert: the driver was just told; stay active, speak at the interval.
                    _phase = Phase.Active;
                    suppressed = true;
                    return null;
                }
                return due;
            default:
                var realertDue = _lastAlertAt!.Value + realert;
                if (severity > _lastSeverity) return now;
                return now >= realertDue ? realertDue : null;
        }
    }

    /// <summary>The alert was handed to the outbound queue.</summary>
    public void Fired(AlertSeverity severity, DateTimeOffset now)
    {
        _phase = Phase.Active;
        _lastAlertAt = now;
        _lastSeverity = severity;
    }

    /// <summary>The outbound queue was full: keep the alert due and try again shortly, without spinning.</summary>
    public void PostFailed(DateTimeOffset now) => _retryNotBefore = now + RetryAfterQueueFull;

    /// <summary>The next time this rule may fire without new telemetry (null: only telemetry can change it).</summary>
    public DateTimeOffset? NextDue()
    {
        if (LastCondition != Condition.Raised) return null;
        var due = _phase switch
        {
            Phase.Pending => _pendingSince + hold,
            Phase.Active when _lastAlertAt is { } last => last + realert,
            _ => (DateTimeOffset?)null,
        };
        if (due is null) return null;
        return due.Value > _retryNotBefore ? due : _retryNotBefore;
    }
}
