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
                                   or Safety.SafetyConfigException or IOException or InvalidDataException or InvalidOperationException)
        {
            error.WriteLine($"start-up error: {ex.Message}");
            return false;
        }
    }
}
