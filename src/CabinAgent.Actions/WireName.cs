using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CabinAgent.Actions;

/// <summary>
/// The string an enum value has on the wire (replay lines, MQTT payloads, metric labels, reports): its name in
/// snake case (<c>NotUnderstood</c> → <c>not_understood</c>). One rule, so the code works with types while every
/// consumer outside the process keeps seeing the strings the contract (docs/mqtt.md) names.
/// </summary>
public static class WireName
{
    private static readonly ConcurrentDictionary<Enum, string> Cache = new();

    public static string Of<T>(T value) where T : struct, Enum =>
        Cache.GetOrAdd(value, v => JsonNamingPolicy.SnakeCaseLower.ConvertName(v.ToString()));

    /// <summary>The value whose wire name is <paramref name="wire"/>, or null for any other string.</summary>
    public static T? Parse<T>(string? wire) where T : struct, Enum
    {
        if (wire is null) return null;
        foreach (var value in Enum.GetValues<T>())
            if (string.Equals(Of(value), wire, StringComparison.Ordinal))
                return value;
        return null;
    }
}

/// <summary>Serialises an enum as its <see cref="WireName"/>; integers are refused, so a number never passes for a value.</summary>
public sealed class WireNameConverter<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false)
    where T : struct, Enum;
