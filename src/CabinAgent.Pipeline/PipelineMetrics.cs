using System.Diagnostics.Metrics;

namespace CabinAgent.Pipeline;

/// <summary>
/// Counters and histograms of the utterance path, on a <see cref="Meter"/> so any exporter
/// (Prometheus, OpenTelemetry, dotnet-counters) can read them.
/// </summary>
public sealed class PipelineMetrics : IDisposable
{
    public const string MeterName = "CabinAgent.Pipeline";

    private readonly Meter _meter;
    private readonly Counter<long> _utterances;
    private readonly Histogram<double> _stageLatency;

    public PipelineMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _utterances = _meter.CreateCounter<long>("cabin_utterances", description: "Utterances by outcome and tier");
        _stageLatency = _meter.CreateHistogram<double>("cabin_stage_latency", unit: "ms", description: "Latency of each pipeline stage");
    }

    /// <summary>Raised for every finished utterance, for exporters that keep their own instruments.</summary>
    public event Action<UtteranceRecord>? Recorded;

    public void Record(UtteranceRecord record)
    {
        Recorded?.Invoke(record);
        _utterances.Add(1, new KeyValuePair<string, object?>("outcome", record.Outcome.Wire()),
            new KeyValuePair<string, object?>("tier", record.Tier?.Wire() ?? "none"));
        foreach (var (stage, ms) in record.LatencyMs)
            _stageLatency.Record(ms, new KeyValuePair<string, object?>("stage", stage));
    }

    public void Dispose() => _meter.Dispose();
}
