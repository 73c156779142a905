using System.Text;
using CabinAgent.Messaging;

namespace CabinAgent.IntegrationTests;

/// <summary>The durable intake journal on a real file: what comes back after a restart, and what is a redelivery.</summary>
public sealed class IntakeJournalTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"cabin-intake-{Guid.NewGuid():N}.jsonl");
    private readonly TimeProvider _time = TimeProvider.System;

    private IntakeJournal Open() => new(_path, TimeSpan.FromHours(1), _time);

    private static readonly long Now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();

    private static IntakeEntry WithId(string id, string text) => Entry("c:" + Hash($"{id}|{text}"), Hash($"{id}|{text}"), true, id, text);

    private static IntakeEntry Plain(string text, string generatedId) => Entry("u:" + generatedId, Hash(text), false, generatedId, text);

    private static IntakeEntry Entry(string key, string content, bool sourceId, string id, string text) =>
        new(key, content, sourceId, id, text, "zh", null, null, Now);

    private static string Hash(string s) => IntakeEntry.ContentHash(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void AnUnfinishedTranscriptComesBackAfterARestartWithItsAcceptanceTimeAndAFinishedOneDoesNot()
    {
        using (var journal = Open())
        {
            Assert.Equal([null, null, null], journal.Accept([(WithId("a", "下一首"), false, 1), (WithId("b", "暂停"), false, 1), (Plain("救命", "g1"), false, 1)]));
            journal.Complete("c:" + Hash("a|下一首"));
        }
        using var reopened = Open();

        Assert.Equal([("b", "暂停", Now), ("g1", "救命", Now)],
            reopened.UnfinishedEntries().Select(e => (e.Id, e.Text!, e.AcceptedUnixMs)));
    }

    [Fact]
    public void ATranscriptWithItsOwnIdIsRecognisedWhenItComesAgainEvenAfterARestart()
    {
        using (var journal = Open())
        {
            journal.Accept([(WithId("a", "下一首"), false, 1)]);
            journal.Complete("c:" + Hash("a|下一首"));
        }
        using var reopened = Open();

        var results = reopened.Accept([(WithId("a", "下一首"), true, 1), (WithId("a", "暂停"), false, 1)]);

        Assert.Equal("a", results[0]?.Id);
        Assert.Null(results[1]); // same id, other words: another utterance
    }

    [Fact]
    public void PlainTextIsARedeliveryOnlyWhenTheBrokerSaysSoOnALaterConnectionAndTheOriginalWasNeverAcknowledged()
    {
        using var journal = Open();
        journal.Accept([(Plain("下一首", "g1"), false, 1), (Plain("暂停", "g2"), false, 1)]);
        journal.Acknowledged("u:g2");

        var sameConnection = journal.Accept([(Plain("下一首", "g3"), true, 1)]);
        var saidAgain = journal.Accept([(Plain("下一首", "g4"), false, 2)]);
        var acknowledgedBefore = journal.Accept([(Plain("暂停", "g5"), true, 2)]);
        var redelivered = journal.Accept([(Plain("下一首", "g6"), true, 2)]);
        var secondRedelivery = journal.Accept([(Plain("下一首", "g7"), true, 3)]);

        Assert.Null(sameConnection[0]);
        Assert.Null(saidAgain[0]);
        Assert.Null(acknowledgedBefore[0]);
        Assert.Equal("g1", redelivered[0]?.Id);
        // g3 and g4 were accepted on connections 1 and 2 and never acknowledged: the next redelivery matches the oldest.
        Assert.Equal("g3", secondRedelivery[0]?.Id);
    }

    [Fact]
    public void TheAgentsOwnAnswerComingBackFinishesItsTranscriptSoARestartDoesNotRunItAgain()
    {
        using (var journal = Open())
        {
            journal.Accept([(WithId("a", "下一首"), false, 1), (WithId("b", "暂停"), false, 1)]);
            journal.Answered("a");
            journal.Answered("nobody");
        }
        using var reopened = Open();

        Assert.Equal(["b"], reopened.UnfinishedEntries().Select(e => e.Id));
    }

    [Fact]
    public void PlainTextAcceptedByAnEarlierProcessMatchesARedeliveryAfterTheRestart()
    {
        using (var journal = Open()) journal.Accept([(Plain("下一首", "g1"), false, 5)]);
        using var reopened = Open();

        Assert.Equal("g1", reopened.Accept([(Plain("下一首", "g2"), true, 1)])[0]?.Id);
    }

    [Fact]
    public void ATornLastLineFromAPowerCutIsSkippedAndTheRestIsKept()
    {
        using (var journal = Open()) journal.Accept([(WithId("a", "下一首"), false, 1)]);
        File.AppendAllText(_path, """{"op":"accept","entry":{"key":"c:x","cont""");
        using var reopened = Open();

        Assert.Equal(["a"], reopened.UnfinishedEntries().Select(e => e.Id));
    }

    public void Dispose()
    {
        File.Delete(_path);
        File.Delete(_path + ".tmp");
    }
}
