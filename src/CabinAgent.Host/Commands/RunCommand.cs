using System.CommandLine;
using CabinAgent.Host.Composition;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CabinAgent.Host.Commands;

/// <summary><c>cabin-agent run</c>: the daemon (Generic Host; systemd notify and watchdog when run by systemd).</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "Configuration JSON file (over the shipped defaults)" };
        var broker = new Option<string?>("--broker") { Description = "mqtt://HOST:PORT (overrides Mqtt:Broker)" };
        var command = new Command("run", "Run the agent daemon") { config, broker };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(config), parse.GetValue(broker), ct));
        return command;
    }

    private static async Task<int> RunAsync(string? configFile, string? brokerUrl, CancellationToken ct)
    {
        var overrides = new Dictionary<string, string?>();
        if (brokerUrl is not null) overrides["Mqtt:Broker"] = brokerUrl;
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddConfiguration(AgentComposition.BuildConfiguration(configFile, overrides));
        // systemd's journal formats log lines itself; sd_notify (READY, STATUS, WATCHDOG, STOPPING) is SystemdService's.
        if (Environment.GetEnvironmentVariable("JOURNAL_STREAM") is { Length: > 0 })
            builder.Logging.AddSystemdConsole(o => o.IncludeScopes = true);
        // Every log line of an utterance's path carries its id (the pipeline opens a scope per utterance).
        builder.Logging.AddSimpleConsole(o => { o.IncludeScopes = true; o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleFormatterOptions>(
            Microsoft.Extensions.Logging.Console.ConsoleFormatterNames.Systemd, o => o.IncludeScopes = true);
        builder.Services.AddCabinAgent(builder.Configuration);
        builder.Services.AddCabinAgentDaemon();
        using var host = builder.Build();
        if (!CliSupport.TryStart(host.Services, Console.Error))
            return CliSupport.ExitUsage;
        try
        {
            await host.RunAsync(ct);
        }
        catch (OptionsValidationException ex)
        {
            foreach (var failure in ex.Failures)
                await Console.Error.WriteLineAsync($"configuration error: {failure}");
            return CliSupport.ExitUsage;
        }
        return CliSupport.ExitOk;
    }
}
