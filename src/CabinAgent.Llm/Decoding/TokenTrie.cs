namespace CabinAgent.Llm.Decoding;

/// <summary>
/// The vocabulary's token pieces as a byte trie, built once per model. Finding every token the
/// grammar allows is a walk of this trie that abandons a branch at its first refused byte, so the
/// cost follows the number of allowed tokens, not the 150k-token vocabulary.
/// </summary>
public sealed class TokenTrie
{
    // Node 0 is the root. Children are linked lists (first child / next sibling): most nodes have one.
    private readonly List<int> _firstChild = [-1];
    private readonly List<int> _nextSibling = [-1];
    private readonly List<byte> _label = [0];
    private readonly List<int> _token = [-1];
    private readonly Dictionary<int, List<int>> _extraTokens = [];

    public TokenTrie(IReadOnlyList<byte[]> pieces)
    {
        Pieces = pieces;
        for (var t = 0; t < pieces.Count; t++)
        {
            var piece = pieces[t];
            if (piece.Length == 0) continue; // control tokens render as nothing: never allowed
            var node = 0;
            foreach (var b in piece) node = Child(node, b, create: true);
            if (_token[node] < 0) _token[node] = t;
            else
            {
                if (!_extraTokens.TryGetValue(node, out var list)) _extraTokens[node] = list = [];
                list.Add(t);
            }
        }
        NodeCount = _label.Count;
    }

    public IReadOnlyList<byte[]> Pieces { get; }
    public int NodeCount { get; }

    /// <summary>Adds to <paramref name="allowed"/> every token whose whole piece <paramref name="state"/> accepts.</summary>
    public void CollectAllowed(GrammarState state, List<int> allowed) => Walk(0, state, allowed);

    private void Walk(int node, GrammarState state, List<int> allowed)
    {
        for (var c = _firstChild[node]; c >= 0; c = _nextSibling[c])
        {
            var b = _label[c];
            if (!state.MayAccept(b)) continue;
            var next = state.Clone();
            if (!next.Feed(b)) continue;
            if (_token[c] >= 0)
            {
                allowed.Add(_token[c]);
                if (_extraTokens.TryGetValue(c, out var more)) allowed.AddRange(more);
            }
            if (_firstChild[c] >= 0 && !next.IsComplete) Walk(c, next, allowed);
        }
    }

    private int Child(int node, byte b, bool create)
    {
        for (var c = _firstChild[node]; c >= 0; c = _nextSibling[c])
            if (_label[c] == b) return c;
        if (!create) return -1;
        var n = _label.Count;
        _label.Add(b);
        _token.Add(-1);
        _firstChild.Add(-1);
        _nextSibling.Add(_firstChild[node]);
        _firstChild[node] = n;
        return n;
    }
}
