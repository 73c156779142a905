using System.Text.Json.Nodes;
using CabinAgent.Actions;

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

/// <summary>The one outcome every utterance gets.</summary>
public static class Outcomes
{
    /// <summary>A command went out on its action topic.</summary>
    public const string Published = "published";
    /// <summary>Bad input (empty, too long, binary, unsupported language) or an invalid command.</summary>
    public const string Rejected = "rejected";
    /// <summary>No tier understood it; the driver is asked to rephrase.</summary>
    public const string NotUnderstood = "not_understood";
    /// <summary>The safety gate refused the command.</summary>
    public const string Refused = "refused";
    /// <summary>The command waits for the driver's yes or no.</summary>
    public const string ConfirmationRequested = "confirmation_requested";
    /// <summary>The driver said no to a pending confirmation.</summary>
    public const string Cancelled = "cancelled";
    /// <summary>The broker was unreachable: the command waits in the durable outbox.</summary>
    public const string Queued = "queued";
    /// <summary>Published, but the ECU answered that it failed, or did not answer in time.</summary>
    public const string Failed = "failed";
    /// <summary>Something failed on the way (model error, publish failure).</summary>
    public const string Error = "error";
}

/// <summary>What happened to one utterance, stage by stage. Written as one replay output line.</summary>
public sealed class UtteranceRecord
{
    public required string Id { get; init; }
    public required string? Text { get; init; }
    public string Lang { get; set; } = "zh";
    public string Outcome { get; set; } = Outcomes.Error;

    /// <summary><c>deterministic</c>, <c>llm</c>, <c>safety</c>, or null when no tier produced a command.</summary>
    public string? Tier { get; set; }

    public VehicleCommand? Command { get; set; }
    public string? CommandId { get; set; }
    public string? Topic { get; set; }

    /// <summary>The ECU's acknowledgement: <c>ok</c>, <c>failed</c>, <c>timeout</c>, or null when not awaited.</summary>
    public string? Ack { get; set; }

    /// <summary>Why the source's utterance id was replaced by <see cref="Id"/>, or null.</summary>
    public string? IdProblem { get; set; }

    /// <summary>Null, or why no command was published.</summary>
    public string? Error { get; set; }

    /// <summary>What the agent said to the driver.</summary>
    public string? Spoken { get; set; }

    /// <summary>Why a tier matched (template id, raw model output summary).</summary>
    public string? Explanation { get; set; }

    /// <summary>The safety gate's rule for a refusal, or its notes (clamps) for a published command.</summary>
    public string? GateRule { get; set; }
    public List<string> GateNotes { get; } = [];

    /// <summary>Stage name → milliseconds, in pipeline order; <c>total</c> last.</summary>
    public Dictionary<string, double> LatencyMs { get; } = new(StringComparer.Ordinal);

    /// <summary>Per-tier details keyed by tier name (e.g. <c>llm</c>: raw output and token counts).</summary>
    public Dictionary<string, JsonObject> TierDetails { get; } = new(StringComparer.Ordinal);

    /// <summary>Reasons the tiers gave for not understanding, in order.</summary>
    public List<string> TierReasons { get; } = [];
}
