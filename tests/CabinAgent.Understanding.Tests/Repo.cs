using System.Reflection;
using CabinAgent.Actions;
using CabinAgent.Understanding.Deterministic;

namespace CabinAgent.Understanding.Tests;

/// <summary>The repository's catalog and intents, loaded once for all tests.</summary>
public static class Repo
{
    public static string Root { get; } = typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepoRoot").Value!;

    public static string IntentsDirectory => Path.Combine(Root, "config", "intents");

    private static readonly Lazy<ActionCatalog> LazyCatalog =
        new(() => ActionCatalog.Load(Path.Combine(Root, "config", "actions.json")));

    private static readonly Lazy<DeterministicTier> LazyTier =
        new(() => DeterministicTier.Load(IntentsDirectory, LazyCatalog.Value));

    private static readonly Lazy<CommandSchema> LazySchema = new(() => CommandSchema.FromCatalog(LazyCatalog.Value));

    public static ActionCatalog Catalog => LazyCatalog.Value;
    public static DeterministicTier Tier => LazyTier.Value;
    public static CommandSchema Schema => LazySchema.Value;

    public static TierResult Understand(string text, string? lang = null) =>
        Tier.Understand(new Utterance("test", text, lang));
}
