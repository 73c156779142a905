using System.Text.Json;

namespace CabinAgent.Safety.Tests;

/// <summary>
/// The situation rules (<c>config/emergency/situations.json</c>) against the test sentences kept beside them, the way
/// the intents' templates carry theirs; and the loader's reports on a broken rule file.
/// </summary>
public class SituationTests
{
    public sealed record SituationCase(string Text, string Expect, string? Service);

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    public static IReadOnlyList<SituationCase> Cases { get; } = File
        .ReadAllLines(Path.Combine(AppContext.BaseDirectory, "config", "emergency", "situations.tests.jsonl"))
        .Where(l => l.Trim().Length > 0)
        .Select(l => JsonSerializer.Deserialize<SituationCase>(l, Json)!)
        .ToList();

    private static string Verdict(EmergencyScan scan) => scan.Match is not null ? "call" : scan.Ask is not null ? "ask" : "none";

    [Fact]
    public void Every_test_sentence_beside_the_rules_gets_its_verdict_and_service()
    {
        Assert.True(Cases.Count >= 50, $"only {Cases.Count} test sentences");
        var wrong = new List<string>();
        foreach (var c in Cases)
        {
            var scan = Harness.Detector.Scan(c.Text);
            var verdict = Verdict(scan);
            var service = (scan.Match ?? scan.Ask)?.Service;
            if (verdict != c.Expect || (c.Expect != "none" && service != c.Service))
                wrong.Add($"'{c.Text}': expected {c.Expect} {c.Service}, got {verdict} {service} " +
                          $"({(scan.Match ?? scan.Ask)?.PhraseId}; suppressed: {string.Join(", ", scan.Suppressed.Select(s => s.PhraseId + " " + s.Why))})");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void Every_class_has_a_test_sentence_at_each_of_its_strengths()
    {
        // The situation rules alone (the phrase list answers some sentences first in the full detector).
        var situations = SituationRules.Load(Path.Combine(AppContext.BaseDirectory, "config", "emergency", "situations.json"),
            Harness.Detector.Services);
        var covered = Cases.Where(c => c.Expect != "none")
            .SelectMany(c => situations.Scan(Harness.Detector.Normalizer.Normalize(c.Text)).Hits)
            .Select(h => $"{h.ClassId}.{h.Strength}")
            .ToHashSet();
        string[] expected =
        [
            "collision.Call", "collision.Ask", "fire.Call", "fire.Ask", "medical.Call", "medical.Ask", "crime.Call", "crime.Ask",
            "trapped.Call", "trapped.Ask", "water.Call", "distress.Call", "call_police.Call", "call_fire.Call",
            "call_ambulance.Call", "call_general.Call",
        ];
        Assert.Empty(expected.Except(covered));
    }

    [Theory]
    [InlineData("上次在这儿追尾了", "past '上次'")]
    [InlineData("播放歌曲 车祸", "media '播放'")]
    [InlineData("万一被困在车里", "question '万一'")]
    [InlineData("没有受伤", "negation '没有'")]
    [InlineData("差点撞车", "idiom '差点撞'")]
    [InlineData("i was in a crash last year", "past 'last year'")]
    public void A_filtered_hit_is_reported_with_the_filter_and_its_words(string text, string why)
    {
        var scan = Harness.Detector.Scan(text);
        Assert.Null(scan.Match);
        Assert.Null(scan.Ask);
        Assert.Contains(scan.Suppressed, s => s.Why == why);
    }

    [Theory]
    // An ask-strength cue does not call by itself, but says who is needed once something calls.
    [InlineData("追尾了", "general", "zh_crash")]
    [InlineData("追尾了 我脖子好疼", "ambulance", "situation:medical")]
    [InlineData("we got rear ended my neck hurts", "ambulance", "situation:medical")]
    // A stated crime calls the police even when someone is hurt; fire still goes first.
    [InlineData("我被人打了 鼻子在流血", "police", "situation:crime")]
    [InlineData("somebody stabbed him hes bleeding", "police", "situation:crime")]
    [InlineData("有人放火 车着火了 有人受伤", "fire", "zh_fire")]
    public void The_service_comes_from_every_cue_once_one_calls(string text, string service, string from)
    {
        var scan = Harness.Detector.Scan(text);
        Assert.NotNull(scan.Match);
        Assert.Equal((service, from), (scan.Match.Service, scan.Match.PhraseId));
        Assert.Null(scan.Ask);
    }

    private const string Valid = """
        {
          "lexicon": { "who": "我|他" },
          "classes": [
            { "id": "medical", "service": "ambulance", "call": { "zh": ["{who}晕倒了"] } }
          ],
          "filters": [
            { "id": "past", "kind": "anywhere", "zh": ["昨天"] }
          ]
        }
        """;

    private static readonly string[] Services = ["fire", "ambulance", "police", "general"];

    [Fact]
    public void A_minimal_rule_file_composes_lexicon_entries()
    {
        var matcher = SituationRules.Parse(Valid, "situations.json", Services);
        var (hits, _) = matcher.Scan("他晕倒了");
        Assert.Equal(new SituationHit("medical", "ambulance", CueStrength.Call, "他晕倒了"), Assert.Single(hits));
        var (none, suppressed) = matcher.Scan("昨天他晕倒了");
        Assert.Empty(none);
        Assert.Equal("past '昨天'", Assert.Single(suppressed).Why);
    }

    [Theory]
    [InlineData("\"{who}晕倒了\"", "\"({who}晕倒了\"", "situations.json:4: class medical: bad pattern")]
    [InlineData("\"{who}晕倒了\"", "\"{whom}晕倒了\"", "situations.json:4: class medical: unknown lexicon entry {whom}")]
    [InlineData("\"service\": \"ambulance\"", "\"service\": \"doctor\"", "situations.json:4: class medical: service 'doctor' is not one of fire, ambulance, police, general")]
    [InlineData("\"service\": \"ambulance\"", "\"service\": \"ambulance\", \"outranks\": [\"doctor\"]", "situations.json:4: class medical: outranks 'doctor', which is not another of fire, ambulance, police, general")]
    [InlineData("\"kind\": \"anywhere\"", "\"kind\": \"somewhere\"", "situations.json:7: filter past: kind 'somewhere' is not one of overlap, before, anywhere")]
    [InlineData("\"zh\": [\"昨天\"] }", "\"zh\": [\"昨天] }", "situations.json:7: invalid JSON")]
    public void A_broken_rule_file_names_the_file_and_the_line(string find, string replace, string expected)
    {
        var broken = Valid.Replace(find, replace, StringComparison.Ordinal);
        Assert.NotEqual(Valid, broken);
        var ex = Assert.Throws<SafetyConfigException>(() => SituationRules.Parse(broken, "situations.json", Services));
        Assert.StartsWith(expected, ex.Message);
    }

    [Fact]
    public void A_missing_rule_file_stops_the_start_with_its_path()
    {
        var dir = Directory.CreateTempSubdirectory("cabin-situations-");
        try
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "config", "emergency-phrases.json"), Path.Combine(dir.FullName, "emergency-phrases.json"));
            var ex = Assert.Throws<SafetyConfigException>(() => EmergencyDetector.LoadConfig(dir.FullName));
            Assert.Equal($"emergency situation rules not found: {Path.Combine(dir.FullName, "emergency", "situations.json")}", ex.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
