using System.Text.Json;


namespace CabinAgent.Safety.Tests;

public class EmergencyPhraseTests
{
    public sealed record PhraseCase(string Text, string Lang, bool Emergency, string? Service);

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    public static IReadOnlyList<PhraseCase> Cases { get; } = File
        .ReadAllLines(Path.Combine(AppContext.BaseDirectory, "data", "emergency-phrases.jsonl"))
        .Where(l => l.Trim().Length > 0)
        .Select(l => JsonSerializer.Deserialize<PhraseCase>(l, Json)!)
        .ToList();

    [Fact]
    public void The_phrase_set_is_large_and_balanced()
    {
        Assert.True(Cases.Count >= 100, $"only {Cases.Count} cases");
        var emergencies = Cases.Count(c => c.Emergency);
        Assert.InRange(emergencies, Cases.Count * 4 / 10, Cases.Count * 6 / 10);
        Assert.Contains(Cases, c => c.Emergency && c.Lang == "zh");
        Assert.Contains(Cases, c => c.Emergency && c.Lang == "en");
        Assert.Contains(Cases, c => !c.Emergency && c.Lang == "zh");
        Assert.Contains(Cases, c => !c.Emergency && c.Lang == "en");
    }

    [Fact]
    public void No_emergency_is_missed()
    {
        var missed = Cases.Where(c => c.Emergency)
            .Select(c => (c, Harness.Detector.Scan(c.Text)))
            .Where(x => x.Item2.Match is null)
            .Select(x => $"'{x.c.Text}' (normalised '{x.Item2.Normalized}', suppressed: {string.Join(", ", x.Item2.Suppressed.Select(s => s.PhraseId + " " + s.Why))})")
            .ToList();
        Assert.True(missed.Count == 0, "missed emergencies:\n" + string.Join("\n", missed));
    }

    [Fact]
    public void No_false_alarm_on_ordinary_speech()
    {
        var alarms = Cases.Where(c => !c.Emergency)
            .Select(c => (c, Harness.Detector.Detect(c.Text)))
            .Where(x => x.Item2 is not null)
            .Select(x => $"'{x.c.Text}' -> {x.Item2!.PhraseId} '{x.Item2.Matched}'")
            .ToList();
        Assert.True(alarms.Count == 0, "false alarms:\n" + string.Join("\n", alarms));
    }

    [Fact]
    public void Each_emergency_calls_the_service_its_words_name()
    {
        var wrong = Cases.Where(c => c.Emergency)
            .Select(c => (c, Harness.Detector.Detect(c.Text)))
            .Where(x => x.Item2 is not null && x.Item2.Service != x.c.Service)
            .Select(x => $"'{x.c.Text}': expected {x.c.Service}, got {x.Item2!.Service} ({x.Item2.PhraseId})")
            .ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Theory]
    [InlineData("救命！", "救命")]
    [InlineData("ＨＥＬＰ！！", "help")]
    [InlineData("Don’t   call the POLICE.", "dont call the police")]
    [InlineData("快叫救護車", "快叫救护车")]
    [InlineData("call 9 1 1", "call 911")]
    [InlineData("打 1 2 0", "打120")]
    public void Normalisation_folds_width_case_script_and_spacing(string text, string expected) =>
        Assert.Equal(expected, Harness.Detector.Normalizer.Normalize(text));

    [Fact]
    public void PreCheck_emits_the_emergency_command_with_the_catalog_response()
    {
        var h = new Harness();
        var result = h.Layer.PreCheck("u1", "快叫救护车！", null, Harness.At(0));
        var emergency = Assert.IsType<EmergencyDetected>(result);
        Assert.Equal("EMERGENCY_CALL", emergency.Command.Action);
        Assert.Equal("""{"service":"ambulance"}""", emergency.Command.Parameters.ToJsonString());
        Assert.Equal("正在为您拨打紧急电话（急救）", emergency.Command.Response);
        Assert.Equal(1.0, emergency.Command.Confidence);
        Assert.False(emergency.Command.RequiresConfirmation);
        Assert.Equal(1, h.Layer.Counters.Get("emergencies_detected.ambulance"));
        Assert.Empty(CommandSchemaReasons(emergency.Command));

        var en = Assert.IsType<EmergencyDetected>(h.Layer.PreCheck("u2", "the car is on fire", "en", Harness.At(1)));
        Assert.Equal("Calling emergency services (fire)", en.Command.Response);
    }

    [Fact]
    public void Without_a_lang_the_driver_language_is_the_shared_guess()
    {
        var h = new Harness();
        Assert.Equal("zh", h.Layer.DriverLang);
        // Han characters and English words mixed, more English words and it starts in English: English.
        var en = Assert.IsType<EmergencyDetected>(h.Layer.PreCheck("u1", "help, the car is on fire 着火了", null, Harness.At(0)));
        Assert.Equal("Calling emergency services (fire)", en.Command.Response);
        Assert.Equal("en", h.Layer.DriverLang);
        // No words at all says nothing about the language: the driver's last one stands.
        Assert.Same(PreCheckResult.Continue, h.Layer.PreCheck("u2", "123", null, Harness.At(1)));
        Assert.Equal("en", h.Layer.DriverLang);
        Assert.Same(PreCheckResult.Continue, h.Layer.PreCheck("u3", "播放 Taylor Swift 的 Love Story", null, Harness.At(2)));
        Assert.Equal("zh", h.Layer.DriverLang);
    }

    [Fact]
    public void A_negated_phrase_continues_and_is_logged_as_suppressed()
    {
        var h = new Harness();
        Assert.Same(PreCheckResult.Continue, h.Layer.PreCheck("u1", "不用报警", "zh", Harness.At(0)));
        Assert.Equal(1, h.Layer.Counters.Get("emergency_suppressed_negation"));
    }

    [Fact]
    public void A_fire_with_injuries_prefers_the_fire_service()
    {
        var match = Harness.Detector.Detect("车着火了，有人受伤了");
        Assert.Equal("fire", match!.Service);
    }

    [Fact]
    public void Phrase_file_errors_are_reported_at_load()
    {
        using var stream = new MemoryStream("""{"phrases":[{"id":"x","service":"nobody","pattern":"a"}]}"""u8.ToArray());
        var ex = Assert.Throws<SafetyConfigException>(() => EmergencyDetector.Parse(stream));
        Assert.Contains("service 'nobody' not in service_priority", ex.Message);
    }

    private static IReadOnlyList<string> CommandSchemaReasons(CabinAgent.Actions.VehicleCommand command) =>
        CabinAgent.Actions.CommandSchema.FromCatalog(Harness.Catalog).Validate(command);
}
