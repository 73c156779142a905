using System.Diagnostics;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Safety;
using CabinAgent.Understanding;

namespace CabinAgent.Pipeline;

/// <summary>
/// The facts about one utterance as the pipeline learns them, stage by stage; <see cref="Build"/> turns them into the
/// immutable <see cref="UtteranceRecord"/> once, when the utterance ends. Internal so that only the pipeline writes.
/// </summary>
internal sealed class RecordBuilder(UtteranceInput input, Language lang, long start)
{
    private long _lastMark = start;

    public string Id { get; } = input.Id;
    public string? IdProblem => input.IdProblem;
    public long Start { get; } = start;
    public Language Lang { get; set; } = lang;

    /// <summary>Null until a stage decides; every path through the pipeline decides exactly one.</summary>
    public Outcome? Outcome { get; private set; }

    public Tier? Tier { get; set; }
    public VehicleCommand? Command { get; set; }
    public string? CommandId { get; set; }
    public string? Topic { get; set; }
    public string? Ack { get; set; }
    public string? Error { get; private set; }
    public Rejection? Rejection { get; private set; }
    public string? UnknownAction { get; set; }
    public IReadOnlyList<string> SchemaErrors { get; set; } = [];
    public string? Spoken { get; set; }
    public string? Explanation { get; set; }
    public string? GateRule { get; set; }
    public IReadOnlyList<GateClamp> GateClamps { get; set; } = [];
    public Dictionary<string, double> LatencyMs { get; } = new(StringComparer.Ordinal);
    public Dictionary<Tier, JsonObject> TierDetails { get; } = [];
    public List<string> TierReasons { get; } = [];

    /// <summary>Decides the outcome, and for a rejection why; a later stage may overrule it (an ECU's failure after a publish).</summary>
    public void Decide(Outcome outcome, string? error = null, Rejection? rejection = null)
    {
        Outcome = outcome;
        Error = error;
        Rejection = outcome == Pipeline.Outcome.Rejected ? rejection : null;
    }

    /// <summary>Records how long the stage that just ended took.</summary>
    public void Mark(string stage)
    {
        var now = Stopwatch.GetTimestamp();
        LatencyMs[stage] = Stopwatch.GetElapsedTime(_lastMark, now).TotalMilliseconds;
        _lastMark = now;
    }

    public UtteranceRecord Build(Outcome outcome)
    {
        LatencyMs["total"] = Stopwatch.GetElapsedTime(Start).TotalMilliseconds;
        return new UtteranceRecord
        {
            Id = Id,
            Text = input.Text,
            IdProblem = input.IdProblem,
            Lang = Lang,
            Outcome = outcome,
            Tier = Tier,
            Command = Command,
            CommandId = CommandId,
            Topic = Topic,
            Ack = Ack,
            Error = Error,
            Rejection = Rejection,
            UnknownAction = UnknownAction,
            SchemaErrors = SchemaErrors,
            Spoken = Spoken,
            Explanation = Explanation,
            GateRule = GateRule,
            GateClamps = GateClamps,
            LatencyMs = new Dictionary<string, double>(LatencyMs, StringComparer.Ordinal),
            TierDetails = new Dictionary<Tier, JsonObject>(TierDetails),
            TierReasons = [.. TierReasons],
        };
    }
}
