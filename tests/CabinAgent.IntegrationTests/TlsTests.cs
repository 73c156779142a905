using System.Diagnostics;
using CabinAgent.Host.Commands;
using CabinAgent.Host.Composition;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// The agent's TLS options against mosquitto, with the bus PKI of <c>scripts/make-bus-pki.sh</c> and the shipped ACL:
/// a client certificate plus a password (for brokers that log in by password instead of by certificate identity),
/// and a broker certificate from a foreign CA refused. The production set-up itself is in <see cref="BusRoleTests"/>.
/// </summary>
public sealed class TlsTests(ProductionBus bus) : IClassFixture<ProductionBus>, IAsyncLifetime
{
    private string _dir = "";

    private string F(string name) => Path.Combine(_dir, name);

    public async Task InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("cabin-tls-").FullName;
        await File.WriteAllTextAsync(F("agent.password"), "s3cret-agent\n");
        await Run("mosquitto_passwd", "-b -c passwd cabin-agent s3cret-agent");
        await Run("mosquitto_passwd", "-b passwd ecu-media ecu-pass");
        await Run("openssl", "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=some-other-ca -keyout other.key -out other.crt");
    }

    private async Task Run(string tool, string args)
    {
        var info = new ProcessStartInfo(tool) { WorkingDirectory = _dir, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args.Split(' ')) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var err = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"{tool} {args}: {await err}");
    }

    /// <summary>TLS with a required client certificate, users from a password file, the shipped ACL.</summary>
    private Task<MosquittoBroker> StartBrokerAsync() => MosquittoBroker.StartAsync(extraConfig: $"""
        cafile {Path.Combine(bus.Pki, "ca.crt")}
        certfile {Path.Combine(bus.Pki, "broker.crt")}
        keyfile {Path.Combine(bus.Pki, "broker.key")}
        require_certificate true
        password_file {F("passwd")}
        acl_file {ProductionBus.ShippedAcl}
        """.Replace("        ", ""));

    private ServiceProvider BuildAgent(MosquittoBroker broker, string ca)
    {
        var overrides = new Dictionary<string, string?>
        {
            ["Mqtt:Broker"] = $"mqtts://localhost:{broker.Port}",
            ["Mqtt:CaFile"] = ca,
            ["Mqtt:ClientCertificateFile"] = Path.Combine(bus.Pki, "cabin-agent.crt"),
            ["Mqtt:ClientKeyFile"] = Path.Combine(bus.Pki, "cabin-agent.key"),
            ["Mqtt:Username"] = "cabin-agent",
            ["Mqtt:PasswordFile"] = F("agent.password"),
            ["Mqtt:OutboxPath"] = AgentUnderTest.NewOutboxPath(),
            ["Mqtt:ConnectTimeoutMs"] = "3000",
            ["Agent:Tiers"] = "deterministic",
        };
        return CliSupport.BuildAgent(AgentComposition.BuildConfiguration(null, overrides), verbose: false);
    }

    [Fact]
    public async Task TheAgentPublishesOverTlsWithACertificateAndAPasswordUnderTheShippedAcl()
    {
        await using var broker = await StartBrokerAsync();
        await using var ecu = await EcuSimulator.ConnectAsync(bus.As("ecu-media", broker).WithCredentials("ecu-media", "ecu-pass"));

        await using var services = BuildAgent(broker, Path.Combine(bus.Pki, "ca.crt"));
        await services.GetRequiredService<MqttConnection>().ConnectAsync(CancellationToken.None);
        var record = await services.GetRequiredService<UtterancePipeline>().ProcessAsync(new UtteranceInput("tls-1", "下一首"));

        Assert.Equal(Outcome.Published, record.Outcome);
        await ecu.WaitForAsync(r => r.Any(m => m.Topic == "vehicle/demo/cmd/media"), TimeSpan.FromSeconds(30));
        Assert.Equal(["vehicle/demo/agent/status", "vehicle/demo/cmd/media"], ecu.Received.Select(m => m.Topic).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ABrokerCertificateFromAnotherCaIsRefused()
    {
        await using var broker = await StartBrokerAsync();
        await using var services = BuildAgent(broker, F("other.crt"));
        var connection = services.GetRequiredService<MqttConnection>();

        await Assert.ThrowsAnyAsync<Exception>(() => connection.ConnectAsync(CancellationToken.None));
        Assert.False(connection.IsConnected);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}
