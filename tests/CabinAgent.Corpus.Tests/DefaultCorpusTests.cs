using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Corpus.Tests;

/// <summary>What the trainer relies on, checked on the corpus of the default recipe (~60,000 examples).</summary>
public sealed class DefaultCorpusTests(DefaultCorpusFixture corpus) : IClassFixture<DefaultCorpusFixture>
{
    /// <summary>The least any action may have per language in the default build (the rarest has ~660).</summary>
    private const int MinPerActionAndLang = 500;

    [Fact]
    public void The_default_build_has_the_recipe_size()
    {
        Assert.Equal(corpus.Inputs.Recipe.DefaultSize, corpus.All.Count);
        Assert.Empty(corpus.Build.Manifest["shortfalls"]!.AsObject());
    }

    [Fact]
    public void Every_command_is_valid_against_the_catalog_schema()
    {
        var schema = CommandSchema.FromCatalog(ActionCatalog.Load(Checkout.Catalog));
        var invalid = corpus.All.Where(e => e.Action != CorpusKinds.NoAction)
            .Select(e => (e, errors: schema.Validate(new JsonObject
            {
                ["action"] = e.Action, ["parameters"] = e.Parameters.DeepClone(), ["response"] = "", ["confidence"] = 1.0,
                ["requires_confirmation"] = false,
            }.ToJsonString())))
            .Where(x => x.errors.Count > 0)
            .Select(x => $"{x.e.ToJsonLine()}: {string.Join("; ", x.errors)}")
            .Take(5).ToList();
        Assert.Empty(invalid);
    }

    [Fact]
    public void Remarks_are_NONE_with_no_parameters_and_commands_have_a_catalog_action()
    {
        var catalog = ActionCatalog.Load(Checkout.Catalog);
        foreach (var e in corpus.All)
        {
            if (e.Kind is CorpusKinds.Negative or CorpusKinds.NearMiss)
            {
                Assert.Equal(CorpusKinds.NoAction, e.Action);
                Assert.Empty(e.Parameters);
            }
            else
            {
                Assert.True(catalog.TryGet(e.Action, out var action), e.ToJsonLine());
                Assert.Equal(e.Kind == CorpusKinds.Emergency, action.Category == ActionCategories.Safety);
            }
            Assert.Contains(e.Lang, (string[])["zh", "en"]);
        }
    }

    [Fact]
    public void Copied_parameters_occur_verbatim_in_the_text()
    {
        var catalog = ActionCatalog.Load(Checkout.Catalog);
        var copied = 0;
        foreach (var e in corpus.All.Where(e => e.Action != CorpusKinds.NoAction))
        {
            foreach (var p in catalog.Get(e.Action).Parameters.Where(p => p.Span))
            {
                if (e.Parameters[p.Name] is not JsonValue value) continue;
                Assert.True(e.Text.Contains(value.GetValue<string>(), StringComparison.Ordinal), e.ToJsonLine());
                copied++;
            }
        }
        Assert.True(copied > 10000, $"only {copied} copied values in the corpus");
    }

    [Fact]
    public void Every_catalog_action_is_there_in_both_languages()
    {
        var catalog = ActionCatalog.Load(Checkout.Catalog);
        var counts = corpus.All.GroupBy(e => (e.Action, e.Lang)).ToDictionary(g => g.Key, g => g.Count());
        var thin = catalog.Actions.SelectMany(a => ((string[])["zh", "en"]).Select(lang => (a.Name, lang)))
            .Where(k => counts.GetValueOrDefault(k) < MinPerActionAndLang)
            .Select(k => $"{k.Name}/{k.lang}: {counts.GetValueOrDefault(k)}").ToList();
        Assert.Empty(thin);
    }

    [Theory]
    [InlineData(CorpusKinds.Negative, "zh", 2000)]
    [InlineData(CorpusKinds.Negative, "en", 2000)]
    [InlineData(CorpusKinds.NearMiss, "zh", 1000)]
    [InlineData(CorpusKinds.NearMiss, "en", 1000)]
    [InlineData(CorpusKinds.Emergency, "zh", 1000)]
    [InlineData(CorpusKinds.Emergency, "en", 1000)]
    public void Negatives_near_misses_and_emergencies_are_there(string kind, string lang, int atLeast)
    {
        Assert.InRange(corpus.All.Count(e => e.Kind == kind && e.Lang == lang), atLeast, int.MaxValue);
    }

    [Fact]
    public void No_test_split_input_occurs_in_the_corpus()
    {
        var test = new List<string>();
        foreach (var file in (string[])["test.jsonl", "emergency-test.jsonl", "emergency-holdout2.jsonl"])
            foreach (var line in File.ReadLines(Path.Combine(Checkout.Root, "eval", file)).Where(l => l.Trim().Length > 0))
                test.Add(DefaultCorpusFixture.Normalize(JsonNode.Parse(line)!["input"]!.GetValue<string>()));
        Assert.True(test.Count > 1000, $"only {test.Count} held-out inputs read");
        var corpusKeys = corpus.All.Select(e => DefaultCorpusFixture.Normalize(e.Text)).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(test.Where(corpusKeys.Contains).Distinct());
    }

    [Fact]
    public void Train_and_valid_share_no_sentence_and_valid_is_about_five_percent()
    {
        var trainKeys = corpus.Build.Train.Select(e => DefaultCorpusFixture.Normalize(e.Text)).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(corpus.Build.Valid.Where(e => trainKeys.Contains(DefaultCorpusFixture.Normalize(e.Text))).Select(e => e.Text));
        Assert.InRange(corpus.Build.Valid.Count / (double)corpus.All.Count, 0.035, 0.065);
        Assert.Equal(corpus.All.Count, corpus.All.Select(e => DefaultCorpusFixture.Normalize(e.Text)).Distinct().Count());
    }

    [Fact]
    public void The_manifest_counts_what_was_written()
    {
        var m = corpus.Build.Manifest;
        Assert.Equal(corpus.Build.Train.Count, m["examples"]!["train"]!.GetValue<int>());
        Assert.Equal(corpus.Build.Valid.Count, m["examples"]!["valid"]!.GetValue<int>());
        foreach (var g in corpus.All.GroupBy(e => (e.Action, e.Lang, e.Kind)))
            Assert.Equal(g.Count(), m["counts"]![g.Key.Action]![g.Key.Lang]![g.Key.Kind]!.GetValue<int>());
        Assert.Equal(64, m["recipe_hash"]!.GetValue<string>().Length);
        Assert.Equal("MIT", m["gazetteers"]!["cn-places.json"]!["licence"]!.GetValue<string>());
    }

    [Fact]
    public void The_variation_drivers_produce_is_there()
    {
        var zh = corpus.All.Where(e => e.Lang == "zh").Select(e => e.Text).ToList();
        var en = corpus.All.Where(e => e.Lang == "en").Select(e => e.Text).ToList();
        Assert.Contains(zh, t => t.StartsWith("小安", StringComparison.Ordinal));
        Assert.Contains(zh, t => t.Contains("两档", StringComparison.Ordinal));
        Assert.Contains(zh, t => t.Contains("度半", StringComparison.Ordinal));
        Assert.Contains(zh, t => t.Any(char.IsAsciiLetter)); // mixed zh/en
        Assert.Contains(en, t => t.Any(c => c >= '\u4e00' && c <= '\u9fff'));
        Assert.Contains(en, t => t.Contains("twenty", StringComparison.Ordinal));
        Assert.Contains(en, t => t == t.ToLowerInvariant() && !t.Any(char.IsPunctuation));
    }
}
