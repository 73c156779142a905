using System.Diagnostics;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace CabinAgent.Robustness.Tests;

/// <summary>FsCheck generators shared by the parser properties: random bytes, hostile unicode, and mutations of valid samples.</summary>
public static class FuzzGen
{
    /// <summary>A generous per-input bound: a parser that takes longer than this on one small input is hanging.</summary>
    public static readonly TimeSpan HangBound = TimeSpan.FromSeconds(5);

    public static readonly Gen<byte> Byte = Gen.Choose(0, 255).Select(b => (byte)b);

    public static readonly Gen<byte[]> Bytes = Gen.ArrayOf(Byte);

    /// <summary>Printable ASCII, CJK, controls, lone surrogates, invisible and direction marks, full-width forms.</summary>
    public static readonly Gen<char> AnyChar = Gen.Frequency(
        (5, Gen.Choose(0x20, 0x7e).Select(c => (char)c)),
        (3, Gen.Choose(0x4e00, 0x9fff).Select(c => (char)c)),
        (1, Gen.Choose(0x00, 0x1f).Select(c => (char)c)),
        (1, Gen.Choose(0xd800, 0xdfff).Select(c => (char)c)),
        (1, Gen.Choose(0xff01, 0xff5e).Select(c => (char)c)),
        (1, Gen.Elements('\u200b', '\u200d', '\u202e', '\u202c', '\u2060', '\ufeff', '\u00ad', '\uffff', '\ufffe', '\u0085', '\u2028', '\u3000')),
        (1, Gen.Choose(0, 0xffff).Select(c => (char)c)));

    private static readonly string[] Tokens =
    [
        "{", "}", "[", "]", "\"", ":", ",", "\\", "\\u", "\\ud800", "null", "true", "false", "1e309", "-0", "NaN", "-1", "0.5",
        "\"value\"", "\"text\"", "\"lang\"", "\"id\"", "\"topic\"", "\"payload\"", "\"t_ms\"", "\"status\"", "\"command_id\"",
        "打开", "关闭", "车窗", "后备箱", "播放", "导航到", "确认", "度", "百分之", "%", "调高", "两", "一百", "二十五", "音量",
        "open", "the", "window", "play", "navigate to", "set", "temperature", "to", "degrees", "percent", "volume", " ", "  ",
    ];

    public static readonly Gen<string> Token = Gen.Elements(Tokens);

    /// <summary>Strings of hostile characters and meaningful fragments (JSON punctuation, command words, numbers).</summary>
    public static readonly Gen<string> Text = Gen.ArrayOf(Gen.Frequency(
            (4, AnyChar.Select(c => c.ToString())),
            (3, Token)))
        .Select(string.Concat);

    /// <summary>Between one and four byte-level mutations of <paramref name="sample"/>.</summary>
    public static Gen<byte[]> Mutations(byte[] sample) =>
        Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Gen.Zip(Gen.Choose(0, 6), Gen.Zip(Gen.Choose(0, int.MaxValue - 1), Gen.Choose(0, 255))), n))
            .Select(ops =>
            {
                var data = new List<byte>(sample);
                foreach (var (op, (where, value)) in ops) Apply(data, op, where, value);
                return data.ToArray();
            });

    public static Gen<byte[]> Mutations(IReadOnlyList<byte[]> samples) =>
        Gen.Elements(samples.ToArray()).SelectMany(Mutations);

    public static Gen<string> Mutations(IReadOnlyList<string> samples) =>
        Mutations(samples.Select(Encoding.UTF8.GetBytes).ToList()).Select(b => Encoding.UTF8.GetString(b));

    private static readonly uint[] Interesting = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 16000, 44100];

    private static void Apply(List<byte> data, int op, int where, int value)
    {
        var pos = data.Count == 0 ? 0 : where % data.Count;
        switch (op)
        {
            case 0 when data.Count > 0: data[pos] = (byte)value; break;
            case 1 when data.Count > 0: data.RemoveRange(pos, Math.Min(1 + value % 16, data.Count - pos)); break;
            case 2: data.Insert(pos, (byte)value); break;
            case 3 when data.Count > 0: data.InsertRange(pos, data.GetRange(pos, Math.Min(1 + value % 32, data.Count - pos))); break;
            case 4: data.RemoveRange(pos, data.Count - pos); break;
            case 5 when data.Count >= 4:
                // A boundary value written little-endian where a header field may be.
                var v = Interesting[value % Interesting.Length];
                var at = Math.Min(pos, data.Count - 4);
                for (var i = 0; i < 4; i++) data[at + i] = (byte)(v >> (8 * i));
                break;
            case 6 when data.Count > 0: data[pos] ^= (byte)(1 << (value % 8)); break;
        }
    }

    /// <summary>
    /// Checks <paramref name="property"/> on <paramref name="count"/> generated inputs (FsCheck shrinks a failure to a
    /// small counterexample), each within <see cref="HangBound"/>, and prints how many ran.
    /// </summary>
    public static int Check<T>(ITestOutputHelper output, string name, Gen<T> gen, int count, Action<T> property)
    {
        var ran = 0;
        var prop = Prop.ForAll(gen.ToArbitrary(), (T input) =>
        {
            var clock = Stopwatch.StartNew();
            property(input);
            var elapsed = clock.Elapsed;
            Interlocked.Increment(ref ran);
            if (elapsed > HangBound) throw new TimeoutException($"{name}: one input took {elapsed.TotalSeconds:F1} s");
        });
        global::FsCheck.Check.One(Config.QuickThrowOnFailure.WithMaxTest(count).WithQuietOnSuccess(true).WithName(name), prop);
        output.WriteLine($"{name}: {ran} generated inputs");
        return ran;
    }
}
