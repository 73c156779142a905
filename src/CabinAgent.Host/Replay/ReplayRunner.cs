using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Pipeline;

namespace CabinAgent.Host.Replay;

/// <summary>
/// Feeds recorded utterances (and telemetry) through the real pipeline, one output line per input line,
/// in input order, and keeps the figures for the summary.
/// </summary>
internal sealed class ReplayRunner(UtterancePipeline pipeline)
{
    private static readonly JsonSerializerOptions LineJson = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    public ReplaySummary Summary { get; } = new();

    public async Task RunAsync(IEnumerable<ReplayItem> items, TextWriter output, CancellationToken ct)
    {
        foreach (var item in items)
        {
            ct.ThrowIfCancellationRequested();
            var line = item switch
            {
                UtteranceItem u => await ProcessUtteranceAsync(u, ct).ConfigureAwait(false),
                InvalidItem invalid => InvalidLine(invalid),
                TelemetryItem telemetry => TelemetryLine(telemetry),
                _ => throw new InvalidOperationException($"unknown replay item {item.GetType().Name}"),
            };
            await output.WriteLineAsync(line.ToJsonString(LineJson)).ConfigureAwait(false);
        }
        await output.FlushAsync(ct).ConfigureAwait(false);
    }

    private async Task<JsonObject> ProcessUtteranceAsync(UtteranceItem item, CancellationToken ct)
    {
        var record = await pipeline.ProcessAsync(new UtteranceInput(item.Id, item.Text, item.Lang), ct).ConfigureAwait(false);
        Summary.Add(record);
        return ToLine(record);
    }

    private JsonObject InvalidLine(InvalidItem item)
    {
        Summary.AddInvalid();
        return new JsonObject
        {
            ["id"] = item.Id,
            ["text"] = null,
            ["tier"] = null,
            ["outcome"] = Outcomes.Rejected,
            ["command"] = null,
            ["error"] = item.Reason,
            ["latency_ms"] = new JsonObject(),
            ["topic"] = null,
        };
    }

    private JsonObject TelemetryLine(TelemetryItem item)
    {
        Summary.AddTelemetry();
        return new JsonObject
        {
            ["t_ms"] = item.TimeMs,
            ["telemetry"] = item.Topic,
            ["outcome"] = "ignored",
            ["error"] = "telemetry replay needs the safety layer",
        };
    }

    /// <summary>The replay output line of the spine's contract, plus diagnostics.</summary>
    public static JsonObject ToLine(UtteranceRecord record)
    {
        var latency = new JsonObject();
        foreach (var (stage, ms) in record.LatencyMs)
            latency[stage] = Math.Round(ms, 3);
        var line = new JsonObject
        {
            ["id"] = record.Id,
            ["text"] = record.Text,
            ["tier"] = record.Tier,
            ["outcome"] = record.Outcome,
            ["command"] = record.Command?.ToJsonObject(),
            ["error"] = record.Error,
            ["latency_ms"] = latency,
            ["topic"] = record.Topic,
            ["command_id"] = record.CommandId,
            ["lang"] = record.Lang,
            ["spoken"] = record.Spoken,
            ["explanation"] = record.Explanation,
        };
        if (record.GateRule is not null) line["gate_rule"] = record.GateRule;
        if (record.GateNotes.Count > 0) line["gate_notes"] = new JsonArray(record.GateNotes.Select(n => (JsonNode)n!).ToArray());
        foreach (var (tier, details) in record.TierDetails)
            line[tier] = details.DeepClone();
        return line;
    }
}

/// <summary>Counts by outcome and tier, and latency percentiles; printed on stderr after a replay.</summary>
internal sealed class ReplaySummary
{
    private readonly List<double> _totals = [];

    public SortedDictionary<string, int> ByOutcome { get; } = new(StringComparer.Ordinal);
    public SortedDictionary<string, int> ByTier { get; } = new(StringComparer.Ordinal);
    public int Utterances { get; private set; }
    public int InvalidLines { get; private set; }
    public int TelemetryLines { get; private set; }

    public void Add(UtteranceRecord record)
    {
        Utterances++;
        Increment(ByOutcome, record.Outcome);
        Increment(ByTier, record.Tier ?? "none");
        _totals.Add(record.LatencyMs.GetValueOrDefault("total"));
    }

    public void AddInvalid()
    {
        InvalidLines++;
        Increment(ByOutcome, Outcomes.Rejected);
        Increment(ByTier, "none");
    }

    public void AddTelemetry() => TelemetryLines++;

    public LatencySummary Latency => LatencySummary.Of(_totals);

    public string Format()
    {
        var latency = Latency;
        return string.Join(Environment.NewLine,
            $"replay: {Utterances + InvalidLines} utterance lines ({InvalidLines} unreadable), {TelemetryLines} telemetry lines",
            "  by outcome: " + string.Join(", ", ByOutcome.Select(kv => $"{kv.Key}={kv.Value}")),
            "  by tier:    " + string.Join(", ", ByTier.Select(kv => $"{kv.Key}={kv.Value}")),
            FormattableString.Invariant($"  latency transcript→outcome ms: p50={latency.P50:F2} p95={latency.P95:F2} p99={latency.P99:F2} max={latency.Max:F2}"));
    }

    private static void Increment(SortedDictionary<string, int> counts, string key) =>
        counts[key] = counts.GetValueOrDefault(key) + 1;
}
