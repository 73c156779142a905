using CabinAgent.Speech.Whisper.Native;
using System.Text;

namespace CabinAgent.Tools.Models;

/// <summary>Dimensions of a generated model. The defaults make a ~14 MB model that decodes in well under a second.</summary>
public sealed record WhisperTestModelDims
{
    /// <summary>Real multilingual vocabulary size: whisper derives the special token ids (sot, eot, languages) from it.</summary>
    public int NVocab { get; init; } = 51865;
    /// <summary>Must be 1500: whisper always pads audio to 30 s = 3000 mel frames, halved by the second conv.</summary>
    public int NAudioCtx { get; init; } = 1500;
    public int NAudioState { get; init; } = 64;
    public int NAudioHead { get; init; } = 2;
    public int NAudioLayer { get; init; } = 2;
    public int NTextCtx { get; init; } = 448;
    public int NTextState { get; init; } = 64;
    public int NTextHead { get; init; } = 2;
    public int NTextLayer { get; init; } = 2;
    public int NMels { get; init; } = 80;
}

/// <summary>
/// Writes a whisper model with random weights in whisper.cpp's legacy ggml <c>.bin</c> format, as
/// read by <c>whisper_model_load</c> in whisper.cpp 1.9.1:
/// <code>
/// u32 magic 0x67676d6c ("ggml")
/// i32 n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
///     n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype (0 = f32)
/// i32 n_mel, i32 n_fft, f32[n_mel * n_fft] mel filters
/// i32 n_vocab, then per token: u32 length, bytes
/// per tensor: i32 n_dims, i32 name length, i32 type (0 = f32), i32 ne[n_dims], name, f32 data
/// </code>
/// No pretrained weights can be had here, so tests and benchmarks use this: it exercises the real
/// loading, mel, encoder and decoder code; the text it produces is noise.
/// </summary>
public static class WhisperTestModel
{
    public const uint GgmlMagic = 0x67676d6c;
    public const int Seed = 20251123;
    public const string CacheFileName = "whisper-test-random-v2.bin";

    private static readonly string[] Languages =
    [
        "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id", "hi", "fi", "vi",
        "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk",
        "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw",
        "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
        "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su",
    ];

    /// <summary>Words the vocabulary starts with after the bytes, so random output at least looks like the domain.</summary>
    private static readonly string[] CommandWords =
    [
        " play", " music", " pause", " next", " song", " volume", " up", " down", " navigate", " to", " the", " nearest",
        " gas", " station", " open", " close", " window", " call", " set", " temperature", " degrees", " seat", " heating",
        " lock", " door", " trunk", " fuel", " battery", " help", " emergency", "播放", "音乐", "导航", "打开", "关闭", "车窗",
        "空调", "温度", "调高", "调低", "音量", "附近", "加油站", "充电桩", "打电话", "给", "座椅", "加热",
    ];

    /// <summary>The cached model for tests and benchmarks, generated on first use.</summary>
    public static string EnsureCached()
    {
        var dir = Path.Combine(WhisperLibrary.CacheRoot(), "models");
        var path = Path.Combine(dir, CacheFileName);
        if (File.Exists(path)) return path;
        Directory.CreateDirectory(dir);
        // Write to a temporary name first: a parallel test run must never see half a model.
        var temp = path + $".{Environment.ProcessId}.tmp";
        Write(temp);
        File.Move(temp, path, overwrite: true);
        return path;
    }

    public static void Write(string path, WhisperTestModelDims? dims = null, int seed = Seed)
    {
        dims ??= new WhisperTestModelDims();
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var w = new BinaryWriter(file);
        var random = new Random(seed);

        w.Write(GgmlMagic);
        foreach (var v in new[] { dims.NVocab, dims.NAudioCtx, dims.NAudioState, dims.NAudioHead, dims.NAudioLayer,
                     dims.NTextCtx, dims.NTextState, dims.NTextHead, dims.NTextLayer, dims.NMels, 1 /* ftype: mostly f16 */ })
            w.Write(v);

        const int nFft = 201; // 400-point FFT -> 201 bins
        w.Write(dims.NMels);
        w.Write(nFft);
        foreach (var f in MelFilters(dims.NMels, nFft, 16_000)) w.Write(f);

        var vocab = Vocabulary(dims.NVocab);
        w.Write(vocab.Count);
        foreach (var token in vocab)
        {
            w.Write((uint)token.Length);
            w.Write(token);
        }

        foreach (var (name, shape, init, half) in Tensors(dims))
        {
            w.Write(shape.Length);
            var nameBytes = Encoding.UTF8.GetBytes(name);
            w.Write(nameBytes.Length);
            w.Write(half ? 1 : 0); // ggml type: 1 = f16, 0 = f32
            foreach (var ne in shape) w.Write(ne);
            w.Write(nameBytes);
            var count = shape.Aggregate(1L, (a, b) => a * b);
            var fanIn = shape[0] * (shape.Length == 3 ? shape[1] : 1);
            for (long i = 0; i < count; i++)
            {
                var value = init switch
                {
                    Init.One => 1f,
                    Init.Zero => 0f,
                    Init.Small => (float)(Gaussian(random) * 0.02),
                    _ => (float)(Gaussian(random) / Math.Sqrt(fanIn)),
                };
                if (half) w.Write((Half)value);
                else w.Write(value);
            }
        }
    }

    private enum Init { Weight, Small, One, Zero }

    /// <summary>
    /// With ftype 1 whisper.cpp expects the matrices and the conv kernels in f16 (its conv only takes
    /// f16 kernels) and everything else (embeddings of positions, norms, biases) in f32.
    /// </summary>
    private static IEnumerable<(string Name, int[] Shape, Init Init, bool Half)> Tensors(WhisperTestModelDims d)
    {
        int a = d.NAudioState, t = d.NTextState;
        yield return ("encoder.positional_embedding", [a, d.NAudioCtx], Init.Small, false);
        yield return ("encoder.conv1.weight", [3, d.NMels, a], Init.Weight, true);
        yield return ("encoder.conv1.bias", [1, a], Init.Zero, false);
        yield return ("encoder.conv2.weight", [3, a, a], Init.Weight, true);
        yield return ("encoder.conv2.bias", [1, a], Init.Zero, false);
        yield return ("encoder.ln_post.weight", [a], Init.One, false);
        yield return ("encoder.ln_post.bias", [a], Init.Zero, false);
        for (var i = 0; i < d.NAudioLayer; i++)
            foreach (var tensor in Block($"encoder.blocks.{i}", a, cross: false)) yield return tensor;

        yield return ("decoder.positional_embedding", [t, d.NTextCtx], Init.Small, false);
        yield return ("decoder.token_embedding.weight", [t, d.NVocab], Init.Small, true);
        yield return ("decoder.ln.weight", [t], Init.One, false);
        yield return ("decoder.ln.bias", [t], Init.Zero, false);
        for (var i = 0; i < d.NTextLayer; i++)
            foreach (var tensor in Block($"decoder.blocks.{i}", t, cross: true)) yield return tensor;
    }

    private static IEnumerable<(string, int[], Init, bool)> Block(string prefix, int n, bool cross)
    {
        yield return ($"{prefix}.mlp_ln.weight", [n], Init.One, false);
        yield return ($"{prefix}.mlp_ln.bias", [n], Init.Zero, false);
        yield return ($"{prefix}.mlp.0.weight", [n, 4 * n], Init.Weight, true);
        yield return ($"{prefix}.mlp.0.bias", [4 * n], Init.Zero, false);
        yield return ($"{prefix}.mlp.2.weight", [4 * n, n], Init.Weight, true);
        yield return ($"{prefix}.mlp.2.bias", [n], Init.Zero, false);
        foreach (var attn in cross ? new[] { "attn", "cross_attn" } : ["attn"])
        {
            yield return ($"{prefix}.{attn}_ln.weight", [n], Init.One, false);
            yield return ($"{prefix}.{attn}_ln.bias", [n], Init.Zero, false);
            yield return ($"{prefix}.{attn}.query.weight", [n, n], Init.Weight, true);
            yield return ($"{prefix}.{attn}.query.bias", [n], Init.Zero, false);
            yield return ($"{prefix}.{attn}.key.weight", [n, n], Init.Weight, true);
            yield return ($"{prefix}.{attn}.value.weight", [n, n], Init.Weight, true);
            yield return ($"{prefix}.{attn}.value.bias", [n], Init.Zero, false);
            yield return ($"{prefix}.{attn}.out.weight", [n, n], Init.Weight, true);
            yield return ($"{prefix}.{attn}.out.bias", [n], Init.Zero, false);
        }
    }

    /// <summary>
    /// Token strings in the multilingual layout whisper.cpp expects: ids 0-50255 ordinary tokens
    /// (the 256 single bytes first, as in byte-level BPE, so any text can be tokenized for the
    /// prompt), 50256 empty, then specials: 50257 end of text, 50258 start of transcript, 99
    /// language tokens, translate, transcribe, start of LM, start of previous, no speech,
    /// no timestamps, and 1501 timestamps 0.00 to 30.00.
    /// </summary>
    public static List<byte[]> Vocabulary(int nVocab)
    {
        var tokens = new List<byte[]>(nVocab);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var b = 0; b < 256; b++) tokens.Add([(byte)b]);

        void AddText(string text)
        {
            if (tokens.Count < 50256 && text.Length > 0 && seen.Add(text)) tokens.Add(Encoding.UTF8.GetBytes(text));
        }

        foreach (var word in CommandWords) AddText(word);
        for (var c = 0x4E00; c <= 0x9FA5; c++) AddText(((char)c).ToString()); // CJK unified ideographs
        string[] onsets = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "st", "tr", "ch", "sh"];
        string[] nuclei = ["a", "e", "i", "o", "u", "ai", "ea", "ou"];
        for (var i = 0; tokens.Count < 50256; i++)
        {
            // A pseudo-word from the index: syllables in base (onsets x nuclei).
            var word = new StringBuilder(i % 2 == 0 ? " " : "");
            var n = i / 2;
            do
            {
                word.Append(onsets[n % onsets.Length]).Append(nuclei[n / onsets.Length % nuclei.Length]);
                n /= onsets.Length * nuclei.Length;
            } while (n > 0);
            AddText(word.ToString());
        }

        tokens.Add([]); // 50256: empty in real multilingual models too
        var specials = new List<string> { "<|endoftext|>", "<|startoftranscript|>" };
        specials.AddRange(Languages.Select(l => $"<|{l}|>"));
        specials.AddRange(["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]);
        foreach (var s in specials) tokens.Add(Encoding.UTF8.GetBytes(s));
        for (var i = 0; tokens.Count < nVocab; i++) tokens.Add(Encoding.UTF8.GetBytes($"<|{i * 0.02:F2}|>"));
        return tokens;
    }

    /// <summary>Slaney-style mel filterbank (librosa's default, which whisper's own filters use), row-major [n_mel][n_fft].</summary>
    public static float[] MelFilters(int nMels, int nFft, int sampleRate)
    {
        static double HzToMel(double hz) => hz < 1000 ? hz / (200.0 / 3) : 15 + Math.Log(hz / 1000) / (Math.Log(6.4) / 27);
        static double MelToHz(double mel) => mel < 15 ? mel * (200.0 / 3) : 1000 * Math.Exp((mel - 15) * (Math.Log(6.4) / 27));

        var maxMel = HzToMel(sampleRate / 2.0);
        var points = Enumerable.Range(0, nMels + 2).Select(i => MelToHz(maxMel * i / (nMels + 1))).ToArray();
        var filters = new float[nMels * nFft];
        for (var m = 0; m < nMels; m++)
        {
            var norm = 2.0 / (points[m + 2] - points[m]);
            for (var k = 0; k < nFft; k++)
            {
                var hz = k * (double)sampleRate / ((nFft - 1) * 2);
                var rising = (hz - points[m]) / (points[m + 1] - points[m]);
                var falling = (points[m + 2] - hz) / (points[m + 2] - points[m + 1]);
                filters[m * nFft + k] = (float)(Math.Max(0, Math.Min(rising, falling)) * norm);
            }
        }
        return filters;
    }

    private static double Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
