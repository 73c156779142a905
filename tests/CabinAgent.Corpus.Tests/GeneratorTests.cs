namespace CabinAgent.Corpus.Tests;

public sealed class GeneratorTests
{
    private const int Size = 3000;

    private static async Task<string> WriteAsync(int seed, int size = Size)
    {
        var dir = Directory.CreateTempSubdirectory("cabin-corpus-out-").FullName;
        var inputs = CorpusInputs.Load(Checkout.Root, Checkout.Catalog);
        await CorpusWriter.WriteAsync(dir, new CorpusGenerator(inputs).Generate(size, seed), CancellationToken.None);
        return dir;
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_bytes_and_another_seed_other_ones()
    {
        var a = await WriteAsync(7);
        var b = await WriteAsync(7);
        var c = await WriteAsync(8);
        try
        {
            foreach (var file in (string[])[CorpusWriter.TrainFile, CorpusWriter.ValidFile, CorpusWriter.ManifestFile])
                Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(a, file)), await File.ReadAllBytesAsync(Path.Combine(b, file)));
            Assert.NotEqual(await File.ReadAllBytesAsync(Path.Combine(a, CorpusWriter.TrainFile)),
                await File.ReadAllBytesAsync(Path.Combine(c, CorpusWriter.TrainFile)));
        }
        finally
        {
            foreach (var dir in (string[])[a, b, c]) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task The_files_are_utf8_jsonl_in_the_contract_format()
    {
        var dir = await WriteAsync(1, size: 400);
        try
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(dir, CorpusWriter.TrainFile));
            Assert.NotEqual(0xEF, bytes[0]); // no BOM
            Assert.DoesNotContain((byte)'\r', bytes);
            var lines = (await File.ReadAllLinesAsync(Path.Combine(dir, CorpusWriter.TrainFile))).ToList();
            Assert.InRange(lines.Count, 300, 400);
            foreach (var line in lines)
            {
                Assert.StartsWith("{\"text\":", line);
                var e = CorpusExample.Parse(line);
                Assert.Equal(line, e.ToJsonLine());
                Assert.DoesNotContain("\\u", line);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_generated_sentence_equal_to_a_held_out_input_is_dropped()
    {
        using var copy = Checkout.Copy();
        // "next song" and "下一首" are the barest forms of MUSIC_NEXT: a build of this size says them.
        File.AppendAllText(copy.PathOf("eval/test.jsonl"), "{\"input\": \"Next song!\"}\n{\"input\": \"下一首\"}\n");
        var build = new CorpusGenerator(CorpusInputs.Load(copy.Root, copy.Catalog)).Generate(20000, 3);
        var keys = build.Train.Concat(build.Valid).Select(e => DefaultCorpusFixture.Normalize(e.Text)).ToHashSet();
        Assert.DoesNotContain("nextsong", keys);
        Assert.DoesNotContain("下一首", keys);
        Assert.Contains("nextone", keys); // its neighbours stay
        Assert.True(build.Manifest["held_out"]!["collisions_dropped"]!.GetValue<int>() >= 2);
    }

    [Fact]
    public void A_size_below_one_is_refused()
    {
        var generator = new CorpusGenerator(CorpusInputs.Load(Checkout.Root, Checkout.Catalog));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(0, 1));
    }
}
