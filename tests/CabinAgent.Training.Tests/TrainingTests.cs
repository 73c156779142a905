using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Llm;
using CabinAgent.Llm.Native;
using CabinAgent.Llm.Prompting;
using CabinAgent.Training.Corpus;
using CabinAgent.Understanding;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.Training.Tests;

/// <summary>
/// The tiny preset trained once on a small plumbing corpus (seconds), then served by the LLM tier. These tests prove
/// that training runs, learns and produces a model the tier serves; accuracy is a benchmark (docs/llm.md), not a test.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class TrainingTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    [Fact]
    public void Validation_loss_falls_well_below_its_starting_value()
    {
        var report = fixture.Report;
        // Before training the answer tokens are near-uniform guesses over the vocabulary (ln V ≈ 7.6 nats).
        Assert.True(report.InitialValidLoss > 5.0, $"initial validation loss {report.InitialValidLoss}");
        Assert.True(report.BestValidLoss < report.InitialValidLoss - 2.0, $"validation loss {report.InitialValidLoss} -> {report.BestValidLoss}");
        Assert.Equal(report.Epochs.Min(e => e.ValidLoss), report.BestValidLoss);
    }

    [Fact]
    public void It_writes_q4_k_with_the_f16_model_beside_it_and_the_cabin_block()
    {
        Assert.True(File.Exists(fixture.ModelPath));
        Assert.Equal(Path.Combine(fixture.Dir, "cabin.f16.gguf"), fixture.Report.F16Output);
        using var q4 = LlamaModel.Load(fixture.ModelPath);
        using var f16 = LlamaModel.Load(fixture.Report.F16Output);
        Assert.Equal("llama", q4.Architecture);
        Assert.Contains("Q4_K", q4.FileTypeName);
        Assert.Contains("F16", f16.FileTypeName);
        var info = CabinModelInfo.Read(q4)!;
        Assert.Equal(fixture.Catalog.Actions.Select(a => a.Name), info.Actions);
        Assert.Equal(CabinPrompt.CatalogHash(fixture.Catalog), info.CatalogHash);
        Assert.Equal(TrainingRecipe.Tiny.Hash, info.TrainingRecipeHash);
        Assert.Null(info.CatalogWarning(fixture.Catalog));
        Assert.Equal("false", q4.Metadata("tokenizer.ggml.add_space_prefix"));
    }

    [Fact]
    public void No_temporary_or_checkpoint_files_are_left_after_a_finished_run()
    {
        Assert.Equal(["cabin.f16.gguf", "cabin.gguf"], Directory.GetFiles(fixture.Dir, "cabin*").Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_tier_serves_it_with_the_short_prompt_and_every_answer_is_schema_valid()
    {
        using var tier = LlmTier.Create(new LlmOptions { ModelPath = fixture.ModelPath, Threads = 2, ConfidenceFloor = 0, ContextLength = 512, DecodeDeadlineMs = 60_000 }, fixture.Catalog, NullLogger.Instance);
        Assert.NotNull(tier.Cabin);
        Assert.Equal(1, tier.CachedPrefixTokens); // BOS only: no system prompt
        var schema = CommandSchema.FromCatalog(fixture.Catalog);
        var sentences = fixture.Train.Take(40).ToList();
        var understood = 0;
        foreach (var example in sentences)
        {
            var result = await tier.UnderstandAsync(new Utterance("t", example.Text, WireName.Parse<Language>(example.Lang) ?? Language.Zh), CancellationToken.None);
            switch (result)
            {
                case Understood u:
                    understood++;
                    var envelope = new JsonObject { ["action"] = u.Action, ["parameters"] = u.Parameters.DeepClone(), ["response"] = "", ["confidence"] = 1.0, ["requires_confirmation"] = false };
                    Assert.Empty(schema.Validate(envelope.ToJsonString()));
                    Assert.InRange(u.Confidence, 0.0, 1.0);
                    break;
                case NotUnderstood n:
                    Assert.Equal("not a command", n.Reason);
                    break;
                default:
                    Assert.Fail($"{example.Text}: {result}");
                    break;
            }
        }
        Assert.True(understood > 0, "no sentence was understood as a command");
    }

    [Fact]
    public void A_catalog_with_an_action_the_model_never_saw_is_a_warning_naming_it()
    {
        var extended = new ActionCatalog(fixture.Catalog.TopicPrefix, fixture.Catalog.Actions.Append(new ActionDefinition
        {
            Name = "SEAT_MASSAGE_ON", Category = "comfort", Topic = "cmd/body", Responses = new Dictionary<string, string> { ["zh"] = "好", ["en"] = "ok" },
        }).ToList(), fixture.Catalog.Labels, fixture.Catalog.Messages);
        var logger = new ListLogger();
        using var tier = LlmTier.Create(new LlmOptions { ModelPath = fixture.ModelPath, Threads = 2, ContextLength = 512 }, extended, logger);
        var warning = Assert.Single(logger.Lines, l => l.Level == LogLevel.Warning);
        Assert.Contains("does not know SEAT_MASSAGE_ON", warning.Text);
        Assert.Contains(fixture.ModelPath, warning.Text);
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Text)> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }
}

public sealed class TinyModelFixture : IDisposable
{
    public TinyModelFixture()
    {
        Catalog = PlumbingCorpus.Catalog;
        Dir = PlumbingCorpus.TempDir("tiny");
        var corpus = Path.Combine(Dir, "corpus");
        PlumbingCorpus.Write(corpus, Catalog, maxTrain: 600);
        // For benchmarks (docs/llm.md): CABIN_PLUMBING_CORPUS=DIR keeps the whole plumbing corpus there for `models train`.
        if (Environment.GetEnvironmentVariable("CABIN_PLUMBING_CORPUS") is { Length: > 0 } keep)
            PlumbingCorpus.Write(keep, Catalog);
        Train = CorpusReader.Read(corpus, Catalog).Train;
        ModelPath = Path.Combine(Dir, "cabin.gguf");
        Report = new CabinTrainer(new TrainOptions { CorpusDirectory = corpus, Output = ModelPath, Recipe = TrainingRecipe.Tiny, Threads = 2 }, Catalog).Train();
    }

    public ActionCatalog Catalog { get; }
    public string Dir { get; }
    public string ModelPath { get; }
    public IReadOnlyList<CorpusExample> Train { get; }
    public TrainingReport Report { get; }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
