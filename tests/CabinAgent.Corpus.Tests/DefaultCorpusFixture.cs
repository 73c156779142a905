namespace CabinAgent.Corpus.Tests;

/// <summary>The corpus of the default recipe (size and seed of data/corpus/recipe.json), generated once for the tests that read it.</summary>
public sealed class DefaultCorpusFixture
{
    public DefaultCorpusFixture()
    {
        Inputs = CorpusInputs.Load(Checkout.Root, Checkout.Catalog);
        Build = new CorpusGenerator(Inputs).Generate(Inputs.Recipe.DefaultSize, Inputs.Recipe.DefaultSeed);
        All = [.. Build.Train, .. Build.Valid];
    }

    public CorpusInputs Inputs { get; }
    public CorpusBuild Build { get; }
    public IReadOnlyList<CorpusExample> All { get; }

    /// <summary>The leak check's own normalization (lower case, no punctuation or whitespace), written apart from the generator's.</summary>
    public static string Normalize(string text) =>
        new(text.ToLowerInvariant().Where(c => !char.IsPunctuation(c) && !char.IsWhiteSpace(c) && !char.IsSymbol(c)).ToArray());
}
