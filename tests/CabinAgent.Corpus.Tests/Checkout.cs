namespace CabinAgent.Corpus.Tests;

/// <summary>The repository the tests run in: the corpus is built from its data/ and checked against its eval/.</summary>
internal static class Checkout
{
    public static string Root { get; } = Find();

    public static string Catalog => Path.Combine(Root, "config", "actions.json");

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "data", "corpus", "recipe.json")))
                return dir.FullName;
        throw new InvalidOperationException($"no data/corpus/recipe.json above {AppContext.BaseDirectory}");
    }

    /// <summary>
    /// A copy of the inputs (data/, config/actions.json, the held-out files) in a temp folder, to break one of them.
    /// </summary>
    public static TempCheckout Copy() => new();
}

internal sealed class TempCheckout : IDisposable
{
    public TempCheckout()
    {
        Root = Directory.CreateTempSubdirectory("cabin-corpus-").FullName;
        CopyDir(Path.Combine(Checkout.Root, "data"), Path.Combine(Root, "data"));
        Directory.CreateDirectory(Path.Combine(Root, "config"));
        File.Copy(Checkout.Catalog, Catalog);
        Directory.CreateDirectory(Path.Combine(Root, "eval"));
        foreach (var file in (string[])["test.jsonl", "emergency-test.jsonl", "emergency-holdout2.jsonl"])
            File.Copy(Path.Combine(Checkout.Root, "eval", file), Path.Combine(Root, "eval", file));
    }

    public string Root { get; }
    public string Catalog => Path.Combine(Root, "config", "actions.json");
    public string PathOf(string relative) => Path.Combine(Root, relative);

    public void Dispose() => Directory.Delete(Root, recursive: true);

    private static void CopyDir(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
