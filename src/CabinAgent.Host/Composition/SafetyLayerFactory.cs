using CabinAgent.Actions;
using CabinAgent.Safety;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CabinAgent.Host.Composition;

/// <summary>
/// Fresh safety layers from the agent's one set of safety options, emergency rules and catalog, for the runs that need
/// layers of their own: eval (one per case, so no pending confirmation or alert hold leaks into the next case) and the
/// safety bench (one per sample, so a re-alert interval never swallows the next sample).
/// </summary>
public sealed class SafetyLayerFactory(IOptions<SafetyOptions> options, EmergencyDetector detector, ActionCatalog catalog)
{
    public SafetyOptions Options => options.Value;

    public EmergencyDetector Detector => detector;

    public SafetyLayer Create(IAlertOutbox outbox, TimeProvider clock, SafetyCounters? counters = null, ILogger? log = null,
        LatencyBudgets? budgets = null) =>
        new(options.Value, detector, catalog, outbox, clock, counters, log, budgets);
}
