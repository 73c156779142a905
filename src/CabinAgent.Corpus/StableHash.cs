namespace CabinAgent.Corpus;

/// <summary>
/// FNV-1a over UTF-16 code units. string.GetHashCode is randomized per process, and the corpus must be the same
/// bytes on every run, so seeds and the train/valid split are derived from this instead.
/// </summary>
internal static class StableHash
{
    public static ulong Of(string s)
    {
        var h = 14695981039346656037UL;
        foreach (var c in s)
        {
            h ^= c;
            h *= 1099511628211UL;
        }
        return h;
    }

    /// <summary>A seed for one stream (an action × language × kind), so adding an action leaves the others' examples unchanged.</summary>
    public static int Seed(int seed, string stream) => (int)((Of(stream) ^ (ulong)(uint)seed * 0x9E3779B97F4A7C15UL) & 0x7FFFFFFF);
}
