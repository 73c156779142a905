using CabinAgent.Actions;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Understanding;
using CabinAgent.Understanding.Deterministic;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CabinAgent.Host.Composition;

/// <summary>
/// The whole agent is put together here, and only here: read this file to see the flow.
/// The daemon (<c>run</c>), <c>replay</c>, <c>bench</c> and <c>eval</c> all use the same composition,
/// so what is measured is what runs in the car.
/// </summary>
public static class AgentComposition
{
    /// <summary>Builds configuration: shipped defaults, then an optional file, then <c>CABIN_</c> environment variables, then overrides.</summary>
    public static IConfiguration BuildConfiguration(string? configFile = null, IDictionary<string, string?>? overrides = null)
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "config", "cabin-agent.json"), optional: true);
        if (configFile is not null)
        {
            if (!File.Exists(configFile))
                throw new FileNotFoundException($"configuration file not found: {configFile}");
            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false);
        }
        builder.AddEnvironmentVariables("CABIN_");
        if (overrides is not null) builder.AddInMemoryCollection(overrides);
        return builder.Build();
    }

    public static IServiceCollection AddCabinAgent(this IServiceCollection services, IConfiguration configuration)
    {
        AddValidatedOptions<AgentOptions>(services, configuration, AgentOptions.Section);
        AddValidatedOptions<MqttOptions>(services, configuration, MqttOptions.Section);
        services.AddSingleton<IValidateOptions<MqttOptions>>(new DelegateValidator<MqttOptions>(o => o.CheckFiles()));

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => ActionCatalog.Load(Options<AgentOptions>(sp).ResolveConfigPath("actions.json")));
        services.AddSingleton(sp => CommandSchema.FromCatalog(sp.GetRequiredService<ActionCatalog>()));
        services.AddSingleton(sp => new TopicMap(sp.GetRequiredService<ActionCatalog>(), Options<MqttOptions>(sp).VehicleId));

        // Understanding tiers, in the order they are tried.
        AddUnderstandingTiers(services);

        services.AddSingleton<ISafetyLayer>(sp => CreateSafetyLayer(sp));

        services.AddSingleton<PipelineMetrics>();
        services.AddSingleton(sp =>
        {
            var agent = Options<AgentOptions>(sp);
            return new PipelineOptions
            {
                Tiers = Enum.Parse<TierMode>(agent.Tiers, ignoreCase: true),
                DefaultLang = agent.DefaultLang,
                LogTranscripts = agent.LogTranscripts,
            };
        });
        services.AddSingleton(sp => new UtterancePipeline(
            sp.GetRequiredService<ActionCatalog>(),
            sp.GetRequiredService<CommandSchema>(),
            sp.GetServices<IUnderstandingTier>(),
            sp.GetRequiredService<ISafetyLayer>(),
            sp.GetRequiredService<IAgentOutput>(),
            sp.GetRequiredService<PipelineOptions>(),
            sp.GetRequiredService<ILogger<UtterancePipeline>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<PipelineMetrics>()));

        services.AddSingleton(sp => new MqttConnection(Options<MqttOptions>(sp), sp.GetRequiredService<TopicMap>(),
            sp.GetRequiredService<ILogger<MqttConnection>>()));
        services.AddSingleton(sp => new CommandOutbox(Options<MqttOptions>(sp).EffectiveOutboxPath));
        services.AddSingleton(sp =>
        {
            var mqtt = Options<MqttOptions>(sp);
            var acks = mqtt.AckTimeoutMs > 0 ? new AckTracker(TimeSpan.FromMilliseconds(mqtt.AckTimeoutMs), sp.GetRequiredService<TimeProvider>()) : null;
            var output = new MqttAgentOutput(sp.GetRequiredService<MqttConnection>(), sp.GetRequiredService<TopicMap>(), mqtt,
                sp.GetRequiredService<CommandOutbox>(), acks, sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<MqttAgentOutput>>());
            var catalog = sp.GetRequiredService<ActionCatalog>();
            // A command that outlived the outbox's TTL is not carried out late; the driver hears that instead.
            output.Dropped += entry => output.SayAsync(
                new SpokenMessage(entry.UtteranceId, "error", entry.Lang, catalog.Message("dropped", entry.Lang)), CancellationToken.None);
            return output;
        });
        services.AddSingleton<IAgentOutput>(sp => sp.GetRequiredService<MqttAgentOutput>());
        return services;
    }

    /// <summary>Replaces the MQTT output with one that publishes nothing (<c>--dry-run</c>).</summary>
    public static IServiceCollection UseDryRunOutput(this IServiceCollection services)
    {
        services.AddSingleton<IAgentOutput>(sp => new DryRunOutput(sp.GetRequiredService<TopicMap>()));
        return services;
    }

    private static void AddUnderstandingTiers(IServiceCollection services)
    {
        // Tried in registration order: the deterministic fast path first.
        services.AddSingleton<IUnderstandingTier>(sp => DeterministicTier.Load(
            Options<AgentOptions>(sp).ResolveConfigPath("intents"), sp.GetRequiredService<ActionCatalog>()));
    }

    private static ISafetyLayer CreateSafetyLayer(IServiceProvider sp) => new UngatedSafetyLayer();

    /// <summary>Temporary until the safety layer lands on main; removed at that merge.</summary>
    private sealed class UngatedSafetyLayer : ISafetyLayer
    {
        public PreCheckResult PreCheck(string utteranceId, string text, string? lang, DateTimeOffset now) => PreCheckResult.Continue;

        public GateDecision Gate(VehicleCommand command, string utteranceId, string lang, DateTimeOffset now) => new GateAllow(command, []);
    }

    public static T Options<T>(IServiceProvider sp) where T : class => sp.GetRequiredService<IOptions<T>>().Value;

    private static void AddValidatedOptions<T>(IServiceCollection services, IConfiguration configuration, string section) where T : class
    {
        services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<T>>(new SectionValidator<T>(section));
    }
}
