using System.Text.Json.Nodes;
using CabinAgent.Understanding.Deterministic;

namespace CabinAgent.Corpus.Tests;

/// <summary>Broken inputs fail at load with the file and the fix, before anything is generated.</summary>
public sealed class InputTests
{
    [Fact]
    public void A_catalog_action_without_a_bank_names_the_file_to_write()
    {
        using var copy = Checkout.Copy();
        File.Delete(copy.PathOf("data/corpus/banks/TRUNK_OPEN.json"));
        var ex = Assert.Throws<CorpusInputException>(() => CorpusInputs.Load(copy.Root, copy.Catalog));
        Assert.Contains("TRUNK_OPEN has no phrase bank", ex.Message);
        Assert.Contains("TRUNK_OPEN.json", ex.Message);
    }

    [Fact]
    public void A_slot_the_action_has_no_parameter_for_is_refused()
    {
        using var copy = Checkout.Copy();
        File.WriteAllText(copy.PathOf("data/corpus/banks/MUSIC_NEXT.json"),
            """{"action": "MUSIC_NEXT", "zh": ["下一首{song}"], "en": ["next"]}""");
        var ex = Assert.Throws<CorpusInputException>(() => CorpusInputs.Load(copy.Root, copy.Catalog));
        Assert.Contains("{song}, which MUSIC_NEXT has no parameter for", ex.Message);
    }

    [Fact]
    public void An_enum_value_without_wording_is_refused()
    {
        using var copy = Checkout.Copy();
        var catalog = JsonNode.Parse(File.ReadAllText(copy.Catalog))!;
        var nearby = catalog["actions"]!.AsArray().Single(a => a!["name"]!.GetValue<string>() == "NAV_FIND_NEARBY")!;
        nearby["parameters"]![0]!["enum"]!.AsArray().Add("car_wash");
        File.WriteAllText(copy.Catalog, catalog.ToJsonString());
        var ex = Assert.Throws<CorpusInputException>(() => CorpusInputs.Load(copy.Root, copy.Catalog));
        Assert.Contains("category=car_wash", ex.Message);
    }

    [Fact]
    public void A_missing_held_out_split_is_refused()
    {
        using var copy = Checkout.Copy();
        File.Delete(copy.PathOf("eval/test.jsonl"));
        var ex = Assert.Throws<CorpusInputException>(() => CorpusInputs.Load(copy.Root, copy.Catalog));
        Assert.Contains("test.jsonl not found", ex.Message);
    }

    [Fact]
    public void A_held_out_line_that_is_not_a_case_names_the_file_and_line()
    {
        using var copy = Checkout.Copy();
        File.AppendAllText(copy.PathOf("eval/test.jsonl"), "{\"input\": \"ok\"}\n{not json\n");
        var ex = Assert.Throws<CorpusInputException>(() => CorpusInputs.Load(copy.Root, copy.Catalog));
        Assert.Contains($"test.jsonl:{File.ReadLines(copy.PathOf("eval/test.jsonl")).Count()}: not a case line", ex.Message);
    }

    [Fact]
    public void The_recipe_hash_changes_with_any_input()
    {
        using var copy = Checkout.Copy();
        var before = CorpusInputs.Load(copy.Root, copy.Catalog).RecipeHash;
        Assert.Equal(CorpusInputs.Load(Checkout.Root, Checkout.Catalog).RecipeHash, before);
        File.AppendAllText(copy.PathOf("data/gazetteers/names.json"), "\n");
        Assert.NotEqual(before, CorpusInputs.Load(copy.Root, copy.Catalog).RecipeHash);
    }

    [Fact]
    public void No_name_is_both_artist_and_song_unless_listed_as_both()
    {
        var gazetteers = Gazetteers.Load(Path.Combine(Checkout.Root, "data", "gazetteers"));
        var artists = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var songs = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var lang in (string[])["zh", "en"])
            foreach (var artist in gazetteers.Artists(lang))
            {
                artists.Add(artist.Name);
                songs.UnionWith(artist.Songs);
            }
        Assert.True(artists.Count > 300 && songs.Count > 1500, $"{artists.Count} artists, {songs.Count} songs");
        var both = artists.Intersect(songs, StringComparer.OrdinalIgnoreCase).Where(n => !gazetteers.ArtistAndSong.Contains(n)).ToList();
        Assert.Empty(both);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(10)]
    [InlineData(15)]
    [InlineData(20)]
    [InlineData(22)]
    [InlineData(45)]
    [InlineData(100)]
    public void Every_number_form_reads_back_through_the_runtime_parser(int n)
    {
        Assert.True(NumberParser.TryParse(SpokenNumbers.ZhInteger(n), out var zh, out _));
        Assert.Equal(n, zh);
        Assert.True(NumberParser.TryParse(SpokenNumbers.EnInteger(n, hyphen: true), out var en1, out _));
        Assert.Equal(n, en1);
        Assert.True(NumberParser.TryParse(SpokenNumbers.EnInteger(n, hyphen: false), out var en2, out _));
        Assert.Equal(n, en2);
    }

    [Fact]
    public void Halves_and_liang_read_back_through_the_runtime_parser()
    {
        // (spoken form, whether it swallowed the frame's 度)
        var forms = new HashSet<(string Form, bool Consumed)>();
        for (var seed = 0; seed < 200; seed++)
        {
            var rng = new Random(seed);
            var zh = SpokenNumbers.Render(22.5, "zh", rng, following: "度", out var consumed);
            forms.Add((zh, consumed));
            forms.Add((SpokenNumbers.Render(2, "zh", rng, following: "档", out _), false));
            forms.Add((SpokenNumbers.Render(22.5, "en", rng, following: " degrees", out _), false));
            Assert.NotEqual("两", SpokenNumbers.Render(2, "zh", rng, following: "", out _));
        }
        var said = forms.Select(f => f.Form).ToHashSet();
        Assert.Contains("二十二度半", said);
        Assert.Contains("二十二点五", said);
        Assert.Contains("22.5", said);
        Assert.Contains("两", said);
        Assert.Contains("twenty two point five", said);
        Assert.Contains("twenty-two point five", said);
        foreach (var (form, consumed) in forms)
        {
            Assert.Equal(consumed, form.EndsWith("度半", StringComparison.Ordinal) || form.EndsWith("度五", StringComparison.Ordinal));
            Assert.True(NumberParser.TryParse(form, out var value, out _), form);
            Assert.Contains(value, (double[])[22.5, 2]);
        }
    }
}
