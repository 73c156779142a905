using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Llm.Decoding;
using CabinAgent.Llm.Native;
using CabinAgent.Llm.Prompting;
using CabinAgent.Understanding;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Llm;

/// <summary>
/// The LLM understanding tier: a local GGUF model run in process through llama.cpp, prompted with
/// the catalog-generated system prompt (evaluated once, its KV cache reused), decoding under the
/// command grammar so the output is always a schema-valid command whose span values are copied
/// from the utterance. Confidence comes from the model's own token probabilities. One utterance
/// at a time (calls queue); an external cancel or the decode deadline aborts decoding inside llama.cpp.
/// </summary>
public sealed class LlmTier : IUnderstandingTier, IDisposable
{
    private readonly LlmOptions _options;
    private readonly ActionCatalog _catalog;
    private readonly CommandSchema _schema;
    private readonly CommandGrammar _grammar;
    private readonly ILogger _logger;
    private readonly LlamaModel _model;
    private readonly LlamaContext _context;
    private readonly IReadOnlyList<LlamaLoraAdapter> _adapters;
    private readonly TokenTrie _trie;
    private readonly ConstrainedDecoder _decoder;
    private readonly PromptLayout _prompt;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DecodeThread? _decodeThread;
    private bool _disposed;

    private LlmTier(LlmOptions options, ActionCatalog catalog, ILogger logger, LlamaModel model, LlamaContext context,
        IReadOnlyList<LlamaLoraAdapter> adapters, CabinModelInfo? cabin)
    {
        Cabin = cabin;
        _adapters = adapters;
        LoraScales = options.LoraAdapters.Select(a => a.Scale).ToArray();
        _options = options;
        _catalog = catalog;
        _logger = logger;
        _model = model;
        _context = context;
        _schema = CommandSchema.FromCatalog(catalog);
        _grammar = new CommandGrammar(catalog, allowNone: cabin is not null);
        _trie = new TokenTrie(model.Vocab.AllPieces);
        _decoder = new ConstrainedDecoder(context, _trie, new SamplingOptions
        {
            Temperature = options.Temperature, TopK = options.TopK, TopP = options.TopP, Seed = options.Seed,
        });
        _prompt = cabin is not null
            ? PromptLayout.ForCabinModel(model)
            : PromptLayout.Build(model, SystemPrompt.Build(catalog), options.ChatTemplate);
        if (_prompt.PrefixTokens.Length + _prompt.SuffixTokens.Length + options.MaxOutputTokens + 16 > context.ContextLength)
            throw new LlmConfigurationException(
                $"the system prompt ({_prompt.PrefixTokens.Length} tokens) leaves no room in a {context.ContextLength}-token context");
        var sw = Stopwatch.StartNew();
        if (_context.Decode(_prompt.PrefixTokens, 0) != DecodeStatus.Ok)
            throw new LlamaException("system prompt evaluation was aborted");
        _logger.LogInformation("LLM system prompt cached: {Tokens} tokens in {Ms} ms", _prompt.PrefixTokens.Length, sw.ElapsedMilliseconds);
    }

    public Tier Name => Tier.Llm;

    /// <summary>The loaded model (for health and reports).</summary>
    public LlamaModel Model => _model;

    public int CachedPrefixTokens => _prompt.PrefixTokens.Length;

    /// <summary>What the cabin model says about its training (null: a general model, prompted with the catalog).</summary>
    public CabinModelInfo? Cabin { get; }

    /// <summary>
    /// Loads the model named in <paramref name="options"/>, logs what it is, and evaluates the system
    /// prompt. Throws <see cref="LlmConfigurationException"/> for invalid options and
    /// <see cref="LlamaException"/> when the engine or the model cannot be loaded.
    /// </summary>
    public static LlmTier Create(LlmOptions options, ActionCatalog catalog, ILogger logger)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new LlmConfigurationException(string.Join("; ", errors));
        LlamaLibrary.UseLibrary(options.NativeLibraryPath);
        LlamaLibrary.EnsureInitialized();
        logger.LogInformation("llama.cpp: {Version} from {Library}; {SystemInfo}", LlamaLibrary.Version, LlamaLibrary.Loaded.LibraryPath, LlamaLibrary.SystemInfo);
        LlmTier? created = null;
        // An abort we asked for makes llama.cpp log "failed to compute graph" errors: expected, so debug.
        LlamaLibrary.SetLogSink((level, line) =>
            logger.Log(level == LlamaLogLevel.Error && created?._context.AbortRequested != true ? LogLevel.Error : LogLevel.Debug,
                "llama.cpp: {Line}", line));

        var sw = Stopwatch.StartNew();
        var model = LlamaModel.Load(options.ModelPath, new LlamaModelLoadOptions { GpuLayers = options.GpuLayers });
        var adapters = new List<LlamaLoraAdapter>();
        LlamaContext? context = null;
        try
        {
            context = model.CreateContext(new LlamaContextOptions { ContextLength = options.ContextLength, Threads = options.Threads });
            logger.LogInformation(
                "LLM model {Path}: architecture {Arch}, {Params:N0} parameters, {FType}, file {FileMiB:F1} MiB, trained context {TrainCtx}, context {Ctx}; loaded in {Ms} ms (llama.cpp {Version})",
                options.ModelPath, model.Architecture, model.ParameterCount, model.FileTypeName,
                new FileInfo(options.ModelPath).Length / 1048576.0, model.TrainContextLength, context.ContextLength,
                sw.ElapsedMilliseconds, LlamaLibrary.Version);
            // Adapters go on before the system prompt is evaluated: its cached KV depends on them.
            foreach (var adapterOptions in options.LoraAdapters)
            {
                var adapter = LlamaLoraAdapter.Load(model, adapterOptions.Path);
                adapters.Add(adapter);
                logger.LogInformation("LLM LoRA adapter {Path} ({Name}): alpha {Alpha}, scale {Scale}, file {FileMiB:F1} MiB",
                    adapterOptions.Path, adapter.Name ?? "unnamed", adapter.Alpha, adapterOptions.Scale,
                    new FileInfo(adapterOptions.Path).Length / 1048576.0);
            }
            if (adapters.Count > 0)
                context.SetLoraAdapters(adapters.Select((a, i) => (a, options.LoraAdapters[i].Scale)).ToArray());
            var cabin = CabinModelInfo.Read(model);
            if (cabin is not null)
            {
                logger.LogInformation("LLM model {Path} is a cabin model ({Format}): short prompt, NONE allowed; trained on {Actions} actions, corpus recipe {Corpus}, training recipe {Recipe}",
                    options.ModelPath, CabinPrompt.Format, cabin.Actions.Count, cabin.CorpusRecipeHash, cabin.TrainingRecipeHash);
                if (cabin.CatalogWarning(catalog) is { } warning)
                    logger.LogWarning("LLM model {Path}: {Warning}", options.ModelPath, warning);
            }
            created = new LlmTier(options, catalog, logger, model, context, adapters, cabin);
            return created;
        }
        catch
        {
            context?.Dispose();
            foreach (var adapter in adapters) adapter.Dispose();
            model.Dispose();
            throw;
        }
    }

    /// <summary>The LoRA adapters the model runs with, in order (empty: the base model).</summary>
    public IReadOnlyList<LlamaLoraAdapter> LoraAdapters => _adapters;

    /// <summary>The scale of each of <see cref="LoraAdapters"/>.</summary>
    public IReadOnlyList<float> LoraScales { get; }

    /// <summary>Each adapter as <c>file.gguf (scale 0.75)</c>, in order: how health and reports name them.</summary>
    public IEnumerable<string> LoraLabels => _adapters.Select((a, i) =>
        string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(a.Path)} (scale {LoraScales[i]})"));

    public async ValueTask<TierResult> UnderstandAsync(Utterance utterance, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (string.IsNullOrWhiteSpace(utterance.Text))
            return new NotUnderstood("empty utterance");
        if (utterance.Text.Length > _options.MaxUtteranceChars)
            return new NotUnderstood($"utterance too long ({utterance.Text.Length} > {_options.MaxUtteranceChars} characters)");
        try
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return new TierFailed("cancelled before decoding started");
        }
        try
        {
            // Decoding blocks a thread for its whole duration: keep it off the caller's, on one that yields to the safety path.
            _decodeThread ??= new DecodeThread(_options.DecodeNice);
            return await _decodeThread.RunAsync(() => Understand(utterance, cancellationToken)).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private TierResult Understand(Utterance utterance, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        _context.ResetAbort();
        using var deadline = new CancellationTokenSource(_options.DecodeDeadlineMs);
        using var onCancel = cancellationToken.Register(_context.RequestAbort);
        using var onDeadline = deadline.Token.Register(_context.RequestAbort);
        if (cancellationToken.IsCancellationRequested) _context.RequestAbort();

        // The deterministic tier's default when the text has no words at all.
        var lang = WireName.Of(utterance.Lang);
        var utteranceTokens = PromptLayout.UtteranceTokens(_model, utterance.Text);
        var suffix = _prompt.SuffixFor(lang);
        var prefix = _prompt.PrefixTokens.Length;
        var evaluated = utteranceTokens.Length + suffix.Length;
        var promptTokens = prefix + evaluated;
        var details = new JsonObject
        {
            ["prompt_tokens"] = promptTokens,
            ["cached_prompt_tokens"] = prefix,
        };
        if (promptTokens + _options.MaxOutputTokens > _context.ContextLength)
            return new NotUnderstood($"utterance too long for the model context ({utteranceTokens.Length} tokens)") { Details = details };

        GenerationResult result;
        try
        {
            // Keep the cached system prompt, forget the previous utterance and answer.
            _context.TruncateSequence(prefix);
            var input = new int[evaluated];
            utteranceTokens.CopyTo(input, 0);
            suffix.CopyTo(input, utteranceTokens.Length);
            if (_context.Decode(input, prefix) == DecodeStatus.Aborted)
                return Aborted(cancellationToken, details, "", sw);
            result = _decoder.Generate(_grammar.Start(utterance.Text), promptTokens, _options.MaxOutputTokens);
        }
        catch (LlamaException ex)
        {
            _logger.LogError("LLM decode failed for utterance {Id}: {Error}", utterance.Id, ex.Message);
            details["error"] = ex.Message;
            return new TierFailed($"model error: {ex.Message}") { Details = details };
        }

        details["raw"] = result.Raw;
        details["generated_tokens"] = result.GeneratedTokens;
        details["sampled_tokens"] = result.SampledTokens;
        details["forced_tokens"] = result.ForcedTokens;
        details["decode_ms"] = Math.Round(sw.Elapsed.TotalMilliseconds, 1);
        switch (result.Stop)
        {
            case GenerationStop.Aborted:
                return Aborted(cancellationToken, details, result.Raw, sw);
            case GenerationStop.TokenLimit:
                details["schema_valid"] = false;
                return new TierFailed($"no complete command within {_options.MaxOutputTokens} tokens") { Details = details, Explanation = result.Raw };
            case GenerationStop.DeadEnd:
                details["schema_valid"] = false;
                return new TierFailed("the grammar allowed no token (vocabulary cannot express the output)") { Details = details, Explanation = result.Raw };
        }

        var problems = CheckCommand(result.Raw, utterance.Text, out var action, out var parameters);
        details["schema_valid"] = problems.Count == 0;
        if (problems.Count > 0)
        {
            details["errors"] = new JsonArray(problems.Select(p => (JsonNode)p).ToArray());
            _logger.LogWarning("LLM output failed validation for utterance {Id}: {Errors}; raw {Raw}", utterance.Id, string.Join("; ", problems), result.Raw);
            return new TierFailed("model output is not a valid command: " + problems[0]) { Details = details, Explanation = result.Raw };
        }

        var actionP = Math.Exp(result.ActionLogProbability);
        if (action == CabinPrompt.NoneAction)
        {
            details["confidence_action"] = Math.Round(actionP, 6);
            return new NotUnderstood("not a command") { Details = details, Explanation = result.Raw };
        }
        var paramP = result.ParameterTokens == 0 ? 1.0 : Math.Exp(result.ParameterLogProbabilitySum / result.ParameterTokens);
        var confidence = Math.Round(Math.Min(actionP, paramP), 4);
        details["confidence_action"] = Math.Round(actionP, 6);
        details["confidence_parameters"] = Math.Round(paramP, 6);
        if (confidence < _options.ConfidenceFloor)
            return new NotUnderstood(string.Create(CultureInfo.InvariantCulture,
                $"low confidence {confidence:0.###} < {_options.ConfidenceFloor:0.###}: please repeat"))
            { Details = details, Explanation = result.Raw };

        return new Understood(action!, parameters!, confidence, utterance.Lang) { Details = details, Explanation = result.Raw };
    }

    private TierFailed Aborted(CancellationToken cancellationToken, JsonObject details, string raw, Stopwatch sw)
    {
        details["raw"] = raw;
        details["schema_valid"] = false;
        details["decode_ms"] = Math.Round(sw.Elapsed.TotalMilliseconds, 1);
        var reason = cancellationToken.IsCancellationRequested
            ? "cancelled"
            : $"decode deadline of {_options.DecodeDeadlineMs} ms exceeded";
        return new TierFailed(reason) { Details = details, Explanation = raw };
    }

    /// <summary>
    /// The output checked again, independently of the grammar: JSON, the catalog schema, and every
    /// span value a substring of the utterance.
    /// </summary>
    private List<string> CheckCommand(string raw, string utterance, out string? action, out JsonObject? parameters)
    {
        action = null;
        parameters = null;
        JsonObject obj;
        try
        {
            if (JsonNode.Parse(raw) is not JsonObject o) return ["output is not a JSON object"];
            obj = o;
        }
        catch (JsonException ex)
        {
            return [$"output is not JSON: {ex.Message}"];
        }
        if (obj.Count != 2 || obj["action"] is not JsonValue a || !a.TryGetValue<string>(out var name) || obj["parameters"] is not JsonObject p)
            return ["output must be exactly {\"action\": string, \"parameters\": object}"];
        if (_grammar.AllowsNone && name == CabinPrompt.NoneAction)
        {
            if (p.Count > 0) return ["NONE takes no parameters"];
            action = name;
            parameters = [];
            return [];
        }
        var envelope = new JsonObject
        {
            ["action"] = name,
            ["parameters"] = p.DeepClone(),
            ["response"] = "",
            ["confidence"] = 1.0,
            ["requires_confirmation"] = false,
        };
        var problems = _schema.Validate(envelope.ToJsonString()).ToList();
        if (problems.Count == 0 && _catalog.TryGet(name, out var definition))
        {
            foreach (var def in definition.Parameters.Where(d => d.Span))
                if (p[def.Name] is JsonValue v && v.TryGetValue<string>(out var s) && !utterance.Contains(s, StringComparison.Ordinal))
                    problems.Add($"parameters.{def.Name} '{s}' is not part of the utterance");
        }
        if (problems.Count == 0)
        {
            action = name;
            parameters = (JsonObject)p.DeepClone();
        }
        return problems;
    }

    /// <summary>How <see cref="PromptLogits"/> evaluates the prompt (test hook).</summary>
    internal enum PromptEvaluation
    {
        /// <summary>As in production: the cached system prompt, then the utterance.</summary>
        CachedPrefix,
        /// <summary>From an empty KV cache: system prompt, then the utterance (same batches, nothing reused).</summary>
        EmptyCache,
        /// <summary>From an empty KV cache, system prompt and utterance in one sequence of batches.</summary>
        OneSequence,
    }

    /// <summary>Test hook: the logits after the prompt for <paramref name="utterance"/>; leaves the system prompt cached.</summary>
    internal float[] PromptLogits(string utterance, PromptEvaluation mode)
    {
        _gate.Wait();
        try
        {
            var tokens = PromptLayout.UtteranceTokens(_model, utterance).Concat(_prompt.SuffixFor(WireName.Of(Languages.Of(utterance, Language.Zh)))).ToArray();
            var prefix = _prompt.PrefixTokens;
            float[] logits;
            switch (mode)
            {
                case PromptEvaluation.CachedPrefix:
                    _context.TruncateSequence(prefix.Length);
                    _context.Decode(tokens, prefix.Length);
                    return _context.LastLogits.ToArray();
                case PromptEvaluation.EmptyCache:
                    _context.ClearMemory();
                    _context.Decode(prefix, 0);
                    _context.Decode(tokens, prefix.Length);
                    logits = _context.LastLogits.ToArray();
                    break;
                default:
                    _context.ClearMemory();
                    _context.Decode(prefix.Concat(tokens).ToArray(), 0);
                    logits = _context.LastLogits.ToArray();
                    break;
            }
            // Restore the invariant: the KV cache holds exactly the system prompt.
            _context.ClearMemory();
            _context.Decode(prefix, 0);
            return logits;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _context.RequestAbort();
        _gate.Wait();
        _decodeThread?.Dispose();
        _decoder.Dispose();
        _context.Dispose();
        foreach (var adapter in _adapters) adapter.Dispose();
        _model.Dispose();
        _gate.Dispose();
    }
}

public sealed class LlmConfigurationException(string message) : Exception(message);
