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
            _ = services.GetRequiredService<IOptions<AgentOptions>>().Value;
            _ = services.GetRequiredService<IOptions<Messaging.MqttOptions>>().Value;
            _ = services.GetRequiredService<Pipeline.UtterancePipeline>();
            return true;
        }
        catch (OptionsValidationException ex)
        {
            foreach (var failure in ex.Failures)
                error.WriteLine($"configuration error: {failure}");
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
}
