using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using CabinAgent.Actions;
using CabinAgent.Safety;
using CabinAgent.Understanding;

namespace CabinAgent.Pipeline;

/// <summary>Something the driver said, entering the pipeline.</summary>
/// <param name="Id">Utterance id; generated when the source has none.</param>
/// <param name="Lang"><c>zh</c>, <c>en</c>, <c>auto</c> or null; anything else is rejected.</param>
/// <param name="ReceivedTimestamp">
/// <see cref="System.Diagnostics.Stopwatch"/> timestamp of receipt (end of speech, or arrival on the bus);
/// latencies are measured from here. Null means "now".
/// </param>
/// <param name="DecodeError">Set when the source could not even decode the transcript (e.g. invalid UTF-8).</param>
/// <param name="AcceptedUnixMs">
/// Wall-clock time (Unix ms) the agent accepted the utterance; kept with it wherever it is stored, so running it
/// again after a restart gives the same command id. 0 when the source has no such moment (a replayed file).
/// </param>
public sealed record UtteranceInput(string Id, string? Text, string? Lang = null, long? ReceivedTimestamp = null, string? DecodeError = null,
    long AcceptedUnixMs = 0)
{
    /// <summary>The longest utterance id kept; a longer one is replaced (it travels in every MQTT user property).</summary>
    public const int MaxIdLength = 128;

    /// <summary>Why the id the source gave was not used (a generated one replaced it), or null.</summary>
    public string? IdProblem { get; init; }

    public static string NewId() => Guid.CreateVersion7().ToString("N");

    /// <summary>
    /// Null when <paramref name="id"/> may be used as an utterance id, else why not. Ids go into MQTT user properties and
    /// log lines, so they must be printable text: U+0000 there makes a broker drop the agent's connection as malformed.
    /// </summary>
    public static string? CheckId(string? id)
    {
        if (string.IsNullOrEmpty(id)) return "utterance id is empty";
        if (id.Length > MaxIdLength) return $"utterance id is too long ({id.Length} characters, limit {MaxIdLength})";
        for (var i = 0; i < id.Length; i++)
        {
            var c = id[i];
            if (char.IsHighSurrogate(c) && i + 1 < id.Length && char.IsLowSurrogate(id[i + 1]))
            {
                i++;
                continue;
            }
            var category = char.GetUnicodeCategory(c);
            if (category is System.Globalization.UnicodeCategory.Control or System.Globalization.UnicodeCategory.Format
                or System.Globalization.UnicodeCategory.Surrogate or System.Globalization.UnicodeCategory.PrivateUse
                or System.Globalization.UnicodeCategory.OtherNotAssigned or System.Globalization.UnicodeCategory.LineSeparator
                or System.Globalization.UnicodeCategory.ParagraphSeparator)
                return $"utterance id contains a non-printable character (U+{(int)c:X4})";
        }
        return null;
    }

    /// <summary>The id as given when it passes <see cref="CheckId"/>, else a generated one and the reason.</summary>
    public static (string Id, string? Problem) ValidId(string? id) =>
        CheckId(id) is { } problem ? (NewId(), problem) : (id!, null);

    /// <summary>
    /// The id of the command an utterance produces: a hash over the utterance id, its text and the moment it was
    /// accepted. Running the same accepted utterance again (a restart that re-runs it) gives the same command id,
    /// so consumers can deduplicate; a new utterance that reuses an id (the same id with other words, or the same
    /// words said again later) gives a new one.
    /// </summary>
    public static string CommandIdFor(UtteranceInput input)
    {
        var key = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"cmd\n{input.Id}\n{input.AcceptedUnixMs}\n{input.Text}");
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key), hash);
        return Convert.ToHexStringLower(hash[..16]);
    }
}

/// <summary>
/// The one outcome every utterance gets — the only definition: the pipeline, the evaluation, the replay summary and
/// the metrics all use it. On the wire (replay lines, <c>agent/response</c>, metric labels) it is the snake-case name:
/// <c>published</c>, <c>not_understood</c>, <c>confirmation_requested</c> ….
/// </summary>
[JsonConverter(typeof(WireNameConverter<Outcome>))]
public enum Outcome
{
    /// <summary>A command went out on its action topic.</summary>
    Published,
    /// <summary>Bad input (empty, too long, binary, unsupported language) or an invalid command.</summary>
    Rejected,
    /// <summary>No tier understood it; the driver is asked to rephrase.</summary>
    NotUnderstood,
    /// <summary>The safety gate refused the command.</summary>
    Refused,
    /// <summary>The command waits for the driver's yes or no.</summary>
    ConfirmationRequested,
    /// <summary>The driver said no to a pending confirmation.</summary>
    Cancelled,
    /// <summary>The broker was unreachable: the command waits in the durable outbox.</summary>
    Queued,
    /// <summary>Published, but the ECU answered that it failed, or did not answer in time.</summary>
    Failed,
    /// <summary>Something failed on the way (model error, publish failure).</summary>
    Error,
}

/// <summary>Why an utterance was <see cref="Outcome.Rejected"/>: a fact callers branch on instead of parsing the error text.</summary>
[JsonConverter(typeof(WireNameConverter<Rejection>))]
public enum Rejection
{
    /// <summary>The transcript itself was unusable (empty, too long, binary, undecodable, unsupported language).</summary>
    InvalidInput,
    /// <summary>The understanding queue was full (<see cref="UtterancePipeline.BusyReason"/>).</summary>
    Busy,
    /// <summary>A tier named an action the catalog does not have (<see cref="UtteranceRecord.UnknownAction"/>).</summary>
    NotInCatalog,
    /// <summary>The command failed the JSON Schema (<see cref="UtteranceRecord.SchemaErrors"/>).</summary>
    SchemaInvalid,
}

public static class OutcomeWire
{
    /// <summary>The outcome's wire string (<c>not_understood</c>).</summary>
    public static string Wire(this Outcome outcome) => WireName.Of(outcome);

    /// <summary>The tier's wire string (<c>deterministic</c>, <c>llm</c>, <c>safety</c>).</summary>
    public static string Wire(this Tier tier) => WireName.Of(tier);
}

/// <summary>
/// What happened to one utterance, stage by stage: built once by the pipeline when the utterance ends, never changed
/// after. Written as one replay output line (<see cref="ToJsonLine"/>).
/// </summary>
public sealed record UtteranceRecord
{
    public required string Id { get; init; }
    public required string? Text { get; init; }

    /// <summary>The language the driver was answered in.</summary>
    public required Language Lang { get; init; }

    public required Outcome Outcome { get; init; }

    /// <summary>The tier that produced the command (or failed), or null when no tier produced one.</summary>
    public Tier? Tier { get; init; }

    public VehicleCommand? Command { get; init; }
    public string? CommandId { get; init; }
    public string? Topic { get; init; }

    /// <summary>The ECU's acknowledgement: <c>ok</c>, <c>failed</c>, <c>timeout</c>, or null when not awaited.</summary>
    public string? Ack { get; init; }

    /// <summary>Why the source's utterance id was replaced by <see cref="Id"/>, or null.</summary>
    public string? IdProblem { get; init; }

    /// <summary>Null, or why no command was published.</summary>
    public string? Error { get; init; }

    /// <summary>Why a <see cref="Outcome.Rejected"/> utterance was rejected; null for every other outcome.</summary>
    public Rejection? Rejection { get; init; }

    /// <summary>The action a tier named that the catalog does not have (<see cref="Rejection.NotInCatalog"/>).</summary>
    public string? UnknownAction { get; init; }

    /// <summary>What the JSON Schema found wrong with the command (<see cref="Rejection.SchemaInvalid"/>); empty otherwise.</summary>
    public IReadOnlyList<string> SchemaErrors { get; init; } = [];

    /// <summary>What the agent said to the driver.</summary>
    public string? Spoken { get; init; }

    /// <summary>Why a tier matched (template id, raw model output summary).</summary>
    public string? Explanation { get; init; }

    /// <summary>The safety gate's rule for a refusal.</summary>
    public string? GateRule { get; init; }

    /// <summary>The parameters the gate clamped on the published command, each with its rule.</summary>
    public IReadOnlyList<GateClamp> GateClamps { get; init; } = [];

    /// <summary>The clamps as readable notes (<c>gate_notes</c> of the replay line).</summary>
    public IReadOnlyList<string> GateNotes => [.. GateClamps.Select(c => c.Note)];

    /// <summary>Stage name → milliseconds, in pipeline order; <c>total</c> last.</summary>
    public required IReadOnlyDictionary<string, double> LatencyMs { get; init; }

    /// <summary>Per-tier details (e.g. the LLM tier's raw output and token counts), in the order the tiers ran.</summary>
    public IReadOnlyDictionary<Tier, JsonObject> TierDetails { get; init; } = new Dictionary<Tier, JsonObject>();

    /// <summary>Reasons the tiers gave for not understanding, in order.</summary>
    public IReadOnlyList<string> TierReasons { get; init; } = [];

    /// <summary>The replay output line of the spine's contract (README, docs/mqtt.md), plus diagnostics.</summary>
    public JsonObject ToJsonLine()
    {
        var latency = new JsonObject();
        foreach (var (stage, ms) in LatencyMs)
            latency[stage] = Math.Round(ms, 3);
        var line = new JsonObject
        {
            ["id"] = Id,
            ["text"] = Text,
            ["tier"] = Tier?.Wire(),
            ["outcome"] = Outcome.Wire(),
            ["command"] = Command?.ToJsonObject(),
            ["error"] = Error,
            ["latency_ms"] = latency,
            ["topic"] = Topic,
            ["command_id"] = CommandId,
            ["lang"] = Lang.Code(),
            ["spoken"] = Spoken,
            ["explanation"] = Explanation,
        };
        if (GateRule is not null) line["gate_rule"] = GateRule;
        if (GateClamps.Count > 0) line["gate_notes"] = new JsonArray(GateNotes.Select(n => (JsonNode)n!).ToArray());
        foreach (var (tier, details) in TierDetails)
            line[tier.Wire()] = details.DeepClone();
        return line;
    }
}
