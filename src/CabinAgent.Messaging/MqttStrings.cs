using System.Text;

namespace CabinAgent.Messaging;

/// <summary>
/// What a broker accepts as an MQTT 5 UTF-8 string (topics, user properties, content type). A packet carrying
/// anything else is malformed: mosquitto drops the whole connection for it, so one bad string re-sent from the
/// outbox would cut the agent off the bus again and again. Everything the agent puts into those fields is checked
/// here first.
/// </summary>
public static class MqttStrings
{
    /// <summary>The longest string a two-byte MQTT length prefix can carry.</summary>
    public const int MaxBytes = 65_535;

    /// <summary>
    /// Null when <paramref name="value"/> can go into an MQTT string field; otherwise why not. The rules are
    /// MQTT 5 §1.5.4 (no U+0000, no surrogates, well-formed UTF-8) plus what mosquitto also refuses and the
    /// specification says senders should not use: control characters U+0001–U+001F and U+007F–U+009F, and
    /// non-characters (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF).
    /// </summary>
    public static string? Check(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var (c, at) = (value[i], i);
            int codePoint = c;
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                codePoint = char.ConvertToUtf32(c, value[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return $"unpaired surrogate U+{(int)c:X4} at {i}";
            }
            if (codePoint <= 0x1F || codePoint is >= 0x7F and <= 0x9F)
                return $"control character U+{codePoint:X4} at {at}";
            if (codePoint is >= 0xFDD0 and <= 0xFDEF || (codePoint & 0xFFFE) == 0xFFFE)
                return $"non-character U+{codePoint:X4} at {at}";
        }
        var bytes = Encoding.UTF8.GetByteCount(value);
        return bytes > MaxBytes ? $"{bytes} bytes, over the {MaxBytes}-byte limit" : null;
    }

    public static bool IsValid(string value) => Check(value) is null;
}
