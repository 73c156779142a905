using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Evaluation.Tests;

public class ExportTests
{
    private static readonly ActionCatalog Catalog = Repo.Catalog();
    private static readonly IReadOnlyList<EvalCase> Dev = EvalDataset.Load(Repo.File("eval", "dev.jsonl"));

    [Fact]
    public void Every_case_with_an_action_becomes_a_schema_valid_command()
    {
        var records = AlpacaExport.Records(Dev, Catalog, out var skipped);
        Assert.Equal(Dev.Count(c => c.Expected.Action is null), skipped);
        Assert.Equal(Dev.Count - skipped, records.Count);
        var schema = CommandSchema.FromCatalog(Catalog);
        Assert.All(records, r => Assert.Empty(schema.Validate(r.Output)));
    }

    [Fact]
    public void Output_carries_the_catalog_response_and_confirmation()
    {
        var c = EvalDataset.ParseLine("""{"id":"x","category":"vehicle_control","lang":"zh","input":"打开后备箱","expected":{"action":"TRUNK_OPEN","parameters":{},"outcome":"confirmation_requested"},"priority":"medium"}""", "t");
        var music = EvalDataset.ParseLine("""{"id":"y","category":"music","lang":"zh","input":"播放周杰伦的夜曲","expected":{"action":"MUSIC_PLAY","parameters":{"artist":"周杰伦","song":"夜曲"},"outcome":"published"},"priority":"medium"}""", "t");
        var records = AlpacaExport.Records([c, music], Catalog, out _);
        Assert.Equal("""{"action":"TRUNK_OPEN","parameters":{},"response":"后备箱已打开","confidence":0.95,"requires_confirmation":true}""", records[0].Output);
        Assert.Equal("""{"action":"MUSIC_PLAY","parameters":{"artist":"周杰伦","song":"夜曲"},"response":"正在为您播放周杰伦的夜曲","confidence":0.95,"requires_confirmation":false}""", records[1].Output);
        Assert.Equal("播放周杰伦的夜曲", records[1].Input);
        Assert.Equal(AlpacaExport.Instructions["zh"], records[1].Instruction);
    }

    [Fact]
    public void Split_is_80_10_10_disjoint_and_fixed_by_the_seed()
    {
        var records = AlpacaExport.Records(Dev, Catalog, out var skipped);
        var split = AlpacaExport.Split(records, skipped);
        Assert.Equal(records.Count, split.Train.Count + split.Validation.Count + split.Test.Count);
        Assert.Equal((int)Math.Round(records.Count * 0.8), split.Train.Count);
        Assert.Equal((int)Math.Round(records.Count * 0.1), split.Validation.Count);
        Assert.Empty(split.Train.Select(r => r.Id).Intersect(split.Test.Select(r => r.Id)));
        Assert.Empty(split.Train.Select(r => r.Id).Intersect(split.Validation.Select(r => r.Id)));

        var again = AlpacaExport.Split(records.Reverse().ToList(), skipped);
        Assert.Equal(split.Test.Select(r => r.Id), again.Test.Select(r => r.Id));
        var other = AlpacaExport.Split(records, skipped, seed: 7);
        Assert.NotEqual(split.Test.Select(r => r.Id), other.Test.Select(r => r.Id));
    }

    [Fact]
    public void Files_are_alpaca_arrays_with_a_manifest()
    {
        var dir = Path.Combine(Path.GetTempPath(), "cabin-alpaca-" + Guid.NewGuid().ToString("N"));
        try
        {
            var records = AlpacaExport.Records(Dev, Catalog, out var skipped);
            AlpacaExport.Write(AlpacaExport.Split(records, skipped), dir, ["eval/dev.jsonl"], AlpacaExport.DefaultSeed);
            var train = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "train.json")))!.AsArray();
            var first = train[0]!.AsObject();
            Assert.Equal(["instruction", "input", "output"], first.Select(p => p.Key));
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")))!;
            Assert.Equal(train.Count, manifest["train"]!.GetValue<int>());
            Assert.Equal(skipped, manifest["skipped_without_action"]!.GetValue<int>());
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_test_split_is_recognised_as_held_out()
    {
        Assert.True(AlpacaExport.IsHeldOut("eval/test.jsonl"));
        Assert.False(AlpacaExport.IsHeldOut("eval/dev.jsonl"));
    }
}
