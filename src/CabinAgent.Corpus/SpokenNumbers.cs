using System.Globalization;

namespace CabinAgent.Corpus;

/// <summary>
/// Numbers as drivers say them, in every form CabinAgent.Understanding's NumberParser reads: digits (22, 22.5),
/// Chinese numerals (二十二, 两, 二十二点五, 二十二度半, 二十二度五) and English words (twenty-two, twenty two point five).
/// The model must map all of them to the same value, so the corpus shows all of them.
/// </summary>
public static class SpokenNumbers
{
    private static readonly string[] ZhDigits = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    private static readonly string[] EnOnes =
    [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    ];
    private static readonly string[] EnTens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

    /// <summary>0–999 as a Chinese numeral: 十二, 二十, 一百零五.</summary>
    public static string ZhInteger(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(n, 999);
        if (n < 10) return ZhDigits[n];
        if (n < 20) return "十" + (n % 10 == 0 ? "" : ZhDigits[n % 10]);
        if (n < 100) return ZhDigits[n / 10] + "十" + (n % 10 == 0 ? "" : ZhDigits[n % 10]);
        var rest = n % 100;
        var head = ZhDigits[n / 100] + "百";
        if (rest == 0) return head;
        return rest < 10 ? head + "零" + ZhDigits[rest] : head + (rest < 20 ? "一" : "") + ZhInteger(rest);
    }

    /// <summary>0–999 in English words: twenty-two (or "twenty two"), a hundred and five.</summary>
    public static string EnInteger(int n, bool hyphen = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(n, 999);
        if (n < 20) return EnOnes[n];
        if (n < 100) return EnTens[n / 10] + (n % 10 == 0 ? "" : (hyphen ? "-" : " ") + EnOnes[n % 10]);
        var head = n / 100 == 1 ? "a hundred" : EnOnes[n / 100] + " hundred";
        return n % 100 == 0 ? head : head + " and " + EnInteger(n % 100, hyphen);
    }

    /// <summary>Measure words 两 stands before (两档, 两度); alone, 2 is said 二 ("音量两" is nobody's sentence).</summary>
    private const string LiangMeasures = "档格个度级点";

    /// <summary>
    /// One spoken form of <paramref name="value"/> (non-negative; an integer or a half), given the frame's words that
    /// follow it. When they start with 度, a half may be said as 二十二度半, which swallows that 度 (<paramref name="consumedDegree"/>).
    /// </summary>
    public static string Render(double value, string lang, Random rng, string following, out bool consumedDegree)
    {
        var degreeFollows = following.StartsWith('度');
        var measureFollows = following.Length > 0 && LiangMeasures.Contains(following[0]);
        consumedDegree = false;
        var whole = (int)Math.Floor(value);
        var half = value - whole > 0.25;
        var digits = whole.ToString(CultureInfo.InvariantCulture) + (half ? ".5" : "");
        if (lang == "zh")
        {
            if (rng.NextDouble() < 0.45) return digits;
            var zh = whole == 2 && !half && measureFollows && rng.Next(2) == 0 ? "两" : ZhInteger(whole);
            if (!half) return zh;
            if (degreeFollows && rng.NextDouble() < 0.5)
            {
                consumedDegree = true;
                return zh + (rng.Next(2) == 0 ? "度半" : "度五");
            }
            return zh + "点五";
        }
        if (rng.NextDouble() < 0.55) return digits;
        var en = EnInteger(whole, hyphen: rng.Next(2) == 0);
        return half ? en + " point five" : en;
    }
}
