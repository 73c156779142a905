using CabinAgent.Actions;
using CabinAgent.Pipeline;

namespace CabinAgent.Evaluation.Tests;

/// <summary>The committed evaluation set: size, shares, format, and every expectation valid against the catalog.</summary>
public class DatasetTests
{
    private static readonly IReadOnlyList<EvalCase> Dev = EvalDataset.Load(Repo.File("eval", "dev.jsonl"));
    private static readonly IReadOnlyList<EvalCase> Test = EvalDataset.Load(Repo.File("eval", "test.jsonl"));
    private static readonly IReadOnlyList<EvalCase> All = [.. Dev, .. Test];

    [Fact]
    public void Has_at_least_a_thousand_cases_split_about_30_70()
    {
        Assert.True(All.Count >= 1000, $"{All.Count} cases");
        var devShare = Dev.Count / (double)All.Count;
        Assert.InRange(devShare, 0.28, 0.32);
    }

    [Fact]
    public void Every_case_is_valid_against_the_catalog_and_the_format()
    {
        var problems = new DatasetValidator(Repo.Catalog()).Validate(All);
        Assert.Empty(problems);
    }

    [Theory]
    [InlineData("music", 0.30)]
    [InlineData("navigation", 0.24)]
    [InlineData("vehicle_control", 0.20)]
    [InlineData("status_query", 0.16)]
    [InlineData("safety", 0.10)]
    public void Category_shares_follow_the_seed_within_two_points(string category, double share)
    {
        foreach (var set in new[] { All, Test, Dev })
        {
            var actual = set.Count(c => c.Category == category) / (double)set.Count;
            Assert.InRange(actual, share - 0.02, share + 0.02);
        }
    }

    [Fact]
    public void Mostly_chinese_about_60_40()
    {
        var zh = All.Count(c => c.Lang == "zh") / (double)All.Count;
        Assert.InRange(zh, 0.57, 0.63);
        Assert.Equal(All.Count, All.Count(c => c.Lang is "zh" or "en"));
    }

    [Fact]
    public void Ids_are_unique_across_both_splits_and_no_input_is_in_both()
    {
        Assert.Equal(All.Count, All.Select(c => c.Id).Distinct().Count());
        Assert.Empty(Dev.Select(c => c.Input).Intersect(Test.Select(c => c.Input)));
    }

    [Fact]
    public void Every_catalog_action_is_expected_in_the_test_split()
    {
        var expected = Test.Select(c => c.Expected.Action).OfType<string>().ToHashSet();
        var missing = Repo.Catalog().Actions.Select(a => a.Name).Where(a => !expected.Contains(a)).ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void Each_split_has_negatives_refusals_confirmations_alerts_and_emergencies()
    {
        foreach (var set in new[] { Dev, Test })
        {
            foreach (var category in ActionCategories.All)
                Assert.Contains(set, c => c.Category == category && c.Expected.Outcome == Outcome.NotUnderstood);
            Assert.Contains(set, c => c.Expected.Outcome == Outcome.Refused);
            Assert.Contains(set, c => c.Expected.Outcome == Outcome.ConfirmationRequested);
            foreach (var alert in SafetyVocabulary.AlertKinds)
                Assert.Contains(set, c => c.Expected.Alert == alert);
            Assert.Contains(set, c => c.Expected.Action == "EMERGENCY_CALL" && c.Expected.Tier == "safety" && c.Priority == Priorities.Emergency);
        }
    }

    [Fact]
    public void Safety_cases_with_alerts_or_refusals_carry_a_vehicle_state_in_motion()
    {
        var moving = All.Where(c => c.Expected.Alert is not null || c.Expected.Rule is not null).ToList();
        Assert.NotEmpty(moving);
        Assert.All(moving, c => Assert.True(c.VehicleState!["speed_kmh"]!.GetValue<double>() > 0, c.Id));
    }
}
