using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Llm;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Training;
using CabinAgent.Understanding;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Protocol;

namespace CabinAgent.Tools.Bench;

/// <summary>
/// <c>bench safety</c>'s latency scenarios on objects the caller composed (a connected <see cref="MqttConnection"/>, the
/// alert dispatcher publishing through a <see cref="SafetyProbeSink"/>): a door opening at speed to its alert
/// published, an emergency phrase to its <c>EMERGENCY_CALL</c> published, each alone and under background loads.
/// From just before the message is handed to the safety layer to the QoS 1 publish call returning.
/// </summary>
/// <param name="newLayer">A fresh safety layer from the caller's composition (the Host's <c>SafetyLayerFactory</c>),
/// its alerts dispatched through <paramref name="probe"/>; the bench never builds one itself.</param>
/// <param name="probe">The sink the layers' alert dispatcher publishes alerts through.</param>
public sealed class SafetyLatencyBench(ActionCatalog catalog, Func<SafetyLayer> newLayer, SafetyProbeSink probe, MqttConnection connection,
    TopicMap topics)
{
    private static readonly string[] EmergencyTexts =
        ["救命！", "快叫救护车", "车着火了", "出车祸了", "快报警", "help!", "call 911", "the car is on fire", "we crashed", "call an ambulance",
         // Situations in the driver's own words (the situation classes, not the phrase list).
         "孩子昏迷了 叫不醒", "我们被追尾了 车门打不开 出不去", "my husband collapsed", "someone is breaking into the car"];

    /// <summary>What each load of <see cref="RunAsync"/> is.</summary>
    public static readonly string LoadNote =
        $"llm_decode = the LLM tier decoding back to back on the generated test model in this process (Llm threads: default); " +
        $"cpu_saturation = {Environment.ProcessorCount} spinning threads at normal priority, cpu_saturation_nice10 = the same at nice 10 " +
        "(how decode threads should run); telemetry_flood = one thread ingesting as fast as it can";

    /// <summary>
    /// Both scenarios under each load: none; llm_decode, the real LLM tier decoding continuously on the generated test
    /// model in this process; CPU loads standing in for a production-size decode (the test model is tiny), showing the
    /// effect of priority; a telemetry flood. Two rows per load (alert, emergency).
    /// </summary>
    public async Task<List<JsonObject>> RunAsync(int count, CancellationToken ct)
    {
        var rows = new List<JsonObject>();
        foreach (var load in new[] { "none", "llm_decode", "cpu_saturation", "cpu_saturation_nice10", "telemetry_flood" })
        {
            using var background = BackgroundLoad.Start(load, this, catalog);
            if (background.Failure is { } failure)
            {
                rows.Add(new JsonObject { ["name"] = "telemetry_to_alert", ["load"] = load, ["skipped"] = failure });
                rows.Add(new JsonObject { ["name"] = "transcript_to_emergency", ["load"] = load, ["skipped"] = failure });
                continue;
            }
            rows.Add(await AlertsAsync(count, load, ct));
            rows.Add(await EmergenciesAsync(count, load, ct));
            var rate = background.Rate();
            if (load == "llm_decode") rate = null;
            if (background.Decodes() is { } decodes)
            {
                rows[^1]["llm_decodes"] = decodes;
                rows[^2]["llm_decodes"] = decodes;
            }
            if (rate is not null)
            {
                rows[^1]["load_rate_per_s"] = rate;
                rows[^2]["load_rate_per_s"] = rate;
            }
        }
        return rows;
    }

    private static readonly byte[] Moving = """{"value": 40}"""u8.ToArray();
    private static readonly byte[] DoorOpen = """{"value": true}"""u8.ToArray();

    /// <summary>The layer under test now; the flood load sends its telemetry here.</summary>
    internal SafetyLayer Current = null!;

    private SafetyLayer NewLayer()
    {
        var layer = newLayer();
        Volatile.Write(ref Current, layer);
        return layer;
    }

    /// <summary>A door opening at 40 km/h (the rule has no hold time) → alert published. A fresh layer per
    /// iteration so the re-alert interval does not swallow the next one.</summary>
    private async Task<JsonObject> AlertsAsync(int count, string load, CancellationToken ct)
    {
        var samples = new List<double>(count);
        var warmup = Math.Min(500, count);
        for (var i = 0; i < warmup + count; i++)
        {
            var layer = NewLayer();
            layer.IngestTelemetry("telemetry/speed_kmh", Moving, DateTimeOffset.UtcNow);
            var published = probe.Expect();
            var start = Stopwatch.GetTimestamp();
            layer.IngestTelemetry("telemetry/door_open", DoorOpen, DateTimeOffset.UtcNow);
            var end = await published.WaitAsync(TimeSpan.FromSeconds(10), ct);
            if (i >= warmup) samples.Add(Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
        }
        return Row("telemetry_to_alert", load, samples);
    }

    /// <summary>An emergency phrase → PreCheck → EMERGENCY_CALL published on its action topic.</summary>
    private async Task<JsonObject> EmergenciesAsync(int count, string load, CancellationToken ct)
    {
        var layer = NewLayer();
        layer.IngestTelemetry("telemetry/speed_kmh", Moving, DateTimeOffset.UtcNow);
        var action = catalog.Get(EmergencyDetector.EmergencyAction);
        var samples = new List<double>(count);
        var warmup = Math.Min(500, count);
        for (var i = 0; i < warmup + count; i++)
        {
            var text = EmergencyTexts[i % EmergencyTexts.Length];
            var id = string.Create(CultureInfo.InvariantCulture, $"bench-{load}-{i}");
            var start = Stopwatch.GetTimestamp();
            if (layer.PreCheck(id, text, null, DateTimeOffset.UtcNow) is not EmergencyDetected emergency)
                throw new InvalidOperationException($"bench phrase not detected as an emergency: {text}");
            // The same message shape as a command from the pipeline: JSON payload, QoS 1, ids as user properties.
            var message = new MqttApplicationMessageBuilder()
                .WithTopic(topics.ForAction(action.Name))
                .WithPayload(Encoding.UTF8.GetBytes(emergency.Command.ToJson()))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithContentType("application/json")
                .WithUserProperty("utterance_id", Encoding.UTF8.GetBytes(id))
                .WithUserProperty("tier", "safety"u8.ToArray())
                .Build();
            await connection.PublishAsync(message, ct);
            var elapsed = Stopwatch.GetElapsedTime(start);
            layer.RecordEmergencyLatency(id, elapsed);
            if (i >= warmup) samples.Add(elapsed.TotalMilliseconds);
        }
        return Row("transcript_to_emergency", load, samples);
    }

    /// <summary>One scenario's figures: count, nearest-rank p50/p99, max and mean in ms.</summary>
    public static JsonObject Row(string name, string load, List<double> samples)
    {
        var s = LatencySummary.Of(samples);
        return new JsonObject
        {
            ["name"] = name,
            ["load"] = load,
            ["n"] = s.Count,
            ["p50_ms"] = Math.Round(s.P50, 4),
            ["p99_ms"] = Math.Round(s.P99, 4),
            ["max_ms"] = Math.Round(s.Max, 4),
            ["mean_ms"] = Math.Round(s.Mean, 4),
        };
    }

    /// <summary>Background pressure during a scenario: none, every core spinning, or telemetry flooding the layer.</summary>
    private sealed class BackgroundLoad : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Thread> _threads = [];
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _operations;
        private readonly bool _counting;

        private LlmTier? _llm;
        private long _decodes;

        private BackgroundLoad(bool counting) => _counting = counting;

        /// <summary>Why the load could not start (e.g. the LLM engine or model is missing), or null.</summary>
        public string? Failure { get; private set; }

        /// <summary>LLM decodes completed while the load ran, or null for other loads.</summary>
        public long? Decodes() => _llm is null ? null : Interlocked.Read(ref _decodes);

        public static BackgroundLoad Start(string kind, SafetyLatencyBench bench, ActionCatalog catalog)
        {
            var load = new BackgroundLoad(kind == "telemetry_flood");
            switch (kind)
            {
                case "llm_decode":
                    try
                    {
                        var options = new LlmOptions { ModelPath = TestModelBuilder.EnsureDefault() };
                        load._llm = LlmTier.Create(options, catalog, NullLogger.Instance);
                    }
                    catch (Exception ex)
                    {
                        load.Failure = $"LLM tier could not start: {ex.Message}";
                        break;
                    }
                    load.Spawn(load.Decode);
                    break;
                case "cpu_saturation":
                    for (var i = 0; i < Environment.ProcessorCount; i++) load.Spawn(load.Spin);
                    break;
                case "cpu_saturation_nice10":
                    for (var i = 0; i < Environment.ProcessorCount; i++) load.Spawn(() => { Nice(10); load.Spin(); });
                    break;
                case "telemetry_flood":
                    load.Spawn(() => load.Flood(bench));
                    break;
            }
            return load;
        }

        private static void Nice(int value)
        {
            if (ThreadNice.TrySetCurrentThread(value) is { } failure)
                Console.Error.WriteLine($"bench: {failure}; load runs at normal priority");
        }

        /// <summary>Messages per second sent by the flood, or null for other loads.</summary>
        public long? Rate() => _counting ? (long)(Interlocked.Read(ref _operations) / _clock.Elapsed.TotalSeconds) : null;

        private void Spawn(Action body)
        {
            var thread = new Thread(() => body()) { IsBackground = true, Name = "bench-load" };
            _threads.Add(thread);
            thread.Start();
        }

        /// <summary>Arithmetic plus small allocations, roughly what a decode loop does to the CPU and the GC.</summary>
        private void Spin()
        {
            var x = 1.0;
            var keep = new byte[16][];
            for (long i = 0; !_stop.IsCancellationRequested; i++)
            {
                x = x * 1.000001 + 0.5;
                if ((i & 1023) == 0) keep[i / 1024 % 16] = new byte[256];
            }
            GC.KeepAlive(x);
        }

        /// <summary>Back-to-back understanding requests on the LLM tier, as when the driver keeps talking.</summary>
        private void Decode()
        {
            var texts = LlmBenchmark.DefaultUtterances;
            for (var i = 0; !_stop.IsCancellationRequested; i++)
            {
                var text = texts[i % texts.Length];
                var utterance = new Utterance($"llm-load-{i}", text, Languages.Of(text, Language.Zh));
                try
                {
                    _llm!.UnderstandAsync(utterance, _stop.Token).AsTask().GetAwaiter().GetResult();
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                Interlocked.Increment(ref _decodes);
            }
        }

        /// <summary>Valid and malformed speed messages back to back, as fast as one core can send them.</summary>
        private void Flood(SafetyLatencyBench bench)
        {
            var good = """{"value": 40}"""u8.ToArray();
            var bad = """{"value": "garbage"}"""u8.ToArray();
            for (long i = 0; !_stop.IsCancellationRequested; i++)
            {
                var layer = Volatile.Read(ref bench.Current);
                layer?.IngestTelemetry("telemetry/speed_kmh", (i & 7) == 0 ? bad : good, DateTimeOffset.UtcNow);
                Interlocked.Increment(ref _operations);
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            foreach (var t in _threads) t.Join();
            _stop.Dispose();
            _llm?.Dispose();
        }
    }

}

/// <summary>Passes alerts to the real sink and reports when each publish call returned (Stopwatch timestamp).</summary>
public sealed class SafetyProbeSink(IAlertSink inner) : IAlertSink
{
    private TaskCompletionSource<long>? _next;

    public Task<long> Expect()
    {
        var tcs = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _next, tcs);
        return tcs.Task;
    }

    public async ValueTask PublishAlertAsync(SafetyAlert alert, CancellationToken ct)
    {
        await inner.PublishAlertAsync(alert, ct);
        Volatile.Read(ref _next)?.TrySetResult(Stopwatch.GetTimestamp());
    }

    public ValueTask SpeakAsync(SpokenNotice notice, CancellationToken ct) => inner.SpeakAsync(notice, ct);
}
