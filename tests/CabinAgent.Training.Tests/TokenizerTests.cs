using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Llm.Native;
using CabinAgent.Llm.Prompting;
using CabinAgent.Training.Corpus;
using CabinAgent.Training.Tokenizer;

namespace CabinAgent.Training.Tests;

/// <summary>The cabin vocabulary as llama.cpp's own SPM tokenizer reads it (a model file the trainer's writer made).</summary>
[Collection(TrainingCollection.Name)]
public sealed class TokenizerTests(TokenizerFixture fixture) : IClassFixture<TokenizerFixture>
{
    private string[] Pieces(string text) =>
        fixture.Model.Vocab.Tokenize(text, addSpecial: false, parseSpecial: false).Select(t => fixture.Vocabulary.Tokens[t]).ToArray();

    [Fact]
    public void An_answer_is_its_json_runs_action_name_keys_and_characters()
    {
        var answer = CabinPrompt.Answer(fixture.Catalog, "MUSIC_PLAY", new JsonObject { ["artist"] = "王菲", ["song"] = "红豆" });
        Assert.Equal("{\"action\":\"MUSIC_PLAY\",\"parameters\":{\"artist\":\"王菲\",\"song\":\"红豆\"}}", answer);
        Assert.Equal(["{\"action\":\"", "MUSIC_PLAY", "\",\"parameters\":", "{\"artist\":\"", "王", "菲", "\",\"song\":\"", "红", "豆", "\"}}"], Pieces(answer));
    }

    [Fact]
    public void A_parameterless_answer_and_none_are_four_tokens()
    {
        Assert.Equal(["{\"action\":\"", "MUSIC_PAUSE", "\",\"parameters\":", "{}}"], Pieces(CabinPrompt.Answer(fixture.Catalog, "MUSIC_PAUSE", [])));
        Assert.Equal(["{\"action\":\"", "NONE", "\",\"parameters\":", "{}}"], Pieces(CabinPrompt.Answer(fixture.Catalog, CabinPrompt.NoneAction, [])));
    }

    [Fact]
    public void English_words_are_tokens_with_and_without_the_space_mark()
    {
        var tokens = Pieces("play some jazz");
        Assert.Equal(["play", "▁some", "▁jazz"], tokens);
    }

    [Fact]
    public void Detokenizing_gives_back_the_text_including_characters_the_corpus_never_had()
    {
        const string text = "把温度调到22度 please, 🚗 ünïcode";
        var tokens = fixture.Model.Vocab.Tokenize(text, addSpecial: false, parseSpecial: false);
        Assert.Equal(text, fixture.Model.Vocab.Detokenize(tokens));
        Assert.Contains(tokens, t => fixture.Vocabulary.Types[t] == TokenType.Byte); // 🚗 by byte fallback
    }

    [Fact]
    public void Every_catalog_action_is_one_token_and_an_integrators_new_action_gets_one()
    {
        foreach (var action in fixture.Catalog.Actions)
            Assert.Single(Pieces(action.Name));
        var extended = new ActionCatalog(fixture.Catalog.TopicPrefix, fixture.Catalog.Actions.Append(new ActionDefinition
        {
            Name = "SEAT_MASSAGE_ON", Category = "comfort", Topic = "cmd/body", Responses = new Dictionary<string, string> { ["zh"] = "好", ["en"] = "ok" },
            Parameters = [new ParameterDefinition { Name = "intensity", Type = ParameterType.Integer, Minimum = 1, Maximum = 3 }],
        }).ToList());
        var vocab = CabinVocabulary.Build(extended, [new CorpusExample("座椅按摩", "zh", "SEAT_MASSAGE_ON", [], "command")]);
        Assert.Contains("SEAT_MASSAGE_ON", vocab.Tokens);
        Assert.Contains("{\"intensity\":", vocab.Tokens);
    }

    [Fact]
    public void The_prompt_closes_with_one_language_token()
    {
        var zh = fixture.Model.Vocab.Tokenize("<|zh|>", addSpecial: false, parseSpecial: true);
        var en = fixture.Model.Vocab.Tokenize("<|en|>", addSpecial: false, parseSpecial: true);
        Assert.Equal([3], zh);
        Assert.Equal([4], en);
        // Typed or spoken, the same text is plain characters, never the control token.
        Assert.DoesNotContain(3, fixture.Model.Vocab.Tokenize("<|zh|>", addSpecial: false, parseSpecial: false));
    }
}

public sealed class TokenizerFixture : IDisposable
{
    private readonly string _dir = PlumbingCorpus.TempDir("tokenizer");

    public TokenizerFixture()
    {
        Catalog = PlumbingCorpus.Catalog;
        var corpus = PlumbingCorpus.TemplateSentences().Concat(PlumbingCorpus.DevSplit()).ToList();
        Vocabulary = CabinVocabulary.Build(Catalog, corpus);
        var path = Path.Combine(_dir, "vocab.gguf");
        CabinModelWriter.WriteInitial(path, Vocabulary, TrainingRecipe.Tiny, CabinModelStamp.For(Catalog, "test", TrainingRecipe.Tiny));
        Model = LlamaModel.Load(path, new LlamaModelLoadOptions { VocabOnly = true });
    }

    public ActionCatalog Catalog { get; }
    public CabinVocabulary Vocabulary { get; }
    public LlamaModel Model { get; }

    public void Dispose()
    {
        Model.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class TrainingCollection
{
    // One training run at a time per process: llama.cpp's epoch callbacks carry no user data (see StepState).
    public const string Name = "training";
}
