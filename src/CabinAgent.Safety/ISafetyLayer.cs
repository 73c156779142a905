using CabinAgent.Actions;

namespace CabinAgent.Safety;

/// <summary>
/// What the utterance pipeline asks of the safety layer. Deterministic: no model, no I/O on this path;
/// the same inputs at the same <paramref name="now"/> give the same answers.
/// </summary>
public interface ISafetyLayer
{
    /// <summary>
    /// Runs before any understanding tier: emergency phrases, and answers to a pending confirmation.
    /// </summary>
    PreCheckResult PreCheck(string utteranceId, string text, string? lang, DateTimeOffset now);

    /// <summary>The gate every command passes, whichever tier produced it.</summary>
    GateDecision Gate(VehicleCommand command, string utteranceId, string lang, DateTimeOffset now);

    /// <summary>
    /// The pipeline reports how long an <see cref="EmergencyDetected"/> utterance took, from the end of the transcript
    /// to the publish call of the <c>EMERGENCY_CALL</c> returning; checked against the <c>emergency</c> budget,
    /// a miss is logged and counted. Default: nothing (test doubles need not care).
    /// </summary>
    void RecordEmergencyLatency(string utteranceId, TimeSpan elapsed) { }
}

public abstract record PreCheckResult
{
    /// <summary>Nothing for the safety layer: understanding tiers go on.</summary>
    public static readonly PreCheckResult Continue = new ContinueResult();

    private sealed record ContinueResult : PreCheckResult;
}

/// <summary>An emergency phrase was heard: this command goes out at once, with tier <c>safety</c>.</summary>
public sealed record EmergencyDetected(VehicleCommand Command, string MatchedPhrase) : PreCheckResult;

/// <summary>
/// The driver named an emergency without enough to act on ("I think we hit something"): ask <paramref name="Spoken"/>
/// ("Do you want me to call emergency services?") at once, with the emergency budget. The layer now waits: yes calls
/// <paramref name="Service"/>, no cancels, silence calls only when the vehicle shows a crash or a stop from speed.
/// </summary>
/// <param name="Situation">The class and cue words that made it ask, for the record.</param>
public sealed record EmergencyQuestion(string Spoken, string Service, string Situation) : PreCheckResult;

/// <summary>The utterance answered a pending confirmation.</summary>
/// <param name="Command">The confirmed command to execute, or null when the driver said no.</param>
/// <param name="Spoken">What the agent says back (e.g. "已取消").</param>
public sealed record ConfirmationAnswered(VehicleCommand? Command, string Spoken) : PreCheckResult;

public abstract record GateDecision;

/// <summary>Go ahead; <paramref name="Command"/> may carry clamped parameters, one <see cref="GateClamp"/> each.</summary>
public sealed record GateAllow(VehicleCommand Command, IReadOnlyList<GateClamp> Clamps) : GateDecision
{
    /// <summary>The clamps as the readable notes of traces and replay lines.</summary>
    public IReadOnlyList<string> Notes => [.. Clamps.Select(c => c.Note)];
}

/// <summary>
/// One parameter a clamp rule limited. The rule id is a field of its own so that nothing downstream (evaluation,
/// metrics) has to parse it back out of the note.
/// </summary>
/// <param name="Rule">The clamp rule's id, e.g. <c>window_limit_at_speed</c>.</param>
/// <param name="Note">What it did, e.g. <c>window_limit_at_speed: percent 100 -> 30 at 110 km/h</c>.</param>
public sealed record GateClamp(string Rule, string Note);

/// <summary>Refused by a rule; nothing is published on an action topic, <paramref name="Spoken"/> explains why.</summary>
public sealed record GateRefuse(string Rule, string Reason, string Spoken) : GateDecision;

/// <summary>The driver must confirm first; the layer now waits for a yes or no.</summary>
public sealed record GateAskConfirmation(VehicleCommand Command, string Spoken) : GateDecision;
