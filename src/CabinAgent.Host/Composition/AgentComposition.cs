using CabinAgent.Actions;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Llm;
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
    /// <summary>The key of the <see cref="RejectedInputLog"/> for acknowledgements the tracker ignored.</summary>
    public const string RejectedAcks = "ack";

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
        // The binder skips an empty value and leaves the default in place: an empty VehicleId would silently become
        // "demo" and the agent would act on another vehicle's topics.
        services.AddSingleton<IValidateOptions<MqttOptions>>(new DelegateValidator<MqttOptions>(_ =>
            configuration.GetSection(MqttOptions.Section).GetChildren().Any(c => c.Key == "VehicleId" && string.IsNullOrEmpty(c.Value))
                ? [MqttOptions.EmptyVehicleIdError]
                : []));

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => ActionCatalog.Load(Options<AgentOptions>(sp).ResolveConfigPath("actions.json")));
        services.AddSingleton(sp => CommandSchema.FromCatalog(sp.GetRequiredService<ActionCatalog>()));
        services.AddSingleton(sp => new TopicMap(sp.GetRequiredService<ActionCatalog>(), Options<MqttOptions>(sp).VehicleId));

        // Understanding tiers, in the order they are tried.
        AddUnderstandingTiers(services, configuration);

        // The safety layer: rules from safety.json and emergency-phrases.json, alerts to MQTT through its own dispatcher.
        services.AddSingleton(new SafetyClock(TimeProvider.System));
        services.AddSingleton<SafetyObserver>();
        services.AddSingleton<IAlertSink>(sp => new MqttSafetySink(sp.GetRequiredService<MqttConnection>(), sp.GetRequiredService<TopicMap>()));
        services.AddSingleton(sp => SafetyModule.Create(
            Options<AgentOptions>(sp).ResolveConfigPath(),
            sp.GetRequiredService<ActionCatalog>(),
            sp.GetRequiredService<IAlertSink>(),
            sp.GetRequiredService<SafetyClock>().Time,
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<SafetyObserver>().Observe,
            sp.GetRequiredService<SafetyClock>().Latency));
        services.AddSingleton<ISafetyLayer>(sp => sp.GetRequiredService<SafetyModule>().Layer);

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
            sp.GetRequiredService<UnderstandingTiers>().Tiers,
            sp.GetRequiredService<ISafetyLayer>(),
            sp.GetRequiredService<IAgentOutput>(),
            sp.GetRequiredService<PipelineOptions>(),
            sp.GetRequiredService<ILogger<UtterancePipeline>>(),
            sp.GetRequiredService<SafetyClock>().Time,
            sp.GetRequiredService<PipelineMetrics>()));

        services.AddSingleton(sp => new MqttConnection(Options<MqttOptions>(sp), sp.GetRequiredService<TopicMap>(),
            sp.GetRequiredService<ILogger<MqttConnection>>()));
        // Speech's MQTT audio input (Speech:Input:Kind mqtt) comes over that same connection.
        services.AddSingleton<CabinAgent.Speech.Audio.IAudioFeed>(sp => new MqttAudioFeed(sp.GetRequiredService<MqttConnection>(),
            Options<MqttOptions>(sp), Options<CabinAgent.Speech.SpeechOptions>(sp).Input.Mqtt.Topic));
        services.AddSingleton(sp => new CommandOutbox(Options<MqttOptions>(sp).EffectiveOutboxPath));
        services.AddSingleton(sp => new DeadLetterFile(DeadLetterFile.BesideOutbox(Options<MqttOptions>(sp).EffectiveOutboxPath)));
        // Rejected bus input is logged rate-limited and counted; every RejectedInputLog registered shows in /metrics.
        services.AddKeyedSingleton(RejectedAcks, (sp, _) => new RejectedInputLog(RejectedAcks,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<AckTracker>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => sp.GetRequiredKeyedService<RejectedInputLog>(RejectedAcks));
        services.AddSingleton(sp =>
        {
            var mqtt = Options<MqttOptions>(sp);
            var acks = mqtt.AckTimeoutMs > 0
                ? new AckTracker(TimeSpan.FromMilliseconds(mqtt.AckTimeoutMs), sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredKeyedService<RejectedInputLog>(RejectedAcks))
                : null;
            var output = new MqttAgentOutput(sp.GetRequiredService<MqttConnection>(), sp.GetRequiredService<TopicMap>(), mqtt,
                sp.GetRequiredService<CommandOutbox>(), sp.GetRequiredService<DeadLetterFile>(), acks,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<MqttAgentOutput>>());
            var catalog = sp.GetRequiredService<ActionCatalog>();
            // A queued command that is not carried out (too old, or the broker will not take it): the driver hears so.
            output.Dropped += entry => output.SayAsync(
                new SpokenMessage(entry.UtteranceId, "error", entry.Lang, catalog.Message("dropped", entry.Lang)), CancellationToken.None);
            output.Undeliverable += entry => output.SayAsync(
                new SpokenMessage(entry.UtteranceId, "error", entry.Lang, catalog.Message("action_failed", entry.Lang)), CancellationToken.None);
            return output;
        });
        services.AddSingleton<IAgentOutput>(sp => sp.GetRequiredService<MqttAgentOutput>());
        return services;
    }

    /// <summary>
    /// Drives the safety layer (and what the pipeline tells it) from a replay clock instead of the wall clock,
    /// so a recorded trace gives the same alerts and decisions every time.
    /// </summary>
    public static IServiceCollection UseReplayClock(this IServiceCollection services, SafetyReplayClock clock)
    {
        // Latency stays on the wall clock: the trace's time jumps ahead while an alert waits for the sink.
        services.AddSingleton(new SafetyClock(clock, TimeProvider.System));
        return services;
    }

    /// <summary>Replaces the MQTT output with one that publishes nothing (<c>--dry-run</c>).</summary>
    public static IServiceCollection UseDryRunOutput(this IServiceCollection services)
    {
        services.AddSingleton<IAgentOutput>(sp => new DryRunOutput(sp.GetRequiredService<TopicMap>()));
        services.AddSingleton<IAlertSink>(new DryRunAlertSink());
        return services;
    }

    private static void AddUnderstandingTiers(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LlmOptions>().Bind(configuration.GetSection(LlmOptions.SectionName));
        services.AddSingleton(sp => new UnderstandingTiers(
            Options<AgentOptions>(sp),
            Options<LlmOptions>(sp),
            configuration.GetValue<bool>("Llm:Required"),
            sp.GetRequiredService<ActionCatalog>(),
            sp.GetRequiredService<ILoggerFactory>()));
    }

    public static T Options<T>(IServiceProvider sp) where T : class => sp.GetRequiredService<IOptions<T>>().Value;

    private static void AddValidatedOptions<T>(IServiceCollection services, IConfiguration configuration, string section) where T : class
    {
        services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<T>>(new SectionValidator<T>(section));
    }
}

/// <summary>
/// The clock the safety layer and the pipeline's safety calls run on: the wall clock, or a replay's; and the one
/// alert latency is measured on once an alert is posted (null: the same).
/// </summary>
public sealed record SafetyClock(TimeProvider Time, TimeProvider? Latency = null);

/// <summary>Keeps what the safety layer posted (alerts, spoken notices) until someone takes it, e.g. replay's output.</summary>
public sealed class SafetyObserver
{
    private readonly List<object> _seen = [];

    public bool Recording { get; set; }

    public void Observe(object item)
    {
        if (!Recording) return;
        lock (_seen) _seen.Add(item);
    }

    public IReadOnlyList<object> Take()
    {
        lock (_seen)
        {
            var items = _seen.ToList();
            _seen.Clear();
            return items;
        }
    }
}
