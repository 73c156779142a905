using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace CabinAgent.Understanding.Deterministic;

/// <summary>
/// One file under <c>config/intents/</c>. Every key but <c>language</c> is optional; files of one language are
/// merged (see docs/intents.md).
/// </summary>
internal sealed class IntentFile
{
    public string? Language { get; init; }

    /// <summary>Disfluencies removed anywhere before matching (嗯, uh).</summary>
    public List<string>? SkipWords { get; init; }

    /// <summary>
    /// Words that are never a span on their own (到, to, the): <c>导航到</c> must not navigate to "到".
    /// </summary>
    public List<string>? SpanStopWords { get; init; }

    /// <summary>Template of the politeness words allowed (repeated) before any sentence: 请, 帮我, could you.</summary>
    public string? Prefix { get; init; }

    /// <summary>Template of the words allowed (repeated) after any sentence: 吧, 呢, please.</summary>
    public string? Suffix { get; init; }

    /// <summary>Named template pieces, used as <c>&lt;name&gt;</c>.</summary>
    public Dictionary<string, string>? Rules { get; init; }

    /// <summary>Lists for enum slots: list name → catalog value → phrases that say it.</summary>
    public Dictionary<string, Dictionary<string, List<string>>>? Lists { get; init; }

    public List<IntentEntry>? Intents { get; init; }

    /// <summary>Sentences the tier must NOT understand (tested).</summary>
    public List<RejectEntry>? Rejects { get; init; }
}

internal sealed class IntentEntry
{
    public string? Action { get; init; }
    public List<TemplateEntry>? Templates { get; init; }
    public List<TestEntry>? Tests { get; init; }
}

internal sealed class TemplateEntry
{
    public string? Id { get; init; }
    public List<string>? Sentences { get; init; }

    /// <summary>Parameters the template sets without hearing them (我有点冷 → delta 2).</summary>
    public Dictionary<string, JsonElement>? Slots { get; init; }

    /// <summary>Below 1 for indirect phrasing; see docs/intents.md for the rule.</summary>
    public double? Confidence { get; init; }
}

internal sealed class TestEntry
{
    public string? Text { get; init; }
    public JsonObject? Parameters { get; init; }
}

internal sealed class RejectEntry
{
    public string? Text { get; init; }

    /// <summary>A word the NotUnderstood reason must contain (optional).</summary>
    public string? Reason { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(IntentFile))]
internal sealed partial class IntentJsonContext : JsonSerializerContext;

/// <summary>Bad intent data: names the file and the entry (template id, list, rule) at fault.</summary>
public sealed class IntentDataException(string file, string? entry, string message, Exception? inner = null)
    : Exception(entry is null ? $"{file}: {message}" : $"{file}: {entry}: {message}", inner)
{
    public string File { get; } = file;
    public string? Entry { get; } = entry;
}

/// <summary>A test sentence from the data files: the tier must understand it exactly so, or reject it.</summary>
/// <param name="Action">Expected action, or null when the sentence must be rejected.</param>
/// <param name="Parameters">Expected parameters, exactly (empty object when none).</param>
/// <param name="ReasonContains">For rejects: a word the reason must contain, if given.</param>
public sealed record IntentTestCase(string File, string Language, string Text, string? Action, JsonObject Parameters,
    string? ReasonContains)
{
    public override string ToString() => $"{Language}: {Text}";
}
