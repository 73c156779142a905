using System.Diagnostics;
using System.Text.Json.Nodes;
using CabinAgent.Pipeline;
using CabinAgent.Speech;
using CabinAgent.Speech.Audio;
using CabinAgent.Speech.Whisper;
using CabinAgent.Speech.Whisper.Native;
using CabinAgent.Tools.Models;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Tools.Bench;

/// <summary>Settings of <c>cabin-agent bench asr</c>.</summary>
public sealed record AsrBenchmarkSettings
{
    /// <summary>Model file; null means the generated random-weight test model (speed only, the text is noise).</summary>
    public string? ModelPath { get; init; }
    public string Language { get; init; } = "auto";
    /// <summary>Timed runs per utterance length and thread count (after one warm-up).</summary>
    public int Repetitions { get; init; } = 3;
    public IReadOnlyList<int> LengthsSeconds { get; init; } = [1, 2, 3, 4, 5];
    /// <summary>Speech to cut utterances from (WAV files); synthetic voiced audio when empty.</summary>
    public IReadOnlyList<string> SpeechFiles { get; init; } = [];
}

/// <summary>
/// Measures whisper on this machine: per-utterance latency and real-time factor for 1-5 s
/// utterances at 1, 2 and all threads. Figures are from one run; nothing is asserted. Medians are nearest-rank
/// (<see cref="Percentile"/>): with an even number of runs, the lower middle one.
/// </summary>
public static class AsrBenchmark
{
    public static async Task<JsonObject> RunAsync(AsrBenchmarkSettings settings, ILogger logger, Action<string>? progress, CancellationToken ct)
    {
        var testModel = settings.ModelPath is null;
        var modelPath = settings.ModelPath ?? WhisperTestModel.EnsureCached();
        var speech = LoadSpeech(settings.SpeechFiles);
        var threadCounts = new[] { 1, 2, Environment.ProcessorCount }.Distinct().Order().ToArray();

        var runs = new JsonArray();
        foreach (var threads in threadCounts)
        {
            var options = new SpeechOptions
            {
                ModelPath = modelPath,
                Language = settings.Language,
                Threads = threads,
                // A random model fails every confidence check; fallback would time five decodes, not one.
                TemperatureIncrement = testModel ? 0 : new SpeechOptions().TemperatureIncrement,
            };
            var load = Stopwatch.StartNew();
            using var recognizer = WhisperRecognizer.Load(options, logger);
            load.Stop();
            await recognizer.TranscribeAsync(Cut(speech, 1), ct); // warm-up: first-call allocations

            foreach (var seconds in settings.LengthsSeconds)
            {
                var clip = Cut(speech, seconds);
                var latencies = new List<double>();
                var rtfs = new List<double>();
                for (var r = 0; r < settings.Repetitions; r++)
                {
                    var transcript = await recognizer.TranscribeAsync(clip, ct);
                    latencies.Add(transcript.Ms);
                    rtfs.Add(transcript.Rtf);
                }
                latencies.Sort();
                rtfs.Sort();
                var run = new JsonObject
                {
                    ["threads"] = threads,
                    ["audio_s"] = seconds,
                    ["load_ms"] = Math.Round(load.Elapsed.TotalMilliseconds, 1),
                    ["median_ms"] = Math.Round(Percentile.NearestRank(latencies, 0.5), 1),
                    ["min_ms"] = Math.Round(latencies[0], 1),
                    ["max_ms"] = Math.Round(latencies[^1], 1),
                    ["median_rtf"] = Math.Round(Percentile.NearestRank(rtfs, 0.5), 3),
                };
                runs.Add(run);
                progress?.Invoke($"threads={threads} audio={seconds}s median={run["median_ms"]} ms rtf={run["median_rtf"]}");
            }
        }

        return new JsonObject
        {
            ["benchmark"] = "asr",
            ["model"] = modelPath,
            ["test_model"] = testModel,
            ["language"] = settings.Language,
            ["repetitions"] = settings.Repetitions,
            ["speech"] = settings.SpeechFiles.Count > 0 ? string.Join(",", settings.SpeechFiles.Select(Path.GetFileName)) : "synthetic",
            ["whisper"] = WhisperLibrary.NativeVersion(),
            ["system_info"] = WhisperLibrary.SystemInfo(),
            ["load_average"] = Machine.LoadAverage1m(),
            ["runs"] = runs,
        };
    }

    /// <summary>The speech files joined end to end, or synthetic voiced audio (a buzzing vowel with syllable rhythm).</summary>
    private static float[] LoadSpeech(IReadOnlyList<string> files)
    {
        if (files.Count > 0)
            return files.SelectMany(f => WavReader.Read(f).Samples).ToArray();
        var samples = new float[AudioClip.SampleRate * 5];
        for (var i = 0; i < samples.Length; i++)
        {
            var t = (double)i / AudioClip.SampleRate;
            var syllable = 0.5 * (1 - Math.Cos(2 * Math.PI * 4 * t)); // 4 syllables a second
            var voice = Math.Sin(2 * Math.PI * 140 * t) + 0.5 * Math.Sin(2 * Math.PI * 700 * t) + 0.3 * Math.Sin(2 * Math.PI * 1200 * t);
            samples[i] = (float)(0.15 * syllable * voice);
        }
        return samples;
    }

    /// <summary>Exactly <paramref name="seconds"/> of speech, repeating the material if it is shorter.</summary>
    private static float[] Cut(float[] speech, int seconds)
    {
        var clip = new float[AudioClip.SampleRate * seconds];
        for (var i = 0; i < clip.Length; i++) clip[i] = speech[i % speech.Length];
        return clip;
    }
}
