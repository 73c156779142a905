using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Understanding.Deterministic;
using Xunit;

namespace CabinAgent.Understanding.Tests;

/// <summary>Every test sentence written beside the templates in config/intents runs as a test case.</summary>
public class TemplateSentenceTests
{
    public static TheoryData<IntentTestCase> Understood()
    {
        var data = new TheoryData<IntentTestCase>();
        foreach (var test in Repo.Tier.TestCases)
            if (test.Action is not null) data.Add(test);
        return data;
    }

    public static TheoryData<IntentTestCase> Rejected()
    {
        var data = new TheoryData<IntentTestCase>();
        foreach (var test in Repo.Tier.TestCases)
            if (test.Action is null) data.Add(test);
        return data;
    }

    [Theory]
    [MemberData(nameof(Understood))]
    public void Sentence_is_understood_exactly(IntentTestCase test)
    {
        var result = Repo.Understand(test.Text);

        if (result is NotUnderstood rejected)
            Assert.Fail($"'{test.Text}' ({test.File}): expected {test.Action}, not understood: {rejected.Reason} ({rejected.Explanation})");
        var understood = Assert.IsType<Understood>(result);
        Assert.True(test.Action == understood.Action,
            $"'{test.Text}' ({test.File}): expected {test.Action}, got {understood.Action} via {understood.Explanation}");
        Assert.True(JsonNode.DeepEquals(test.Parameters, understood.Parameters),
            $"'{test.Text}' ({test.File}): expected {test.Parameters.ToJsonString()}, got {understood.Parameters.ToJsonString()} via {understood.Explanation}");
        Assert.Equal(test.Language, understood.Lang.Code());
        Assert.InRange(understood.Confidence, 0.5, 1.0);
        Assert.False(string.IsNullOrEmpty(understood.Explanation));
    }

    [Theory]
    [MemberData(nameof(Understood))]
    public void Sentence_yields_a_command_the_schema_accepts(IntentTestCase test)
    {
        var result = Repo.Understand(test.Text);
        if (result is NotUnderstood rejected)
            Assert.Fail($"'{test.Text}': not understood: {rejected.Reason}");
        var understood = Assert.IsType<Understood>(result);
        var action = Repo.Catalog.Get(understood.Action);
        var command = new VehicleCommand
        {
            Action = understood.Action,
            Parameters = understood.Parameters,
            Response = ResponseRenderer.Render(Repo.Catalog, action, understood.Parameters, understood.Lang.Code()),
            Confidence = understood.Confidence,
            RequiresConfirmation = action.RequiresConfirmation,
        };
        Assert.Empty(Repo.Schema.Validate(command));
    }

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Sentence_is_rejected_with_a_reason(IntentTestCase test)
    {
        var result = Repo.Understand(test.Text);

        var rejected = Assert.IsType<NotUnderstood>(result);
        Assert.False(string.IsNullOrWhiteSpace(rejected.Reason));
        if (test.ReasonContains is { } expected)
            Assert.Contains(expected, rejected.Reason, StringComparison.Ordinal);
    }
}
