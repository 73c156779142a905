using CabinAgent.Training;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.Llm.Tests;

/// <summary>
/// The generated test model (built into the cache on first use, then reused) and one tier on it,
/// shared by the model tests. Confidence floor 0: a random-weight model is never confident, and
/// these tests are about format, spans, caching and aborts, not accuracy.
/// </summary>
public sealed class TestModelFixture : IDisposable
{
    public TestModelFixture()
    {
        ModelPath = TestModelBuilder.EnsureDefault();
        Tier = LlmTier.Create(Options(), Shipped.Catalog(), NullLogger.Instance);
    }

    public string ModelPath { get; }
    public LlmTier Tier { get; }

    public LlmOptions Options(Action<LlmOptions>? change = null)
    {
        var o = new LlmOptions { ModelPath = ModelPath, ConfidenceFloor = 0, Threads = 1, DecodeDeadlineMs = 60_000 };
        change?.Invoke(o);
        return o;
    }

    public void Dispose() => Tier.Dispose();
}

[CollectionDefinition("model")]
public sealed class ModelCollection : ICollectionFixture<TestModelFixture>;
