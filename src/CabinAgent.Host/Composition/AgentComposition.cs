using CabinAgent.Actions;
using CabinAgent.Host.Daemon;
using CabinAgent.Llm;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Speech;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CabinAgent.Host.Composition;

/// <summary>
/// The whole agent is put together here, and only here: read this file to see the flow. Every verb that runs the
/// agent — the daemon (<c>run</c>), <c>replay</c>, <c>eval</c> and the benches — builds it with <see cref="AddCabinAgent"/>
/// and drives it through <see cref="AgentRuntime"/>, so what is measured and replayed is what runs in the car.
/// </summary>
public static class AgentComposition
{
    /// <summary>The key of the <see cref="RejectedInputLog"/> for acknowledgements the tracker ignored.</summary>
    public const string RejectedAcks = "ack";

    /// <summary>
    /// Builds configuration: shipped defaults, then an optional file, then <c>CABIN_</c> environment variables, then
    /// overrides. The safety rules (<c>safety.json</c>) are the <c>Safety</c> section laid under all of them
    /// (<see cref="SafetyOptionsFactory"/>), so the same environment variables and files override those too.
    /// </summary>
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

    /// <summary>
    /// Everything the agent is: options (each section bound once and validated one way, at start-up), the catalog and
    /// topics, the understanding tiers, the safety layer, the pipeline, messaging (connection, outbox, output, intake),
    /// speech, and the <see cref="AgentRuntime"/> that starts and stops them. The daemon adds its hosted services with
    /// <see cref="AddCabinAgentDaemon"/>.
    /// </summary>
    public static IServiceCollection AddCabinAgent(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(configuration);
        AddOptions(services, configuration);

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => ActionCatalog.Load(Options<AgentOptions>(sp).ResolveConfigPath("actions.json")));
        services.AddSingleton(sp => CommandSchema.FromCatalog(sp.GetRequiredService<ActionCatalog>()));
        services.AddSingleton(sp => new TopicMap(sp.GetRequiredService<ActionCatalog>(), Options<MqttOptions>(sp).VehicleId));

        // Understanding tiers, in the order they are tried.
        services.AddSingleton(sp => new UnderstandingTiers(
            Options<AgentOptions>(sp), Options<LlmOptions>(sp),
            sp.GetRequiredService<ActionCatalog>(), sp.GetRequiredService<ILoggerFactory>()));

        // The safety layer: rules from the Safety options and the emergency phrases, alerts to MQTT through its own dispatcher.
        services.AddSingleton(new SafetyClock(TimeProvider.System));
        services.AddSingleton<SafetyObserver>();
        services.AddSingleton(sp => EmergencyDetector.LoadConfig(Options<AgentOptions>(sp).ResolveConfigPath()));
        services.AddSingleton<SafetyLayerFactory>();
        services.AddSingleton<IAlertSink>(sp => new MqttSafetySink(sp.GetRequiredService<MqttConnection>(), sp.GetRequiredService<TopicMap>()));
        services.AddSingleton(sp => SafetyModule.Create(
            Options<SafetyOptions>(sp),
            sp.GetRequiredService<EmergencyDetector>(),
            sp.GetRequiredService<ActionCatalog>(),
            sp.GetRequiredService<IAlertSink>(),
            sp.GetRequiredService<SafetyClock>().Time,
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<SafetyObserver>().Observe,
            sp.GetRequiredService<SafetyClock>().Latency));
        services.AddSingleton<ISafetyLayer>(sp => sp.GetRequiredService<SafetyModule>().Layer);

        // The pipeline: the daemon's one instance, and the same recipe around another safety layer for eval's
        // per-case layers.
        services.AddSingleton<PipelineMetrics>();
        services.AddSingleton<Func<ISafetyLayer, UtterancePipeline>>(sp => safety => new UtterancePipeline(
            sp.GetRequiredService<ActionCatalog>(),
            sp.GetRequiredService<CommandSchema>(),
            sp.GetRequiredService<UnderstandingTiers>().Tiers,
            safety,
            sp.GetRequiredService<IAgentOutput>(),
            Options<PipelineOptions>(sp),
            sp.GetRequiredService<ILogger<UtterancePipeline>>(),
            sp.GetRequiredService<SafetyClock>().Time,
            sp.GetRequiredService<PipelineMetrics>()));
        services.AddSingleton(sp => sp.GetRequiredService<Func<ISafetyLayer, UtterancePipeline>>()(sp.GetRequiredService<ISafetyLayer>()));

        AddMessaging(services, configuration);
        AddIntake(services);

        // The speech front: registered always, resolved only when a whisper model is configured and present.
        services.AddCabinSpeech();
        services.AddSingleton(sp => new SpeechStatus(Options<SpeechOptions>(sp).ModelPath));
        services.AddSingleton<IHealthContributor>(sp => sp.GetRequiredService<SpeechStatus>());
        services.AddSingleton<IHealthContributor>(sp => sp.GetRequiredService<UnderstandingTiers>());

        services.AddSingleton<AgentRuntime>();
        return services;
    }

    /// <summary>The daemon's hosted services around the runtime: the agent itself, the microphone, /healthz and systemd.</summary>
    public static IServiceCollection AddCabinAgentDaemon(this IServiceCollection services)
    {
        services.AddSingleton<DaemonReadiness>();
        services.AddHostedService<AgentRuntimeService>();
        services.AddHostedService<SpeechService>();
        services.AddHostedService<HealthEndpoint>();
        services.AddHostedService<SystemdService>();
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

    public static T Options<T>(IServiceProvider sp) where T : class => sp.GetRequiredService<IOptions<T>>().Value;

    /// <summary>
    /// Every section bound once as <see cref="IOptions{T}"/>, checked by one <see cref="IValidateOptions{T}"/> each and
    /// validated at start-up (<c>ValidateOnStart</c>): a bad value stops the agent with a message naming its key.
    /// </summary>
    private static void AddOptions(IServiceCollection services, IConfiguration configuration)
    {
        AddSection(services, configuration, AgentOptions.Section, new SectionValidator<AgentOptions>(AgentOptions.Section));
        // The pipeline's settings live in the Agent section too: one key each, no copy.
        AddSection(services, configuration, AgentOptions.Section, new PipelineOptionsValidator());
        AddSection(services, configuration, MqttOptions.Section, new MqttOptionsValidator(configuration));
        AddSection(services, configuration, LlmOptions.SectionName, new LlmOptionsValidator());
        AddSection(services, configuration, ObservabilityOptions.Section, new SectionValidator<ObservabilityOptions>(ObservabilityOptions.Section));
        AddSection(services, configuration, SpeechOptions.SectionName, new SpeechOptionsValidator(configuration));
        // The audio topic is the vehicle's like every other topic, not a setting of its own.
        services.AddOptions<SpeechOptions>().PostConfigure<TopicMap>((speech, topics) => speech.Input.Mqtt.Topic = topics.AudioIn);
        // safety.json keeps its snake_case names and strict reader; the factory lays the Safety section over it.
        services.AddSingleton<IOptionsFactory<SafetyOptions>, SafetyOptionsFactory>();
        services.AddOptions<SafetyOptions>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<SafetyOptions>>(sp => new SafetyOptionsValidator(sp.GetRequiredService<ActionCatalog>()));
    }

    private static void AddSection<T>(IServiceCollection services, IConfiguration configuration, string section, IValidateOptions<T> validator)
        where T : class
    {
        services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.AddSingleton(validator);
    }

    /// <summary>The audio connection's service key (<see cref="MqttConnectionRole.Audio"/>).</summary>
    public const string AudioConnection = "audio";

    private static void AddMessaging(IServiceCollection services, IConfiguration configuration)
    {
        // The agent's session: everything safety-relevant.
        services.AddSingleton(sp => new MqttConnection(Options<MqttOptions>(sp), sp.GetRequiredService<TopicMap>(),
            sp.GetRequiredService<ILogger<MqttConnection>>()));
        // Speech's MQTT audio input has a connection of its own (docs/mqtt.md, "Two connections"), and only when it is
        // configured: without it no -audio client ever connects.
        if (string.Equals(configuration[$"{SpeechOptions.SectionName}:Input:Kind"], "mqtt", StringComparison.Ordinal))
        {
            services.AddKeyedSingleton(AudioConnection, (sp, _) => new MqttConnection(Options<MqttOptions>(sp), sp.GetRequiredService<TopicMap>(),
                sp.GetRequiredService<ILogger<MqttConnection>>(), MqttConnectionRole.Audio));
            services.AddSingleton<CabinAgent.Speech.Audio.IAudioFeed>(sp => new MqttAudioFeed(
                sp.GetRequiredKeyedService<MqttConnection>(AudioConnection), Options<MqttOptions>(sp),
                Options<SpeechOptions>(sp).Input.Mqtt.Topic));
        }
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
    }

    /// <summary>The transcript lane: journal, bounded queue and intake (docs/mqtt.md, "Transcripts in").</summary>
    private static void AddIntake(IServiceCollection services)
    {
        services.AddSingleton<UtteranceQueue>();
        services.AddSingleton(sp =>
        {
            var mqtt = Options<MqttOptions>(sp);
            // Nothing older than the broker's session can be redelivered; ten minutes at least, for a clean-session setup.
            var retention = TimeSpan.FromSeconds(Math.Max(600, mqtt.SessionExpirySeconds));
            return new IntakeJournal(mqtt.EffectiveIntakeJournalPath, retention, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton(sp =>
        {
            var detector = sp.GetRequiredService<EmergencyDetector>();
            return new TranscriptIntake(sp.GetRequiredService<IntakeJournal>(), sp.GetRequiredService<UtteranceQueue>(),
                text => detector.Detect(text) is not null, sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<TranscriptIntake>>());
        });
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
