using System.Collections.Concurrent;

namespace CabinAgent.Safety;

/// <summary>
/// Monotonic counters for metrics (the Host exports them, e.g. as Prometheus counters). Thread-safe and
/// allocation-free after a name's first use.
/// </summary>
public sealed class SafetyCounters
{
    private sealed class Cell { public long Value; }

    private readonly ConcurrentDictionary<string, Cell> _cells = new(StringComparer.Ordinal);

    public void Increment(string name) => Interlocked.Increment(ref _cells.GetOrAdd(name, static _ => new Cell()).Value);

    public long Get(string name) => _cells.TryGetValue(name, out var cell) ? Interlocked.Read(ref cell.Value) : 0;

    /// <summary>All counters by name, sorted, for export and the bench output.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Snapshot() =>
        _cells.Select(kv => new KeyValuePair<string, long>(kv.Key, Interlocked.Read(ref kv.Value.Value)))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
}

/// <summary>Counter names (with the signal, kind or rule appended after a dot where noted).</summary>
public static class CounterNames
{
    /// <summary>+ <c>.signal</c></summary>
    public const string TelemetryAccepted = "telemetry_accepted";
    /// <summary>+ <c>.reason</c> (<see cref="TelemetryRejection"/> in snake case)</summary>
    public const string TelemetryRejected = "telemetry_rejected";
    /// <summary>+ <c>.signal</c>: the source's clock stepped back beyond the skew window and the signal was re-based.</summary>
    public const string TelemetryResync = "telemetry_resync";
    /// <summary>+ <c>.kind</c></summary>
    public const string AlertsRaised = "alerts_raised";
    /// <summary>+ <c>.kind</c>: a due alert the outbound queue could not take (sink stuck); it is retried.</summary>
    public const string AlertsQueueFull = "alerts_queue_full";
    /// <summary>+ <c>.kind</c>: a re-activation inside the re-alert interval, not spoken again.</summary>
    public const string AlertsSuppressed = "alerts_suppressed";
    /// <summary>+ <c>.rule</c>: a rule could not be evaluated because a signal was missing or stale.</summary>
    public const string RuleStateUnknown = "rule_state_unknown";
    public const string AlertsPublished = "alerts_published";
    public const string AlertsPublishFailed = "alerts_publish_failed";
    /// <summary>+ <c>.path</c></summary>
    public const string BudgetMiss = "latency_budget_miss";
    /// <summary>+ <c>.path</c></summary>
    public const string BudgetChecked = "latency_budget_checked";
    /// <summary>+ <c>.service</c></summary>
    public const string Emergencies = "emergencies_detected";
    public const string EmergencySuppressedByNegation = "emergency_suppressed_negation";
    /// <summary>+ <c>.rule</c></summary>
    public const string GateRefused = "gate_refused";
    /// <summary>+ <c>.rule</c></summary>
    public const string GateClamped = "gate_clamped";
    public const string GateAllowed = "gate_allowed";
    public const string ConfirmationAsked = "confirmation_asked";
    public const string ConfirmationAccepted = "confirmation_accepted";
    public const string ConfirmationDeclined = "confirmation_declined";
    public const string ConfirmationTimedOut = "confirmation_timed_out";
    public const string ConfirmationAbandoned = "confirmation_abandoned";
    public const string ConfirmationRefusedOnRecheck = "confirmation_refused_on_recheck";
    /// <summary>+ <c>.countdown</c>, <c>.called</c>, <c>.cancelled</c>: the crash signal (eCall).</summary>
    public const string CrashCall = "crash_call";
    /// <summary>+ <c>.asked</c>, <c>.yes</c>, <c>.no</c>, <c>.abandoned</c>, <c>.timeout_called</c>, <c>.timeout_not_called</c>.</summary>
    public const string EmergencyQuestion = "emergency_question";
    /// <summary>A bug surfaced as an exception inside the layer (logged with its stack); should stay at zero.</summary>
    public const string InternalErrors = "safety_internal_errors";
}
