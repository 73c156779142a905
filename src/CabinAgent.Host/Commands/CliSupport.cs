using System.CommandLine;
using CabinAgent.Host.Composition;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CabinAgent.Host.Commands;

/// <summary>What every one-shot command (replay, bench, eval) needs: the agent's composition with logs on stderr.</summary>
internal static class CliSupport
{
    public const int ExitOk = 0;
    public const int ExitUsage = 2;
    public const int ExitBrokerUnreachable = 3;

    /// <summary>Builds the composed agent; stdout stays free for results, logs go to stderr.</summary>
    public static ServiceProvider BuildAgent(IConfiguration configuration, bool verbose, Action<IServiceCollection>? customize = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
            .AddFilter(level => level >= (verbose ? LogLevel.Information : LogLevel.Warning))
            .Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
        services.AddCabinAgent(configuration);
        customize?.Invoke(services);
        return services.BuildServiceProvider();
    }

    /// <summary>
    /// Validates options and loads the catalog, templates and models now, so a bad value or file is reported
    /// before any work starts, naming the key or file.
    /// </summary>
    public static bool TryStart(IServiceProvider services, TextWriter error)
    {
        try
        {
            // Every section registered with ValidateOnStart, then the objects that load files and models.
            services.GetService<IStartupValidator>()?.Validate();
            _ = services.GetRequiredService<Pipeline.UtterancePipeline>();
            return true;
        }
        catch (OptionsValidationException ex)
        {
            PrintFailures([ex], error);
            return false;
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OptionsValidationException))
        {
            PrintFailures(ex.InnerExceptions.Cast<OptionsValidationException>(), error);
            return false;
        }
        catch (Exception ex) when (ex is Actions.CatalogException or Understanding.Deterministic.IntentDataException
                                   or Safety.SafetyConfigException or IOException or InvalidDataException or InvalidOperationException
                                   or Llm.Native.LlamaException or Llm.LlmConfigurationException)
        {
            error.WriteLine($"start-up error: {ex.Message}");
            return false;
        }
    }

    /// <summary>Each failure once: a section whose options need another's (the safety rules need Agent:DefaultLang) repeats its failure.</summary>
    private static void PrintFailures(IEnumerable<OptionsValidationException> failed, TextWriter error)
    {
        foreach (var failure in failed.SelectMany(ex => ex.Failures).Distinct(StringComparer.Ordinal))
            error.WriteLine($"configuration error: {failure}");
    }

    /// <summary><c>--lora FILE[:SCALE]</c>, repeatable: LoRA adapters for the LLM tier's model.</summary>
    public static Option<string[]> LoraOption() => new("--lora")
    {
        Description = "LoRA adapter for the LLM model, FILE or FILE:SCALE (repeatable; takes the places of Llm:LoraAdapters:0, :1, ...)",
    };

    /// <summary>
    /// Turns <c>--lora</c> values into <c>Llm:LoraAdapters:N:Path/Scale</c> overrides. A trailing <c>:number</c>
    /// is the scale (paths may contain colons); the files themselves are checked by the options validation.
    /// </summary>
    public static void AddLoraOverrides(IReadOnlyList<string> values, IDictionary<string, string?> overrides)
    {
        for (var i = 0; i < values.Count; i++)
        {
            var value = values[i];
            var colon = value.LastIndexOf(':');
            var scale = "1";
            if (colon > 0 && float.TryParse(value[(colon + 1)..], System.Globalization.NumberStyles.Float,
                    System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                scale = value[(colon + 1)..];
                value = value[..colon];
            }
            overrides[$"Llm:LoraAdapters:{i}:Path"] = Path.GetFullPath(value);
            overrides[$"Llm:LoraAdapters:{i}:Scale"] = scale;
        }
    }

    /// <summary>A folder for one command's state files (outbox, journal), removed when the command is done.</summary>
    public sealed class TemporaryFolder(string prefix) : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }
}
