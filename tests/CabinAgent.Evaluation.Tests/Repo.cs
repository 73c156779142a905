using CabinAgent.Actions;

namespace CabinAgent.Evaluation.Tests;

/// <summary>Finds the repository's files from the test's output directory.</summary>
internal static class Repo
{
    public static readonly string Root = FindRoot();

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    public static ActionCatalog Catalog() => ActionCatalog.Load(File("config", "actions.json"));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "config", "actions.json")) && Directory.Exists(Path.Combine(dir.FullName, "eval")))
                return dir.FullName;
        }
        throw new InvalidOperationException("repository root (config/actions.json) not found above " + AppContext.BaseDirectory);
    }
}
