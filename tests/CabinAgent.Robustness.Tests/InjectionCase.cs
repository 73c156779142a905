using System.Text.Json;
using System.Text.Json.Serialization;

namespace CabinAgent.Robustness.Tests;

/// <summary>One line of <c>data/injections.jsonl</c>: an adversarial utterance and the actions it must not get published.</summary>
public sealed record InjectionCase(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("lang")] string Lang,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("must_not")] string[] MustNot)
{
    public static IReadOnlyList<InjectionCase> LoadAll()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "data", "injections.jsonl");
        return File.ReadLines(path)
            .Where(l => !string.IsNullOrWhiteSpace(l))
            .Select(l => JsonSerializer.Deserialize<InjectionCase>(l) ?? throw new InvalidDataException($"bad line in {path}: {l}"))
            .ToList();
    }
}
