using CabinAgent.Actions;
using CabinAgent.Tools;

namespace CabinAgent.Evaluation.Tests;

/// <summary>Finds the repository's files from the test's output directory.</summary>
internal static class Repo
{
    public static readonly string Root = RepoFiles.Root(AppContext.BaseDirectory);

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    public static ActionCatalog Catalog() => ActionCatalog.Load(File("config", "actions.json"));
}
