using System.Globalization;

namespace CabinAgent.Understanding.Deterministic;

/// <summary>
/// Reads spoken numbers: digits (<c>25</c>, <c>23.5</c>, <c>-2</c>), Chinese numerals (<c>二十三</c>, <c>一百零五</c>,
/// <c>两</c>, <c>俩</c>, <c>二十三点五</c>, <c>二十三度五</c>, <c>二十三度半</c>, <c>百分之五十</c>, <c>负二</c>) and English
/// number words (<c>twenty three</c>, <c>twenty-three point five</c>, <c>a hundred</c>, <c>minus two</c>).
/// Input is in normalized form (lower case, half-width). Returns false, never throws, on anything else.
/// </summary>
public static class NumberParser
{
    /// <summary>Regex fragment matching what <see cref="TryParse"/> may accept (a superset; parsing decides).</summary>
    /// <param name="decimalDegree">Also accept <c>度</c> as the decimal point (<c>二十三度五</c>), for temperatures.</param>
    public static string Pattern(bool decimalDegree)
    {
        const string cnDigit = "[零〇一二两三四五六七八九]";
        const string cn = "[零〇一二两俩三四五六七八九十百千万]+";
        var cnFraction = decimalDegree ? $"(?:[点度](?:{cnDigit}+|半)|半)?" : $"(?:点{cnDigit}+|半)?";
        var digitFraction = decimalDegree ? $"(?:[.点度](?:[0-9]+|{cnDigit}+)|半)?" : "(?:[.点][0-9]+|半)?";
        const string word = "(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)";
        var en = $"(?:a hundred|{word})(?:[ -](?:{word}|and|point))*(?![a-z0-9])";
        return $"(?<![a-z0-9])(?:负|minus |negative |-)?(?:百分之)?(?:[0-9]+{digitFraction}|{cn}{cnFraction}|{en})";
    }

    public static bool TryParse(string text, out double value, out string how)
    {
        value = 0;
        how = "";
        var s = text.Trim();
        if (s.Length == 0) return false;

        var negative = false;
        foreach (var sign in (ReadOnlySpan<string>)["负", "minus ", "negative ", "-"])
        {
            if (s.StartsWith(sign, StringComparison.Ordinal))
            {
                negative = true;
                s = s[sign.Length..].TrimStart();
                break;
            }
        }
        var percent = false;
        if (s.StartsWith("百分之", StringComparison.Ordinal))
        {
            percent = true;
            s = s[3..];
        }
        if (s.Length == 0) return false;

        bool ok;
        if (char.IsAsciiDigit(s[0]))
        {
            ok = TryDigits(s, out value);
            how = "digits";
        }
        else if (s[0] is >= 'a' and <= 'z')
        {
            ok = TryEnglish(s, out value);
            how = "English number words";
        }
        else
        {
            ok = TryChinese(s, out value);
            how = "Chinese numeral";
        }
        if (!ok) return false;
        if (percent) how += ", 百分之 (percent)";
        if (negative)
        {
            value = -value;
            how += ", negative";
        }
        return true;
    }

    private static bool TryDigits(string s, out double value)
    {
        value = 0;
        var half = s.EndsWith('半');
        if (half) s = s[..^1];
        var sep = s.IndexOfAny(['.', '点', '度']);
        if (sep < 0)
            return double.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value) && Add(ref value, half);
        if (!double.TryParse(s[..sep], NumberStyles.None, CultureInfo.InvariantCulture, out var whole)) return false;
        if (!TryFraction(s[(sep + 1)..], out var fraction)) return false;
        value = whole + fraction;
        return !half;
    }

    private static bool Add(ref double value, bool half)
    {
        if (half) value += 0.5;
        return true;
    }

    /// <summary>Digits after the decimal point, one by one (<c>五</c> → 0.5, <c>25</c> → 0.25).</summary>
    private static bool TryFraction(string s, out double fraction)
    {
        fraction = 0;
        if (s == "半")
        {
            fraction = 0.5;
            return true;
        }
        if (s.Length == 0) return false;
        var scale = 0.1;
        foreach (var c in s)
        {
            var d = c is >= '0' and <= '9' ? c - '0' : ChineseDigit(c);
            if (d < 0) return false;
            fraction += d * scale;
            scale /= 10;
        }
        fraction = Math.Round(fraction, s.Length);
        return true;
    }

    private static int ChineseDigit(char c) => c switch
    {
        '零' or '〇' => 0,
        '一' => 1,
        '二' or '两' or '俩' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => -1,
    };

    private static int ChineseUnit(char c) => c switch
    {
        '十' => 10,
        '百' => 100,
        '千' => 1000,
        '万' => 10000,
        _ => 0,
    };

    private static bool TryChinese(string s, out double value)
    {
        value = 0;
        var sep = s.IndexOfAny(['点', '度']);
        var halfAtEnd = sep < 0 && s.EndsWith('半');
        var wholePart = sep >= 0 ? s[..sep] : halfAtEnd ? s[..^1] : s;
        if (!TryChineseInteger(wholePart, out var whole)) return false;
        // 一半 is "half" (a share, as in 开一半), never one and a half: that is 一个半 or 一点五.
        if (halfAtEnd && wholePart == "一") return false;
        value = whole;
        if (halfAtEnd) value += 0.5;
        if (sep < 0) return true;
        if (!TryFraction(s[(sep + 1)..], out var fraction)) return false;
        value += fraction;
        return true;
    }

    /// <summary>
    /// 二十 → 20, 十一 → 11, 一百零五 → 105, 一百五 → 150 (the spoken short form), 两千 → 2000,
    /// and plain digit strings without units: 一零五 → 105, 〇 → 0.
    /// </summary>
    internal static bool TryChineseInteger(string s, out long value)
    {
        value = 0;
        if (s.Length == 0) return false;
        var hasUnit = false;
        foreach (var c in s)
        {
            if (ChineseUnit(c) > 0) hasUnit = true;
            else if (ChineseDigit(c) < 0) return false;
        }

        if (!hasUnit)
        {
            foreach (var c in s) value = value * 10 + ChineseDigit(c);
            return true;
        }

        long total = 0, section = 0;
        var digit = -1;
        var lastUnit = 0;
        var zeroGap = false;
        var smallestUnitSoFar = int.MaxValue;
        foreach (var c in s)
        {
            var unit = ChineseUnit(c);
            if (unit == 0)
            {
                var d = ChineseDigit(c);
                if (d == 0)
                {
                    if (digit > 0) return false; // 三零 inside a unit number is not a number
                    zeroGap = true;
                    continue;
                }
                if (digit >= 0) return false; // two digits in a row: 二三十
                digit = d;
                continue;
            }
            if (unit == 10000)
            {
                total += (section + Math.Max(digit, 0)) * 10000;
                section = 0;
                digit = -1;
                lastUnit = 10000;
                smallestUnitSoFar = int.MaxValue;
                zeroGap = false;
                continue;
            }
            if (unit >= smallestUnitSoFar) return false; // 十百: units must decrease
            smallestUnitSoFar = unit;
            section += (digit < 0 ? 1 : digit) * unit;
            digit = -1;
            lastUnit = unit;
            zeroGap = false;
        }
        if (digit >= 0)
            section += !zeroGap && lastUnit >= 100 ? digit * (lastUnit / 10) : digit;
        value = total + section;
        return true;
    }

    private static readonly Dictionary<string, int> EnglishSmall = new(StringComparer.Ordinal)
    {
        ["zero"] = 0, ["oh"] = 0, ["one"] = 1, ["two"] = 2, ["three"] = 3, ["four"] = 4, ["five"] = 5, ["six"] = 6,
        ["seven"] = 7, ["eight"] = 8, ["nine"] = 9, ["ten"] = 10, ["eleven"] = 11, ["twelve"] = 12,
        ["thirteen"] = 13, ["fourteen"] = 14, ["fifteen"] = 15, ["sixteen"] = 16, ["seventeen"] = 17,
        ["eighteen"] = 18, ["nineteen"] = 19,
    };

    private static readonly Dictionary<string, int> EnglishTens = new(StringComparer.Ordinal)
    {
        ["twenty"] = 20, ["thirty"] = 30, ["forty"] = 40, ["fifty"] = 50, ["sixty"] = 60, ["seventy"] = 70,
        ["eighty"] = 80, ["ninety"] = 90,
    };

    private static bool TryEnglish(string s, out double value)
    {
        value = 0;
        var tokens = s.Split([' ', '-'], StringSplitOptions.RemoveEmptyEntries);
        long current = 0;
        var seen = false;
        var decimals = false;
        var scale = 0.1;
        double fraction = 0;
        for (var i = 0; i < tokens.Length; i++)
        {
            var t = tokens[i];
            if (decimals)
            {
                if (!EnglishSmall.TryGetValue(t, out var d) || d > 9) return false;
                fraction += d * scale;
                scale /= 10;
                continue;
            }
            if (t == "a" && i + 1 < tokens.Length && tokens[i + 1] == "hundred" && !seen)
            {
                current = 1;
                seen = true;
                continue;
            }
            if (t == "and")
            {
                if (!seen || current < 100) return false;
                continue;
            }
            if (t == "point")
            {
                if (!seen) return false;
                decimals = true;
                continue;
            }
            if (t == "hundred")
            {
                if (current >= 100) return false;
                current = (seen ? current : 1) * 100;
                seen = true;
                continue;
            }
            if (EnglishTens.TryGetValue(t, out var tens))
            {
                if (current % 100 != 0) return false; // "five twenty"
                current += tens;
                seen = true;
                continue;
            }
            if (EnglishSmall.TryGetValue(t, out var small))
            {
                if (current % 10 != 0 || (small >= 10 && current % 100 != 0)) return false; // "three four", "twenty eleven"
                if (seen && current == 0) return false; // "zero five"
                current += small;
                seen = true;
                continue;
            }
            return false;
        }
        if (!seen || (decimals && scale > 0.05)) return false;
        value = current + Math.Round(fraction, 6);
        return true;
    }
}
