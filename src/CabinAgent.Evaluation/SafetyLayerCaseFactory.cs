using System.Text.Json.Nodes;
using CabinAgent.Safety;

namespace CabinAgent.Evaluation;

/// <summary>
/// A fresh <see cref="SafetyLayer"/> per case, from the agent's own safety options (the Host's composition root hands
/// in how to build one), so no pending confirmation or alert hold leaks from one case into the next. Alerts go to a
/// <see cref="RecordingOutbox"/>.
/// </summary>
public sealed class SafetyLayerCaseFactory(Func<IAlertOutbox, SafetyLayer> newLayer) : ICaseSafetyFactory
{
    public string Description => "SafetyLayer, fresh per case, vehicle_state applied";

    public bool AppliesVehicleState => true;

    public ICaseSafety Create()
    {
        var outbox = new RecordingOutbox();
        return new CaseSafety(newLayer(outbox), outbox);
    }

    private sealed class CaseSafety(SafetyLayer layer, RecordingOutbox outbox) : ICaseSafety
    {
        private static readonly TimeSpan TelemetryInterval = TimeSpan.FromMilliseconds(250);
        private JsonObject _state = [];
        private DateTimeOffset _at;

        public ISafetyLayer Layer => layer;

        public void ApplyVehicleState(JsonObject state, DateTimeOffset at)
        {
            _state = state;
            _at = at;
            layer.ApplySnapshot(state, at);
        }

        public IReadOnlyList<string> RaisedAlerts(DateTimeOffset until)
        {
            // Telemetry keeps arriving (the state holds) while hold times run out: a single snapshot would go stale
            // (speed is fresh for 2 s) before the 3 s overspeed hold ends.
            for (var t = _at + TelemetryInterval; t <= until; t += TelemetryInterval)
                layer.ApplySnapshot(_state, t);
            return outbox.Alerts.Select(a => a.Kind).Distinct().ToList();
        }
    }
}
