using System.Text;

namespace CabinAgent.Llm.Native;

/// <summary>The tokenizer of a model (borrowed from the model, lives as long as it).</summary>
public sealed unsafe class LlamaVocab
{
    private readonly LlamaModel _model;
    private readonly IntPtr _vocab;
    private byte[][]? _pieces;

    internal LlamaVocab(LlamaModel model, IntPtr vocab)
    {
        _model = model;
        _vocab = vocab;
        TokenCount = NativeApi.llama_vocab_n_tokens(vocab);
        AddBos = NativeApi.llama_vocab_get_add_bos(vocab);
    }

    public int TokenCount { get; }

    /// <summary>Whether the model expects a BOS token at the start of a prompt.</summary>
    public bool AddBos { get; }

    public bool IsEndOfGeneration(int token) => NativeApi.llama_vocab_is_eog(Ptr, token);

    private IntPtr Ptr
    {
        get
        {
            _ = _model.Pointer; // throws when the model is disposed
            return _vocab;
        }
    }

    /// <summary>Tokenizes UTF-8 text. <paramref name="parseSpecial"/> lets <c>&lt;|im_start|&gt;</c> etc. become control tokens (prompt templates only, never user text).</summary>
    public int[] Tokenize(ReadOnlySpan<byte> utf8, bool addSpecial, bool parseSpecial)
    {
        var capacity = utf8.Length + 8;
        while (true)
        {
            var tokens = new int[capacity];
            int n;
            fixed (byte* text = utf8)
            fixed (int* t = tokens)
                n = NativeApi.llama_tokenize(Ptr, text, utf8.Length, t, capacity, addSpecial, parseSpecial);
            if (n >= 0) return tokens.AsSpan(0, n).ToArray();
            if (n == int.MinValue) throw new LlamaException("tokenization overflowed int32");
            capacity = -n;
        }
    }

    public int[] Tokenize(string text, bool addSpecial, bool parseSpecial) =>
        Tokenize(Encoding.UTF8.GetBytes(text), addSpecial, parseSpecial);

    /// <summary>
    /// The raw bytes a token stands for when it is part of generated text (control tokens render as
    /// nothing). Byte-level BPE tokens may hold part of a UTF-8 character.
    /// </summary>
    public byte[] Piece(int token)
    {
        Span<byte> buf = stackalloc byte[128];
        int n;
        fixed (byte* b = buf)
            n = NativeApi.llama_token_to_piece(Ptr, token, b, buf.Length, 0, false);
        if (n >= 0) return buf[..n].ToArray();
        var big = new byte[-n];
        fixed (byte* b = big)
            n = NativeApi.llama_token_to_piece(Ptr, token, b, big.Length, 0, false);
        return big.AsSpan(0, Math.Max(n, 0)).ToArray();
    }

    /// <summary>All token pieces, computed once (the constraint automaton walks them as a trie).</summary>
    public IReadOnlyList<byte[]> AllPieces
    {
        get
        {
            if (_pieces is null)
            {
                var pieces = new byte[TokenCount][];
                for (var t = 0; t < pieces.Length; t++)
                    pieces[t] = NativeApi.llama_vocab_is_control(Ptr, t) ? [] : Piece(t);
                _pieces = pieces;
            }
            return _pieces;
        }
    }

    public string Detokenize(IEnumerable<int> tokens)
    {
        var bytes = new List<byte>();
        foreach (var t in tokens) bytes.AddRange(Piece(t));
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
