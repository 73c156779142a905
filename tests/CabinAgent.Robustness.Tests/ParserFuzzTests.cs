using System.Text;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Host.Replay;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Speech.Audio;
using CabinAgent.Understanding;
using CabinAgent.Understanding.Deterministic;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace CabinAgent.Robustness.Tests;

/// <summary>
/// Every input parser on generated input: random bytes, hostile unicode, and mutations of valid samples.
/// Each property: no exception but the documented one, a non-empty reason on every rejection, no hang.
/// </summary>
[Trait("Category", "Fuzz")]
public class ParserFuzzTests(ITestOutputHelper output)
{
    private static string ConfigDir => Path.Combine(AppContext.BaseDirectory, "config");
    private static readonly ActionCatalog Catalog = ActionCatalog.Load(Path.Combine(ConfigDir, "actions.json"));

    private static void Reason(string? reason, string what)
    {
        if (string.IsNullOrWhiteSpace(reason)) throw new Xunit.Sdk.XunitException($"{what}: rejected without a reason");
    }

    [Fact]
    public void TranscriptBytesDecodeOrAreRejectedWithAReason()
    {
        var langs = Gen.Elements<string?>(null, "zh", "en", "auto", "fr", "", "ZH", "zh-CN");
        var fromBytes = FuzzGen.Check(output, "transcript bytes (TryDecode+Check)", Gen.Zip(Gen.OneOf(FuzzGen.Bytes, FuzzGen.Text.Select(Encoding.UTF8.GetBytes)), langs), 10_000, x =>
        {
            var (bytes, lang) = x;
            if (!TranscriptValidator.TryDecode(bytes, out var text, out var reason)) { Reason(reason, "TryDecode"); return; }
            var problem = TranscriptValidator.Check(text, lang);
            if (problem is not null) Reason(problem, "Check");
        });
        var fromText = FuzzGen.Check(output, "transcript text (Check)", Gen.Zip(FuzzGen.Text, langs), 10_000, x =>
        {
            var problem = TranscriptValidator.Check(x.Item1, x.Item2);
            if (problem is not null) Reason(problem, "Check");
        });
        Assert.Equal(20_000, fromBytes + fromText);
    }

    [Fact]
    public void DaemonTranscriptPayloadsAlwaysBecomeOneUtterance()
    {
        string[] valid =
        [
            """{"id":"u1","text":"打开车窗","lang":"zh"}""", """{"text":"next song"}""", "下一首", """{"id":"","text":null,"lang":5}""",
            """{"id":"x","text":"播放周杰伦的夜曲","lang":"auto","extra":[1,2,{"a":null}]}""",
        ];
        var gen = Gen.OneOf(FuzzGen.Bytes, FuzzGen.Mutations(valid).Select(Encoding.UTF8.GetBytes),
            FuzzGen.Text.Select(t => Encoding.UTF8.GetBytes("{" + t)));
        var ran = FuzzGen.Check(output, "daemon transcript payload (TranscriptPayload.Parse)", gen, 10_000, bytes =>
        {
            var input = TranscriptPayload.Parse(bytes, 0).Input;
            if (string.IsNullOrEmpty(input.Id) || input.Id.Length > 128) throw new Xunit.Sdk.XunitException($"bad utterance id '{input.Id}'");
            if (input.DecodeError is not null) { Assert.Null(input.Text); Reason(input.DecodeError, "ParseTranscript"); return; }
            var problem = TranscriptValidator.Check(input.Text, input.Lang);
            if (problem is not null) Reason(problem, "Check after ParseTranscript");
        });
        Assert.Equal(10_000, ran);
    }

    private sealed class NoSink : IAlertSink
    {
        public ValueTask PublishAlertAsync(SafetyAlert alert, CancellationToken cancellationToken) => ValueTask.CompletedTask;
        public ValueTask SpeakAsync(SpokenNotice notice, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    [Fact]
    public void TelemetryIsAcceptedOrRejectedWithAReason()
    {
        var layer = SafetyModule.Create(ConfigDir, Catalog, new NoSink(), TimeProvider.System).Layer;
        string[] signals = ["speed_kmh", "speed_limit_kmh", "gear", "driver_fatigue_level", "driving_minutes", "seat_belt_driver",
            "seat_belt_passenger", "door_open", "fuel_percent", "battery_percent", "tire_pressure_kpa"];
        var topic = Gen.Frequency(
            (6, Gen.Elements(signals).Select(s => "telemetry/" + s)),
            (2, Gen.Elements(signals)),
            (1, Gen.Elements(signals).Select(s => "vehicle/demo/telemetry/" + s)),
            (1, FuzzGen.Text));
        var value = Gen.OneOf(
            Gen.Elements("0", "100", "-1", "1e309", "-0", "3.5", "1e-400", "NaN", "\"NaN\"", "\"D\"", "\"P\"", "\"d\"", "\"\"", "true", "false",
                "null", "[]", "{}", "[1]", "{\"value\":1}", "9999999999999999999999", "4", "3", "\"3\"", "0.0000001", "\"100\""),
            Gen.Choose(-1000, 1000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            FuzzGen.Text.Select(t => System.Text.Json.JsonSerializer.Serialize(t)));
        var ts = Gen.Elements("", ",\"ts_ms\":0", ",\"ts_ms\":-5", ",\"ts_ms\":9223372036854775807", ",\"ts_ms\":\"now\"", ",\"ts_ms\":1.5e300", ",\"ts_ms\":null");
        var nearValid = Gen.Zip(value, ts).Select(x => Encoding.UTF8.GetBytes($"{{\"value\":{x.Item1}{x.Item2}}}"));
        var payload = Gen.Frequency(
            (2, FuzzGen.Bytes),
            (5, nearValid),
            (3, nearValid.SelectMany(FuzzGen.Mutations)));
        var accepted = 0;
        var ran = FuzzGen.Check(output, "telemetry (SafetyLayer.IngestTelemetry)", Gen.Zip(topic, payload), 20_000, x =>
        {
            var result = layer.IngestTelemetry(x.Item1, x.Item2, TimeProvider.System.GetUtcNow());
            if (result.Rejection == TelemetryRejection.None) { Assert.Null(result.Reason); accepted++; }
            else Reason(result.Reason, $"telemetry {result.Rejection}");
        });
        output.WriteLine($"  accepted {accepted}, rejected {ran - accepted}");
        Assert.Equal(20_000, ran);
        Assert.InRange(accepted, 1, ran - 1);
    }

    private static byte[] ValidWav(int rate, int channels, int bits, int frames)
    {
        var format = bits == 32 ? WavFormat.IeeeFloat : WavFormat.Pcm;
        var data = frames * channels * bits / 8;
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write("RIFF"u8); w.Write(36 + data); w.Write("WAVE"u8);
        w.Write("fmt "u8); w.Write(16); w.Write((short)format); w.Write((short)channels); w.Write(rate);
        w.Write(rate * channels * bits / 8); w.Write((short)(channels * bits / 8)); w.Write((short)bits);
        w.Write("data"u8); w.Write(data);
        for (var i = 0; i < frames * channels; i++)
        {
            if (bits == 32) w.Write((float)Math.Sin(i / 10.0));
            else w.Write((short)(Math.Sin(i / 10.0) * 8000));
        }
        return ms.ToArray();
    }

    [Fact]
    public void WavHeadersAreReadOrRefusedWithAReason()
    {
        byte[][] valid = [ValidWav(16000, 1, 16, 400), ValidWav(44100, 2, 16, 300), ValidWav(8000, 1, 32, 200), ValidWav(48000, 2, 32, 100)];
        foreach (var v in valid) Assert.NotEmpty(WavReader.Read(v).Samples.ToArray());
        var read = 0;
        var gen = Gen.Frequency(
            (2, FuzzGen.Bytes),
            (1, FuzzGen.Bytes.Select(b => "RIFF\0\0\0\0WAVEfmt "u8.ToArray().Concat(b).ToArray())),
            (7, FuzzGen.Mutations(valid)));
        var ran = FuzzGen.Check(output, "WAV (WavReader.Read)", gen, 20_000, bytes =>
        {
            try
            {
                WavReader.Read(bytes);
                read++;
            }
            catch (WavFormatException ex)
            {
                Reason(ex.Message, $"WAV {ex.Rejection}");
            }
        });
        output.WriteLine($"  read {read}, refused {ran - read}");
        Assert.Equal(20_000, ran);
    }

    [Fact]
    public void ReplayLinesParseOrBecomeInvalidItemsWithAReason()
    {
        string[] valid =
        [
            """{"id":"a","text":"打开车窗","lang":"zh","vehicle_state":{"speed_kmh":30,"gear":"D"}}""",
            """{"t_ms":1200,"topic":"telemetry/speed_kmh","payload":{"value":88}}""",
            """{"t_ms":5,"vehicle_state":{"door_open":true}}""",
            """{"id":"w","audio":"clips/a.wav","t_ms":10}""",
            """{"text":"next song","lang":"en","t_ms":0}""",
        ];
        var gen = Gen.Frequency((2, FuzzGen.Text), (6, FuzzGen.Mutations(valid)), (2, FuzzGen.Text.Select(t => "{\"text\":" + t)));
        var invalid = 0;
        var ran = FuzzGen.Check(output, "replay line (ReplayInput.Parse)", gen, 15_000, line =>
        {
            var item = ReplayInput.Parse(line, 7, "fuzz.jsonl");
            switch (item)
            {
                case InvalidItem bad: Reason(bad.Reason, "replay line"); invalid++; break;
                case UtteranceItem or TelemetryItem: break;
                default: throw new Xunit.Sdk.XunitException($"unexpected replay item {item.GetType().Name}");
            }
        });
        output.WriteLine($"  invalid {invalid}, parsed {ran - invalid}");
        Assert.Equal(15_000, ran);
    }

    [Fact]
    public void MutatedCatalogsLoadOrThrowCatalogExceptionWithAMessage()
    {
        var valid = File.ReadAllBytes(Path.Combine(ConfigDir, "actions.json"));
        var loaded = 0;
        var ran = FuzzGen.Check(output, "action catalog (ActionCatalog.Parse)", Gen.Frequency((9, FuzzGen.Mutations(valid)), (1, FuzzGen.Bytes)), 3_000, bytes =>
        {
            try
            {
                using var stream = new MemoryStream(bytes);
                ActionCatalog.Parse(stream, "fuzz.json");
                loaded++;
            }
            catch (CatalogException ex)
            {
                Reason(ex.Message, "catalog");
            }
        });
        output.WriteLine($"  loaded {loaded}, refused {ran - loaded}");
        Assert.Equal(3_000, ran);
    }

    [Fact]
    public void TheDeterministicTierUnderstandsWithSchemaValidParametersOrSaysWhyNot()
    {
        var tier = DeterministicTier.Load(Path.Combine(ConfigDir, "intents"), Catalog);
        var schema = CommandSchema.FromCatalog(Catalog);
        var sentences = tier.TestCases.Select(t => t.Text).Distinct().ToList();
        Assert.NotEmpty(sentences);
        var text = Gen.Frequency((3, FuzzGen.Text), (5, FuzzGen.Mutations(sentences)), (2, Gen.Elements(sentences.ToArray())));
        var understood = 0;
        var ran = FuzzGen.Check(output, "deterministic tier (DeterministicTier.Understand)", Gen.Zip(text, Gen.Elements<string?>("zh", "en", null)), 15_000, x =>
        {
            // Understand, not UnderstandAsync: the async wrapper turns an exception into TierFailed, which would hide it.
            switch (tier.Understand(new Utterance("fuzz", x.Item1, Languages.FromCode(x.Item2) ?? Languages.Of(x.Item1, Language.Zh))))
            {
                case Understood u:
                    var definition = Catalog.Get(u.Action);
                    var problems = schema.Validate(new VehicleCommand
                    {
                        Action = u.Action, Parameters = u.Parameters, Response = "ok", Confidence = u.Confidence,
                        RequiresConfirmation = definition.RequiresConfirmation,
                    });
                    if (problems.Count > 0)
                        throw new Xunit.Sdk.XunitException($"'{x.Item1}' → {u.Action} {u.Parameters.ToJsonString()}: {string.Join("; ", problems)}");
                    understood++;
                    break;
                case NotUnderstood n: Reason(n.Reason, "NotUnderstood"); break;
                case var other: throw new Xunit.Sdk.XunitException($"'{x.Item1}' → unexpected {other}");
            }
        });
        output.WriteLine($"  understood {understood}, not understood {ran - understood}");
        Assert.Equal(15_000, ran);
        Assert.InRange(understood, 1, ran - 1);
    }

    [Fact]
    public void AcksCompleteAWaitingCommandOrAreIgnoredWithAReason()
    {
        var acks = new AckTracker(TimeSpan.FromMinutes(5), TimeProvider.System);
        string[] ids = ["c1", "c2", "c3"];
        const string media = "vehicle/demo/agent/ack/media";
        foreach (var id in ids) _ = acks.Expect(id, media);
        string[] valid =
        [
            """{"command_id":"c1","status":"ok"}""", """{"command_id":"c2","status":"failed","reason":"motor stalled"}""",
            """{"status":"ok"}""", """{"command_id":"c3","status":"maybe"}""", """{"command_id":7,"status":"ok"}""",
        ];
        var payload = Gen.Frequency((3, FuzzGen.Bytes), (6, FuzzGen.Mutations(valid).Select(Encoding.UTF8.GetBytes)), (1, FuzzGen.Text.Select(Encoding.UTF8.GetBytes)));
        var completed = 0;
        var ran = FuzzGen.Check(output, "ack (AckTracker.OnAck)", Gen.Zip(payload, Gen.Zip(Gen.Elements<string?>(null, null, "c1", "c2", "zz", ""),
            Gen.Elements(media, media, "vehicle/demo/agent/ack/climate"))), 10_000, x =>
        {
            var ignored = acks.OnAck(x.Item2.Item2, x.Item1, x.Item2.Item1);
            if (ignored is not null) { Reason(ignored, "ack"); return; }
            completed++;
            // Keep commands waiting so later acks can complete them too.
            foreach (var id in ids) { acks.Forget(id); _ = acks.Expect(id, media); }
        });
        output.WriteLine($"  completed {completed}, ignored {ran - completed}");
        Assert.Equal(10_000, ran);
    }
}
