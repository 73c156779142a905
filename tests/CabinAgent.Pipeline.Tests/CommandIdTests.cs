using CabinAgent.Understanding;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.Pipeline.Tests;

/// <summary>
/// A command id names one command: ECUs drop a second message with the same id (docs/mqtt.md), so two commands
/// must never share one, and the same accepted utterance run again must keep its id.
/// </summary>
public class CommandIdTests
{
    private readonly RecordingOutput _output = new();

    private UtterancePipeline Pipeline() =>
        new(Fixtures.Catalog, Fixtures.Schema, [new ScriptedTier(Tier.Deterministic, (u, _) => Task.FromResult<TierResult>(u.Text switch
        {
            "下一首" => Fixtures.Understood("MUSIC_NEXT", "{}", 0.95),
            _ => Fixtures.Understood("HVAC_SET_TEMPERATURE", """{"temperature": 22}""", 0.95),
        }))], new ScriptedSafety(), _output, new PipelineOptions(), NullLogger<UtterancePipeline>.Instance);

    [Fact]
    public async Task AReusedUtteranceIdWithOtherWordsGetsANewCommandId()
    {
        var pipeline = Pipeline();
        var next = await pipeline.ProcessAsync(new UtteranceInput("1", "下一首", AcceptedUnixMs: 1_000));
        var warmer = await pipeline.ProcessAsync(new UtteranceInput("1", "温度调到22度", AcceptedUnixMs: 2_000));

        Assert.Equal((Outcome.Published, Outcome.Published), (next.Outcome, warmer.Outcome));
        Assert.NotEqual(next.CommandId, warmer.CommandId);
        Assert.Equal([next.CommandId, warmer.CommandId], _output.Commands.Select(c => c.CommandId));
    }

    [Fact]
    public async Task TheSameWordsUnderTheSameIdAcceptedLaterAreANewCommand()
    {
        var pipeline = Pipeline();
        var first = await pipeline.ProcessAsync(new UtteranceInput("1", "下一首", AcceptedUnixMs: 1_000));
        var later = await pipeline.ProcessAsync(new UtteranceInput("1", "下一首", AcceptedUnixMs: 61_000));

        Assert.NotEqual(first.CommandId, later.CommandId);
    }

    [Fact]
    public async Task TheSameAcceptedUtteranceRunAgainKeepsItsCommandId()
    {
        // A restart re-runs an utterance from the intake journal with the moment it was first accepted.
        var input = new UtteranceInput("u-7", "下一首", AcceptedUnixMs: 1_764_000_000_000);
        var first = await Pipeline().ProcessAsync(input);
        var again = await Pipeline().ProcessAsync(input with { ReceivedTimestamp = 42 });

        Assert.Equal(first.CommandId, again.CommandId);
        Assert.Equal(UtteranceInput.CommandIdFor(input), first.CommandId);
        Assert.Matches("^[0-9a-f]{32}$", first.CommandId);
    }

    [Theory]
    [InlineData("a", "bc", "ab", "c")]
    [InlineData("a\n1", "x", "a", "1\nx")]
    public void IdTextAndTimeCannotBeShiftedIntoEachOther(string id1, string text1, string id2, string text2) =>
        Assert.NotEqual(UtteranceInput.CommandIdFor(new UtteranceInput(id1, text1)), UtteranceInput.CommandIdFor(new UtteranceInput(id2, text2)));
}
