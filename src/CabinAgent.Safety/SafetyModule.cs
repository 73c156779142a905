using CabinAgent.Actions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.Safety;

/// <summary>The safety layer as the Host wires it: the layer plus the dispatcher that feeds the sink.</summary>
/// <param name="Layer">Register as <see cref="ISafetyLayer"/>; the MQTT telemetry subscriber calls
/// <see cref="SafetyLayer.IngestTelemetry"/>.</param>
/// <param name="Dispatcher">Run <see cref="ChannelAlertDispatcher.RunAsync"/> and <see cref="SafetyLayer.RunTimerAsync"/>
/// as background tasks for the life of the agent.</param>
public sealed record SafetyModule(SafetyLayer Layer, ChannelAlertDispatcher Dispatcher)
{
    public const string OptionsFile = "safety.json";
    public const string PhrasesFile = "emergency-phrases.json";

    /// <summary>
    /// Loads <c>safety.json</c>, <c>emergency-phrases.json</c> and <c>emergency/situations.json</c> from <paramref name="configDirectory"/> (validated:
    /// throws <see cref="SafetyConfigException"/> naming every problem) and builds the layer and its dispatcher.
    /// </summary>
    /// <param name="observe">Sees every alert and spoken notice the layer posts, in order (replay prints them).</param>
    /// <param name="latencyClock">What alert latency is measured on once posted (see <see cref="ChannelAlertDispatcher"/>);
    /// by default <paramref name="clock"/>.</param>
    public static SafetyModule Create(string configDirectory, ActionCatalog catalog, IAlertSink sink, TimeProvider clock,
        ILoggerFactory? loggers = null, Action<object>? observe = null, TimeProvider? latencyClock = null) =>
        Create(SafetyOptions.Load(Path.Combine(configDirectory, OptionsFile)), EmergencyDetector.LoadConfig(configDirectory), catalog, sink,
            clock, loggers, observe, latencyClock);

    /// <summary>Builds the layer and its dispatcher from options the caller loaded and validated (the Host's composition root).</summary>
    public static SafetyModule Create(SafetyOptions options, EmergencyDetector detector, ActionCatalog catalog, IAlertSink sink,
        TimeProvider clock, ILoggerFactory? loggers = null, Action<object>? observe = null, TimeProvider? latencyClock = null)
    {
        loggers ??= NullLoggerFactory.Instance;
        var log = loggers.CreateLogger("CabinAgent.Safety");
        var counters = new SafetyCounters();
        var budgets = new LatencyBudgets(options, counters, log);
        var dispatcher = new ChannelAlertDispatcher(sink, options, budgets, counters, clock, log, latencyClock);
        IAlertOutbox outbox = observe is null ? dispatcher : new ObservedOutbox(dispatcher, observe);
        var layer = new SafetyLayer(options, detector, catalog, outbox, clock, counters, log, budgets);
        return new SafetyModule(layer, dispatcher);
    }
}

/// <summary>Passes alerts and notices on, and lets an observer see each one the outbox took.</summary>
/// <remarks>Observed after the post succeeds: a refused post is retried by the rule, and must not be seen twice.</remarks>
internal sealed class ObservedOutbox(IAlertOutbox inner, Action<object> observe) : IAlertOutbox
{
    public bool TryPost(SafetyAlert alert)
    {
        if (!inner.TryPost(alert)) return false;
        observe(alert);
        return true;
    }

    public bool TryPost(SpokenNotice notice)
    {
        if (!inner.TryPost(notice)) return false;
        observe(notice);
        return true;
    }
}
