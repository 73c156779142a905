using System.Globalization;
using System.Text;

namespace CabinAgent.Llm.Decoding;

/// <summary>
/// The utterance as the bytes a span value may copy: its JSON-escaped UTF-8 form, cut into units
/// (one character, or one escape sequence such as <c>\"</c>). A span value is any run of whole units
/// that does not start or end with white space, so it always unescapes to a substring of the utterance.
/// </summary>
internal sealed class SpanSource
{
    public SpanSource(string utterance)
    {
        var bytes = new List<byte>();
        var unitStart = new List<bool>();
        var unitIsSpace = new List<bool>();
        foreach (var rune in utterance.EnumerateRunes())
        {
            var escaped = Escape(rune);
            for (var i = 0; i < escaped.Length; i++)
            {
                bytes.Add(escaped[i]);
                unitStart.Add(i == 0);
                unitIsSpace.Add(Rune.IsWhiteSpace(rune));
            }
        }
        Bytes = bytes.ToArray();
        IsUnitStart = [.. unitStart, true]; // the end is a boundary too
        IsSpaceUnit = [.. unitIsSpace, false];
        UnitsBefore = new int[Bytes.Length + 1];
        for (var i = 0; i < Bytes.Length; i++)
            UnitsBefore[i + 1] = UnitsBefore[i] + (IsUnitStart[i] ? 1 : 0);

        var starts = new List<int>();
        for (var i = 0; i < Bytes.Length; i++)
            if (IsUnitStart[i] && !IsSpaceUnit[i]) starts.Add(i);
        Starts = starts.ToArray();
        StartBytes = new bool[256];
        foreach (var s in Starts) StartBytes[Bytes[s]] = true;
    }

    /// <summary>JSON-escaped UTF-8 bytes of the utterance (the content of a JSON string holding it).</summary>
    public byte[] Bytes { get; }

    /// <summary>Per byte (and one past the end): does a unit start here.</summary>
    public bool[] IsUnitStart { get; }

    /// <summary>Per byte: is it part of a white-space unit.</summary>
    public bool[] IsSpaceUnit { get; }

    /// <summary>Number of units that start before each byte position.</summary>
    public int[] UnitsBefore { get; }

    /// <summary>Positions where a span may begin (unit starts that are not white space).</summary>
    public int[] Starts { get; }

    /// <summary>Bytes a span may begin with.</summary>
    public bool[] StartBytes { get; }

    public bool HasSpans => Starts.Length > 0;

    private static byte[] Escape(Rune rune) => rune.Value switch
    {
        '"' => "\\\""u8.ToArray(),
        '\\' => "\\\\"u8.ToArray(),
        '\n' => "\\n"u8.ToArray(),
        '\r' => "\\r"u8.ToArray(),
        '\t' => "\\t"u8.ToArray(),
        < 0x20 => Encoding.ASCII.GetBytes($"\\u{rune.Value:x4}"),
        _ => Encoding.UTF8.GetBytes(rune.ToString()),
    };
}
