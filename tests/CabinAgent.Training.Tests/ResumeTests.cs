namespace CabinAgent.Training.Tests;

/// <summary>An interrupted run leaves a checkpoint; <c>--resume</c> continues after its last epoch.</summary>
[Collection(TrainingCollection.Name)]
public sealed class ResumeTests : IDisposable
{
    private readonly string _dir = PlumbingCorpus.TempDir("resume");

    [Fact]
    public void Resume_continues_from_the_epoch_after_the_checkpoint()
    {
        var corpus = Path.Combine(_dir, "corpus");
        PlumbingCorpus.Write(corpus, PlumbingCorpus.Catalog, maxTrain: 200);
        var output = Path.Combine(_dir, "m.gguf");
        var recipe = TrainingRecipe.Tiny with { MaxEpochs = 3, Patience = 5 };
        using var interrupt = new CancellationTokenSource();
        var first = new CabinTrainer(new TrainOptions { CorpusDirectory = corpus, Output = output, Recipe = recipe }, PlumbingCorpus.Catalog,
            line => { if (line.StartsWith("epoch 1/3: objective", StringComparison.Ordinal)) interrupt.Cancel(); });
        Assert.Throws<OperationCanceledException>(() => first.Train(interrupt.Token));
        Assert.True(File.Exists(output + ".ckpt.gguf"));
        Assert.False(File.Exists(output));

        var lines = new List<string>();
        var report = new CabinTrainer(new TrainOptions { CorpusDirectory = corpus, Output = output, Recipe = recipe, Resume = true }, PlumbingCorpus.Catalog, lines.Add).Train();
        Assert.Equal(1, report.ResumedFromEpoch);
        Assert.Equal([1, 2, 3], report.Epochs.Select(e => e.Epoch));
        Assert.Contains(lines, l => l.StartsWith($"resuming from {output}.ckpt.gguf after epoch 1", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("epoch 1/3: objective", StringComparison.Ordinal));
        Assert.True(File.Exists(output));
        Assert.False(File.Exists(output + ".ckpt.gguf"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
