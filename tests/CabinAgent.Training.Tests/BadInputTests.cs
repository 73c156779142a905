using CabinAgent.Llm;
using CabinAgent.Llm.Native;
using CabinAgent.Training.Corpus;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.Training.Tests;

/// <summary>Bad input to training and serving: a clear error naming the file and what to do, never a crash.</summary>
[Collection(TrainingCollection.Name)]
public sealed class BadInputTests : IDisposable
{
    private readonly string _dir = PlumbingCorpus.TempDir("bad");

    private TrainingReport Train(string corpus) =>
        new CabinTrainer(new TrainOptions { CorpusDirectory = corpus, Output = Path.Combine(_dir, "out.gguf"), Recipe = TrainingRecipe.Tiny }, PlumbingCorpus.Catalog).Train();

    [Fact]
    public void An_empty_corpus_names_the_file_and_the_command_that_makes_one()
    {
        File.WriteAllText(Path.Combine(_dir, "train.jsonl"), "");
        File.WriteAllText(Path.Combine(_dir, "valid.jsonl"), "");
        var error = Assert.Throws<CorpusException>(() => Train(_dir));
        Assert.Equal($"corpus file {Path.Combine(_dir, "train.jsonl")} has no examples; make a corpus with `cabin-agent dataset synth --out DIR` (docs/llm.md)", error.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "out.gguf")));
    }

    [Fact]
    public void A_missing_corpus_directory_is_named()
    {
        var missing = Path.Combine(_dir, "nope");
        var error = Assert.Throws<CorpusException>(() => Train(missing));
        Assert.StartsWith($"corpus directory not found: {missing}; make a corpus with", error.Message);
    }

    [Fact]
    public void An_action_the_catalog_does_not_have_names_the_line_and_the_action()
    {
        File.WriteAllText(Path.Combine(_dir, "train.jsonl"),
            "{\"text\":\"放首歌\",\"lang\":\"zh\",\"action\":\"MUSIC_PLAY\",\"parameters\":{},\"kind\":\"command\"}\n" +
            "{\"text\":\"座椅按摩\",\"lang\":\"zh\",\"action\":\"SEAT_MASSAGE_ON\",\"parameters\":{},\"kind\":\"command\"}\n");
        File.WriteAllText(Path.Combine(_dir, "valid.jsonl"), "{\"text\":\"放首歌\",\"lang\":\"zh\",\"action\":\"MUSIC_PLAY\",\"parameters\":{},\"kind\":\"command\"}\n");
        var error = Assert.Throws<CorpusException>(() => Train(_dir));
        Assert.Equal($"{Path.Combine(_dir, "train.jsonl")}:2: action SEAT_MASSAGE_ON is not in the catalog; regenerate the corpus from this catalog or add the action to config/actions.json", error.Message);
    }

    [Fact]
    public void A_span_value_that_is_not_in_the_utterance_is_rejected()
    {
        File.WriteAllText(Path.Combine(_dir, "train.jsonl"), "{\"text\":\"放首歌\",\"lang\":\"zh\",\"action\":\"MUSIC_PLAY\",\"parameters\":{\"artist\":\"王菲\"},\"kind\":\"command\"}\n");
        File.WriteAllText(Path.Combine(_dir, "valid.jsonl"), "");
        var error = Assert.Throws<CorpusException>(() => Train(_dir));
        Assert.Equal($"{Path.Combine(_dir, "train.jsonl")}:1: artist \"王菲\" is copied from the utterance but does not occur in it", error.Message);
    }

    [Fact]
    public void A_corrupt_gguf_is_an_error_naming_the_file()
    {
        var path = Path.Combine(_dir, "corrupt.gguf");
        File.WriteAllBytes(path, [.. "GGUF"u8, 3, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]);
        var error = Assert.Throws<LlamaException>(() => LlmTier.Create(new LlmOptions { ModelPath = path, Threads = 1 }, PlumbingCorpus.Catalog, NullLogger.Instance));
        Assert.Contains(path, error.Message);
        Assert.Contains("not a GGUF model, unsupported architecture or truncated file", error.Message);
    }

    [Fact]
    public void A_cabin_model_of_another_prompt_format_is_an_error_saying_to_retrain()
    {
        // A foreign GGUF: a loadable llama model whose cabin block is of a format this agent does not serve.
        var path = Path.Combine(_dir, "foreign.gguf");
        var vocab = Tokenizer.CabinVocabulary.Build(PlumbingCorpus.Catalog, PlumbingCorpus.TemplateSentences());
        var init = Path.Combine(_dir, "foreign.init.gguf");
        CabinModelWriter.WriteInitial(init, vocab, TrainingRecipe.Tiny, CabinModelStamp.For(PlumbingCorpus.Catalog, "x", TrainingRecipe.Tiny));
        using (var gguf = GgufWriter.FromFile(init))
        {
            gguf.Set(Llm.Prompting.CabinPrompt.KeyFormat, "cabin-prompt-v0");
            gguf.WriteWithDataOf(init, path);
        }
        var error = Assert.Throws<LlamaException>(() => LlmTier.Create(new LlmOptions { ModelPath = path, Threads = 1, ContextLength = 512 }, PlumbingCorpus.Catalog, NullLogger.Instance));
        Assert.Equal($"{path} is a cabin model of format 'cabin-prompt-v0', this agent serves 'cabin-prompt-v1': retrain it with `cabin-agent models train`", error.Message);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
