using CabinAgent.Actions;
using CabinAgent.Training;
using CabinAgent.Llm.Native;
using CabinAgent.Understanding;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.Llm.Tests;

/// <summary>
/// LoRA adapters through llama.cpp (<c>llama_adapter_lora_init</c>, <c>llama_set_adapters_lora</c>) on
/// the generated test model and a generated random adapter for it: the adapter really takes part in
/// every decode, scale 0 and detaching give the base model back, the cached system prompt is computed
/// with it, and adapters that do not fit the model are refused with llama.cpp's reason.
/// </summary>
[Collection("model")]
public sealed class LoraAdapterTests(TestModelFixture fixture)
{
    private static readonly ActionCatalog Catalog = Shipped.Catalog();
    private const string Text = "播放周杰伦的夜曲";

    private LlmOptions WithAdapter(float scale, string? path = null) =>
        fixture.Options(o => o.LoraAdapters = [new LoraAdapterOptions { Path = path ?? TestModelBuilder.EnsureDefaultLora(), Scale = scale }]);

    [Fact]
    public void The_generated_adapter_loads_with_its_metadata()
    {
        using var model = LlamaModel.Load(fixture.ModelPath);
        using var adapter = LlamaLoraAdapter.Load(model, TestModelBuilder.EnsureDefaultLora());
        Assert.Equal("cabin-agent test LoRA v1 (random weights, rank 8)", adapter.Name);
        Assert.Equal(16f, adapter.Alpha);
        Assert.Equal("lora", adapter.Metadata("adapter.type"));
        Assert.Equal("qwen2", adapter.Metadata("general.architecture"));
        Assert.Null(adapter.Metadata("no.such.key"));
    }

    [Fact]
    public void The_adapter_generator_is_deterministic()
    {
        var path = Temp("again");
        try
        {
            TestModelBuilder.BuildLora(path, fixture.ModelPath);
            Assert.Equal(File.ReadAllBytes(TestModelBuilder.EnsureDefaultLora()), File.ReadAllBytes(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void An_adapter_changes_the_logits_and_scale_zero_gives_the_base_model()
    {
        var baseLogits = fixture.Tier.PromptLogits(Text, LlmTier.PromptEvaluation.EmptyCache);
        float[] adapted, zero;
        using (var tier = LlmTier.Create(WithAdapter(1), Catalog, NullLogger.Instance))
        {
            Assert.Single(tier.LoraAdapters);
            adapted = tier.PromptLogits(Text, LlmTier.PromptEvaluation.EmptyCache);
        }
        using (var tier = LlmTier.Create(WithAdapter(0), Catalog, NullLogger.Instance))
            zero = tier.PromptLogits(Text, LlmTier.PromptEvaluation.EmptyCache);

        var range = baseLogits.Max() - baseLogits.Min();
        var meanChange = adapted.Zip(baseLogits, (a, b) => Math.Abs(a - b)).Average();
        Assert.True(meanChange > 0.05 * range, $"mean |change| {meanChange} vs logit range {range}: the adapter is not applied");
        Assert.Equal(baseLogits, zero);
    }

    [Fact]
    public void Detaching_the_adapters_from_a_context_gives_the_base_model_back()
    {
        using var model = LlamaModel.Load(fixture.ModelPath);
        using var context = model.CreateContext(new LlamaContextOptions { ContextLength = 512, Threads = 1 });
        var tokens = model.Vocab.Tokenize(Text, addSpecial: false, parseSpecial: false);
        float[] Logits()
        {
            context.ClearMemory();
            Assert.Equal(DecodeStatus.Ok, context.Decode(tokens, 0));
            return context.LastLogits.ToArray();
        }

        var before = Logits();
        using (var adapter = LlamaLoraAdapter.Load(model, TestModelBuilder.EnsureDefaultLora()))
        {
            context.SetLoraAdapters([(adapter, 1f)]);
            Assert.Same(adapter, Assert.Single(context.LoraAdapters));
            Assert.NotEqual(before, Logits());
        }
        // The adapter was disposed while attached: the context still holds it, so this decode is safe.
        Assert.NotEqual(before, Logits());
        context.SetLoraAdapters([]);
        Assert.Empty(context.LoraAdapters);
        Assert.Equal(before, Logits());
    }

    [Fact]
    public void The_cached_system_prompt_is_computed_with_the_adapter()
    {
        using var tier = LlmTier.Create(WithAdapter(1), Catalog, NullLogger.Instance);
        _ = tier.PromptLogits("打开空调", LlmTier.PromptEvaluation.CachedPrefix);
        var cached = tier.PromptLogits(Text, LlmTier.PromptEvaluation.CachedPrefix);
        var uncached = tier.PromptLogits(Text, LlmTier.PromptEvaluation.EmptyCache);
        Assert.Equal(uncached, cached);
    }

    [Fact]
    public async Task Outputs_with_an_adapter_are_schema_valid_commands()
    {
        var schema = CommandSchema.FromCatalog(Catalog);
        using var tier = LlmTier.Create(WithAdapter(1), Catalog, NullLogger.Instance);
        foreach (var (text, i) in Utterances.Corpus().Take(40).Select((t, i) => (t, i)))
        {
            var result = await tier.UnderstandAsync(new Utterance($"lora{i}", text, Languages.Of(text, Language.Zh)), CancellationToken.None);
            if (result is NotUnderstood { Reason: var reason } && reason.StartsWith("utterance too long", StringComparison.Ordinal))
                continue;
            var understood = Assert.IsType<Understood>(result);
            Assert.Empty(schema.Validate(new VehicleCommand
            {
                Action = understood.Action, Parameters = understood.Parameters, Response = "", Confidence = understood.Confidence,
                RequiresConfirmation = false,
            }));
        }
    }

    [Fact]
    public void A_model_file_given_as_an_adapter_is_refused_with_the_reason()
    {
        // The generated model has no general.type at all, hence llama.cpp's empty "got".
        var error = Assert.Throws<LlamaException>(() => LlmTier.Create(WithAdapter(1, fixture.ModelPath), Catalog, NullLogger.Instance));
        Assert.Equal($"llama.cpp refused the LoRA adapter '{fixture.ModelPath}' for model '{fixture.ModelPath}': " +
                     "expect general.type to be 'adapter', but got: ", error.Message);
    }

    [Theory]
    [InlineData(6, 256, "LoRA tensor 'blk.4.attn_k.weight' does not exist in base model (hint: maybe wrong base model?)")]
    [InlineData(4, 512, "tensor 'blk.0.attn_k.weight' has incorrect shape (hint: maybe wrong base model?)")]
    public void An_adapter_for_a_deeper_or_wider_model_is_refused_naming_the_tensor(int layers, int width, string reason)
    {
        var path = Temp("other-shape");
        try
        {
            TestModelBuilder.BuildLora(path, TestModelShape.Default with { Layers = layers, EmbeddingLength = width });
            var error = Assert.Throws<LlamaException>(() => LlmTier.Create(WithAdapter(1, path), Catalog, NullLogger.Instance));
            Assert.Equal($"llama.cpp refused the LoRA adapter '{path}' for model '{fixture.ModelPath}': {reason}", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Missing_adapter_files_and_bad_scales_are_named_at_option_validation()
    {
        var options = fixture.Options(o => o.LoraAdapters =
        [
            new LoraAdapterOptions { Path = "/nonexistent/adapter.gguf" },
            new LoraAdapterOptions { Path = "", Scale = float.NaN },
            new LoraAdapterOptions { Path = fixture.ModelPath, Scale = 11 },
        ]);
        Assert.Equal(
        [
            "Llm:LoraAdapters:0:Path '/nonexistent/adapter.gguf' does not exist",
            "Llm:LoraAdapters:1:Path is required",
            "Llm:LoraAdapters:1:Scale must be a number from -10 to 10",
            "Llm:LoraAdapters:2:Scale must be a number from -10 to 10",
        ], options.Validate());
        var error = Assert.Throws<LlmConfigurationException>(() => LlmTier.Create(options, Catalog, NullLogger.Instance));
        Assert.StartsWith("Llm:LoraAdapters:0:Path", error.Message);
    }

    [Fact]
    public void An_adapter_loaded_for_another_model_cannot_be_attached()
    {
        using var model = LlamaModel.Load(fixture.ModelPath);
        using var other = LlamaModel.Load(fixture.ModelPath);
        using var adapter = LlamaLoraAdapter.Load(other, TestModelBuilder.EnsureDefaultLora());
        using var context = model.CreateContext(new LlamaContextOptions { ContextLength = 512, Threads = 1 });
        var error = Assert.Throws<ArgumentException>(() => context.SetLoraAdapters([(adapter, 1f)]));
        Assert.StartsWith($"LoRA adapter '{TestModelBuilder.EnsureDefaultLora()}' was loaded for another model", error.Message);
        Assert.Empty(context.LoraAdapters);
    }

    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), $"cabin-lora-{name}-{Guid.NewGuid():N}.gguf");
}
