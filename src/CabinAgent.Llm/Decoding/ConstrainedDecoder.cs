using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using CabinAgent.Llm.Native;

namespace CabinAgent.Llm.Decoding;

/// <summary>Sampling settings; greedy (temperature 0) by default.</summary>
public sealed record SamplingOptions
{
    public float Temperature { get; init; }
    public int TopK { get; init; } = 40;
    public float TopP { get; init; } = 0.95f;
    public uint Seed { get; init; } = 1234;
    public bool IsGreedy => Temperature <= 0;
}

public enum GenerationStop
{
    /// <summary>The grammar's language is complete: a whole command was produced.</summary>
    Complete,
    /// <summary>The abort flag was raised (deadline or external cancel).</summary>
    Aborted,
    /// <summary>The token budget ran out first.</summary>
    TokenLimit,
    /// <summary>No token of the vocabulary can continue the output (cannot happen with a byte-complete vocabulary).</summary>
    DeadEnd,
}

/// <summary>What one constrained generation produced, with the figures the tier and the bench report.</summary>
public sealed record GenerationResult(
    GenerationStop Stop,
    string Raw,
    int SampledTokens,
    int ForcedTokens,
    int EndPosition,
    double ActionLogProbability,
    double ParameterLogProbabilitySum,
    int ParameterTokens,
    int GreedyAccepted,
    int VocabularyWalks,
    double ElapsedMs)
{
    public int GeneratedTokens => SampledTokens + ForcedTokens;
}

/// <summary>
/// Generates one command under a <see cref="GrammarState"/>, token by token on a <see cref="LlamaContext"/>.
/// Fast paths: (1) a run of bytes the grammar forces is tokenized and fed to the model in one batch,
/// never sampled; (2) with greedy decoding the model's own best token is checked against the grammar
/// first and the trie walk over the vocabulary happens only when it is refused; (3) the final forced
/// bytes are not decoded at all (nothing is generated after them).
/// </summary>
public sealed class ConstrainedDecoder : IDisposable
{
    private readonly LlamaContext _context;
    private readonly LlamaVocab _vocab;
    private readonly TokenTrie _trie;
    private readonly SamplingOptions _sampling;
    private readonly LlamaSampler? _sampler;
    private readonly List<int> _allowed = new(1024);

    public ConstrainedDecoder(LlamaContext context, TokenTrie trie, SamplingOptions sampling)
    {
        _context = context;
        _vocab = context.Model.Vocab;
        _trie = trie;
        _sampling = sampling;
        if (!sampling.IsGreedy)
            _sampler = new LlamaSampler(sampling.Temperature, sampling.TopK, sampling.TopP, sampling.Seed);
    }

    /// <summary>
    /// Continues from the logits of the last decoded token (the prompt), writing generated tokens
    /// from <paramref name="position"/> on.
    /// </summary>
    public GenerationResult Generate(GrammarState state, int position, int maxTokens)
    {
        var raw = new List<byte>(128);
        var pieces = _trie.Pieces;
        int sampled = 0, forced = 0, greedyAccepted = 0, walks = 0, paramTokens = 0;
        double actionLogP = 0, paramLogP = 0;
        var forcedBytes = new List<byte>(64);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();

        GenerationResult Result(GenerationStop stop) => new(stop, Encoding.UTF8.GetString(raw.ToArray()), sampled, forced,
            position, actionLogP, paramLogP, paramTokens, greedyAccepted, walks,
            System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);

        while (!state.IsComplete)
        {
            if (_context.AbortRequested) return Result(GenerationStop.Aborted);
            if (sampled + forced >= maxTokens) return Result(GenerationStop.TokenLimit);

            // Forced run: feed the bytes the grammar dictates as one batch.
            forcedBytes.Clear();
            while (state.TryGetForcedByte(out var fb))
            {
                forcedBytes.Add(fb);
                state.Feed(fb);
                if (state.IsComplete) break;
            }
            if (forcedBytes.Count > 0)
            {
                raw.AddRange(forcedBytes);
                if (state.IsComplete) break; // the closing "}}": nothing follows, no need to evaluate it
                var tokens = _vocab.Tokenize(CollectionsMarshal.AsSpan(forcedBytes), addSpecial: false, parseSpecial: false);
                if (_context.Decode(tokens, position) == DecodeStatus.Aborted) return Result(GenerationStop.Aborted);
                position += tokens.Length;
                forced += tokens.Length;
                continue;
            }

            // A real choice: pick a token the grammar accepts.
            var logits = _context.LastLogits;
            var region = state.Region;
            int token;
            GrammarState? next = null;
            if (_sampler is null)
            {
                var best = ArgMax(logits);
                var candidate = state.Clone();
                if (candidate.Feed(pieces[best]))
                {
                    token = best;
                    next = candidate;
                    greedyAccepted++;
                }
                else
                {
                    token = BestAllowed(state, logits);
                    walks++;
                }
            }
            else
            {
                _allowed.Clear();
                _trie.CollectAllowed(state, _allowed);
                walks++;
                token = _allowed.Count == 0 ? -1 : _sampler.Sample(CollectionsMarshal.AsSpan(_allowed), logits);
            }
            if (token < 0) return Result(GenerationStop.DeadEnd);

            var logP = logits[token] - LogSumExp(logits);
            if (region == GrammarRegion.Action) actionLogP += logP;
            else if (region == GrammarRegion.Parameters)
            {
                paramLogP += logP;
                paramTokens++;
            }

            if (next is null)
            {
                next = state.Clone();
                if (!next.Feed(pieces[token])) throw new InvalidOperationException("allowed token refused by the grammar");
            }
            state = next;
            raw.AddRange(pieces[token]);
            sampled++;
            if (state.IsComplete) break;
            if (_context.Decode([token], position) == DecodeStatus.Aborted) return Result(GenerationStop.Aborted);
            position++;
        }
        return Result(GenerationStop.Complete);
    }

    /// <summary>
    /// Plain greedy decoding without any grammar (the bench's baseline): <paramref name="count"/>
    /// tokens, one decode call each. Returns the tokens decoded (fewer if aborted).
    /// </summary>
    public int GenerateUnconstrained(int position, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var token = ArgMax(_context.LastLogits);
            if (_context.Decode([token], position++) == DecodeStatus.Aborted) return i;
        }
        return count;
    }

    private int BestAllowed(GrammarState state, ReadOnlySpan<float> logits)
    {
        _allowed.Clear();
        _trie.CollectAllowed(state, _allowed);
        var best = -1;
        var bestLogit = float.NegativeInfinity;
        foreach (var t in _allowed)
        {
            if (logits[t] > bestLogit || best < 0)
            {
                best = t;
                bestLogit = logits[t];
            }
        }
        return best;
    }

    /// <summary>Index of the largest logit (vectorised; ties go to the lowest index).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var max = Max(values);
        var i = 0;
        if (Vector256.IsHardwareAccelerated && values.Length >= 8)
        {
            var vmax = Vector256.Create(max);
            for (; i <= values.Length - 8; i += 8)
            {
                var mask = Vector256.Equals(Vector256.Create(values.Slice(i, 8)), vmax).ExtractMostSignificantBits();
                if (mask != 0) return i + BitOperations.TrailingZeroCount(mask);
            }
        }
        for (; i < values.Length; i++)
            if (values[i] == max) return i;
        return 0;
    }

    private static float Max(ReadOnlySpan<float> values)
    {
        var i = 0;
        var m = float.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && values.Length >= 8)
        {
            var vm = Vector256.Create(float.NegativeInfinity);
            for (; i <= values.Length - 8; i += 8)
                vm = Vector256.Max(vm, Vector256.Create(values.Slice(i, 8)));
            for (var k = 0; k < 8; k++) m = Math.Max(m, vm[k]);
        }
        for (; i < values.Length; i++) m = Math.Max(m, values[i]);
        return m;
    }

    /// <summary>log Σ exp(values), computed stably (the softmax normaliser over the whole vocabulary).</summary>
    public static double LogSumExp(ReadOnlySpan<float> values)
    {
        var max = Max(values);
        var i = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated && values.Length >= 8)
        {
            var vmax = Vector256.Create(max);
            var acc = Vector256<float>.Zero;
            for (; i <= values.Length - 8; i += 8)
                acc += Vector256.Exp(Vector256.Create(values.Slice(i, 8)) - vmax);
            sum = Vector256.Sum(acc);
        }
        for (; i < values.Length; i++) sum += Math.Exp(values[i] - max);
        return max + Math.Log(sum);
    }

    public void Dispose() => _sampler?.Dispose();
}
