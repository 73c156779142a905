using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// What a Type=notify unit with WatchdogSec=10s needs from the daemon, checked against a stand-in for systemd's
/// notification socket: READY once started, the watchdog fed at half its interval, STOPPING on SIGTERM. Without the
/// pings systemd would kill the agent every 10 s.
/// </summary>
[Trait("Category", "Daemon")]
public sealed class SystemdNotifyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cabin-notify-").FullName;
    private readonly Socket _systemd = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public SystemdNotifyTests() => _systemd.Bind(new UnixDomainSocketEndPoint(SocketPath));

    private string SocketPath => Path.Combine(_directory, "notify");

    private async Task<string> NextAsync(TimeSpan within)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(within);
        var received = await _systemd.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, received);
    }

    private AgentProcess StartAgent(string brokerUrl)
    {
        var config = Path.Combine(_directory, "agent.json");
        File.WriteAllText(config, new JsonObject
        {
            ["Mqtt"] = new JsonObject { ["OutboxPath"] = AgentUnderTest.NewOutboxPath(), ["ReconnectDelayMs"] = 100 },
            ["Observability"] = new JsonObject { ["Port"] = 0 },
        }.ToJsonString());
        return AgentProcess.Start(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = SocketPath, ["WATCHDOG_USEC"] = "400000" },
            "run", "--broker", brokerUrl, "--config", config);
    }

    [Fact]
    public async Task ReadyOnceConnectedTheWatchdogFedAndStoppingOnTerm()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var agent = StartAgent(broker.Url);

        Assert.Equal("READY=1\nSTATUS=listening", await NextAsync(TimeSpan.FromSeconds(60)));
        // WatchdogSec 0.4 s: a ping every 0.2 s.
        for (var i = 0; i < 5; i++)
            Assert.Equal("WATCHDOG=1", await NextAsync(TimeSpan.FromSeconds(5)));

        agent.Terminate();
        string message;
        do message = await NextAsync(TimeSpan.FromSeconds(10));
        while (message == "WATCHDOG=1");
        Assert.Equal("STOPPING=1", message);
        Assert.Equal(0, await agent.WaitForExitAsync());
    }

    [Fact]
    public async Task ABrokerDownAtStartIsADegradedReadyAndTheWatchdogStillFed()
    {
        var url = $"mqtt://127.0.0.1:{CabinAgent.Messaging.EmbeddedBroker.FreeLoopbackPort()}";
        using var agent = StartAgent(url);

        Assert.Equal("READY=1\nSTATUS=degraded: broker unreachable, commands queue in the outbox", await NextAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("WATCHDOG=1", await NextAsync(TimeSpan.FromSeconds(5)));
        agent.Kill();
    }

    public void Dispose()
    {
        _systemd.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
