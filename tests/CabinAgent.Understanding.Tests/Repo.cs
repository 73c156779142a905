using CabinAgent.Actions;
using CabinAgent.Understanding.Deterministic;

namespace CabinAgent.Understanding.Tests;

/// <summary>The shipped catalog and intents, loaded once for all tests.</summary>
public static class Repo
{
    /// <summary>The shipped config/, copied beside the test assembly by tests/Directory.Build.props.</summary>
    public static string ConfigDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "config");

    public static string IntentsDirectory => Path.Combine(ConfigDirectory, "intents");

    private static readonly Lazy<ActionCatalog> LazyCatalog =
        new(() => ActionCatalog.Load(Path.Combine(ConfigDirectory, "actions.json")));

    private static readonly Lazy<DeterministicTier> LazyTier =
        new(() => DeterministicTier.Load(IntentsDirectory, LazyCatalog.Value));

    private static readonly Lazy<CommandSchema> LazySchema = new(() => CommandSchema.FromCatalog(LazyCatalog.Value));

    public static ActionCatalog Catalog => LazyCatalog.Value;
    public static DeterministicTier Tier => LazyTier.Value;
    public static CommandSchema Schema => LazySchema.Value;

    /// <summary>As the pipeline calls the tier: with the language given, else the one the text shows (Chinese when none).</summary>
    public static TierResult Understand(string text, string? lang = null) =>
        Tier.Understand(new Utterance("test", text, Languages.FromCode(lang) ?? Languages.Of(text, Language.Zh)));
}
