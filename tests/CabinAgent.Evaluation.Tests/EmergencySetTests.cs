using CabinAgent.Safety;
using CabinAgent.Actions;
using CabinAgent.Pipeline;

namespace CabinAgent.Evaluation.Tests;

/// <summary>
/// The emergency set's shape (sizes, classes, the split), the emergency scoring on hand-made cases, and the safety
/// judgement that is scored apart from understanding. The held-out split is only checked for shape here: its
/// figures are measured once, by <c>cabin-agent eval eval/emergency-test.jsonl</c>.
/// </summary>
public class EmergencySetTests
{
    private static readonly IReadOnlyList<EmergencyCase> Dev = EmergencySet.Load(Repo.File("eval", "emergency-dev.jsonl"));
    private static readonly IReadOnlyList<EmergencyCase> Test = EmergencySet.Load(Repo.File("eval", "emergency-test.jsonl"));
    private static readonly EmergencyDetector Detector = EmergencyDetector.LoadConfig(Repo.File("config"));

    private static readonly string[] EmergencyClasses = ["collision", "fire", "medical", "crime", "trapped", "water", "distress", "number"];
    private static readonly string[] NearMissClasses = ["past", "media", "idiom", "question", "negation", "ordinary"];

    [Fact]
    public void The_set_has_300_emergencies_and_300_near_misses_over_every_class_language_and_split()
    {
        var all = Dev.Concat(Test).ToList();
        Assert.True(all.Count(c => c.Emergency) >= 300, $"{all.Count(c => c.Emergency)} emergencies");
        Assert.True(all.Count(c => !c.Emergency) >= 300, $"{all.Count(c => !c.Emergency)} near-misses");
        foreach (var split in new[] { Dev, Test })
            foreach (var lang in new[] { "zh", "en" })
            {
                Assert.Empty(EmergencyClasses.Except(split.Where(c => c.Lang == lang && c.Emergency).Select(c => c.Class)));
                Assert.Empty(NearMissClasses.Except(split.Where(c => c.Lang == lang && !c.Emergency).Select(c => c.Class)));
            }
    }

    [Fact]
    public void No_sentence_or_id_is_in_both_splits()
    {
        Assert.Empty(Dev.Select(c => c.Input).Intersect(Test.Select(c => c.Input)));
        Assert.Empty(Dev.Select(c => c.Id).Intersect(Test.Select(c => c.Id)));
    }

    [Fact]
    public void The_dev_split_meets_the_targets_it_was_tuned_on()
    {
        var report = EmergencyEvaluator.Run("emergency-dev.jsonl", Dev, Detector);
        Assert.True(report.TargetsMet, EmergencyReportRenderer.Render(report));
        Assert.Equal(0, report.All.WrongService);
    }

    [Fact]
    public void Scoring_counts_calls_questions_misses_and_false_calls_per_language()
    {
        EmergencyCase[] cases =
        [
            new("e1", "zh", "collision", "我们出车祸了", true, "general"),
            new("e2", "zh", "medical", "我头好晕", true, "ambulance"),
            new("e3", "en", "fire", "the car is on fire", true, "ambulance"),
            new("e4", "en", "collision", "the weather is nice", true, "general"),
            new("n1", "zh", "idiom", "热死了", false, null),
            new("n2", "en", "ordinary", "call 911", false, null),
            new("n3", "en", "ordinary", "i smell burning", false, null),
        ];
        var report = EmergencyEvaluator.Run("hand-made", cases, Detector);
        var zh = report.ByLang.Single(f => f.Lang == "zh");
        var en = report.ByLang.Single(f => f.Lang == "en");
        Assert.Equal((2, 1, 1, 0, 1, 0, 0), (zh.Emergencies, zh.Called, zh.Asked, zh.WrongService, zh.NearMisses, zh.FalseCalls, zh.FalseAsks));
        Assert.Equal((2, 1, 0, 1, 2, 1, 1), (en.Emergencies, en.Called, en.Asked, en.WrongService, en.NearMisses, en.FalseCalls, en.FalseAsks));
        Assert.Equal(0.75, report.All.Recall);
        Assert.Equal(1.0 / 3, report.All.FalseCallRate);
        Assert.Equal("e4", Assert.Single(report.All.Missed).Case.Id);
        Assert.Equal(["n2", "n3"], report.All.False.Select(r => r.Case.Id));
        Assert.False(report.TargetsMet);
        var text = EmergencyReportRenderer.Render(report);
        Assert.Contains("missed [en] e4 (collision): the weather is nice", text);
        Assert.Contains("false call [en] n2 (ordinary): call 911 -> en_general general", text);
        Assert.Contains("wrong service [en] e3 (fire): the car is on fire -> en_fire fire, expected ambulance", text);
    }

    [Fact]
    public void A_malformed_line_is_named_with_file_and_line()
    {
        var path = Path.Combine(Path.GetTempPath(), $"emergency-bad-{Guid.NewGuid():N}.jsonl");
        File.WriteAllText(path, """
            {"id": "a", "lang": "zh", "class": "fire", "input": "着火了", "expected": {"emergency": true, "service": "fire"}}
            {"id": "b", "lang": "zh", "class": "fire", "input": "着火了", "expected": {"emergency": true}}
            """);
        try
        {
            Assert.True(EmergencySet.IsEmergencySet(path));
            var ex = Assert.Throws<DatasetException>(() => EmergencySet.Load(path));
            Assert.Equal($"{Path.GetFileName(path)}:2: an emergency needs expected.service (fire, ambulance, police or general)", ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_cockpit_set_is_not_taken_for_an_emergency_set() =>
        Assert.False(EmergencySet.IsEmergencySet(Repo.File("eval", "test.jsonl")));

    [Theory]
    // An emergency expected and called: right. Expected and not called: wrong.
    [InlineData("EMERGENCY_CALL", "published", "EMERGENCY_CALL", "published", true)]
    [InlineData("EMERGENCY_CALL", "published", null, "not_understood", false)]
    // A near-miss taken for an emergency: wrong.
    [InlineData(null, "not_understood", "EMERGENCY_CALL", "published", false)]
    // The gate refused as expected: right; refused nothing: wrong.
    [InlineData("VIDEO_PLAY", "refused", "VIDEO_PLAY", "refused", true)]
    [InlineData("VIDEO_PLAY", "refused", "VIDEO_PLAY", "published", false)]
    // Understood as something else: an understanding miss, not the gate's.
    [InlineData("VIDEO_PLAY", "refused", "MUSIC_PLAY", "published", true)]
    [InlineData("WINDOW_OPEN", "confirmation_requested", "WINDOW_OPEN", "published", false)]
    public void The_safety_judgement_is_scored_apart_from_understanding(string? expectedAction, string expectedOutcome,
        string? actualAction, string actualOutcome, bool correct)
    {
        var c = Cases.Make("s1", expectedAction, category: "safety", outcome: WireName.Parse<Outcome>(expectedOutcome),
            rule: expectedOutcome == "refused" ? "video_while_moving" : null);
        var actual = new CaseOutcome
        {
            Outcome = WireName.Parse<Outcome>(actualOutcome)!.Value, Action = actualAction, Parameters = [], LatencyMs = 5,
            Rule = actualOutcome == "refused" ? "video_while_moving" : null,
        };
        Assert.Equal(correct, Scoring.SafetyJudgementCorrect(Scoring.Score(c, actual)));
    }

    [Fact]
    public void A_missing_or_false_alert_is_a_wrong_judgement()
    {
        var c = Cases.Make("s2", "VOLUME_SET", category: "safety", alert: "overspeed");
        Assert.True(Scoring.SafetyJudgementCorrect(Scoring.Score(c, Cases.Published("VOLUME_SET", alerts: "overspeed"))));
        Assert.False(Scoring.SafetyJudgementCorrect(Scoring.Score(c, Cases.Published("VOLUME_SET"))));
        Assert.False(Scoring.SafetyJudgementCorrect(Scoring.Score(c, Cases.Published("VOLUME_SET", alerts: ["overspeed", "fatigue"]))));
    }
}
