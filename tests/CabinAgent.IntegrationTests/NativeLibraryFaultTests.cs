using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using CabinAgent.Training;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// A custom libllama that cannot run here (Llm:NativeLibraryPath at a build for another architecture: the backend
/// package's own arm64 build on x64, and the other way round) is a start-up error of the model tier that names the
/// setting, in the log and on /healthz, while the daemon keeps serving commands on the deterministic tier.
/// </summary>
public class NativeLibraryFaultTests
{
    [Fact]
    [Trait("Category", "Fault")]
    public async Task AForeignLibllamaIsAStartUpErrorNamingTheSettingAndTheDeterministicTierStillServes()
    {
        var (foreign, foreignArch, ourArch) = RuntimeInformation.ProcessArchitecture == Architecture.Arm64
            ? (Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "avx2", "libllama.so"), "x86-64", "arm64")
            : (Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-arm64", "native", "libllama.so"), "arm64", "x86-64");
        Assert.True(File.Exists(foreign), $"the backend package's {foreignArch} build is copied to the output: {foreign}");
        await using var broker = await MosquittoBroker.StartAsync();
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url);
        var healthPort = CabinAgent.Messaging.EmbeddedBroker.FreeLoopbackPort();
        var config = Path.Combine(Path.GetTempPath(), $"cabin-foreign-llama-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, new JsonObject
        {
            ["Mqtt"] = new JsonObject { ["OutboxPath"] = AgentUnderTest.NewOutboxPath() },
            ["Llm"] = new JsonObject { ["ModelPath"] = TestModelBuilder.EnsureDefault(), ["NativeLibraryPath"] = foreign },
            ["Observability"] = new JsonObject { ["Port"] = healthPort },
        }.ToJsonString());
        using var agent = DaemonProcessTests.StartAgent("run", "--broker", broker.Url, "--config", config);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}") };
        try
        {
            JsonNode? health = null;
            for (var i = 0; i < 600 && health is null; i++)
            {
                try { health = JsonNode.Parse(await http.GetStringAsync("/healthz")); }
                catch (HttpRequestException) { await Task.Delay(100); }
            }
            Assert.NotNull(health);
            Assert.Equal("failed", health!["components"]!["llm"]!.GetValue<string>());
            Assert.Equal(["deterministic"], health["components"]!["tiers"]!.AsArray().Select(t => t!.GetValue<string>()));
            var expected = $"LLM tier unavailable (Llm:NativeLibraryPath '{foreign}' is built for {foreignArch}, this process is {ourArch}; " +
                           "use a " + ourArch + " build of llama.cpp c0c7e14); running on the deterministic tier and the safety layer";
            Assert.Contains(health["degraded"]!.AsArray(), d => d!.GetValue<string>() == expected);

            await ecu.WaitForAsync(r => r.Any(m => m.Topic == "vehicle/demo/agent/status" && m.Payload.Contains("online")), TimeSpan.FromSeconds(60));
            await ecu.PublishAsync("vehicle/demo/agent/transcript", Encoding.UTF8.GetBytes("暂停"));
            await ecu.WaitForAsync(r => r.Any(m => m.Topic == "vehicle/demo/cmd/media"));
            Assert.Equal("MUSIC_PAUSE", ecu.On("vehicle/demo/cmd/media").Single().Json["action"]!.GetValue<string>());
        }
        finally
        {
            agent.Kill();
            File.Delete(config);
        }
    }
}
