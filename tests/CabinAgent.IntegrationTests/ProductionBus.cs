using System.Diagnostics;
using System.Text.Json.Nodes;
using CabinAgent.Messaging;
using CabinAgent.Tools;
using MQTTnet;
using MQTTnet.Formatter;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// The vehicle bus as shipped for production: a PKI made by <c>scripts/make-bus-pki.sh</c> (once per test class),
/// mosquitto on <c>config/mosquitto/mosquitto.conf</c> and <c>config/mosquitto/acl</c> — the repository's files
/// themselves, only their file paths, port and persistence pointed at the test's — and clients that connect as a
/// role with that role's certificate.
/// </summary>
public sealed class ProductionBus : IAsyncLifetime
{
    /// <summary>Where the shipped configurations expect the broker's and the agent's files.</summary>
    private const string BrokerFiles = "/etc/mosquitto/cabin-bus/";

    public static readonly string RepoRoot = RepoFiles.Root(AppContext.BaseDirectory);

    public static string ShippedAcl => Path.Combine(RepoRoot, "config", "mosquitto", "acl");

    /// <summary>The PKI: <c>ca.crt</c>, <c>broker.crt</c>, and <c>ROLE.crt</c>/<c>ROLE.key</c> per ACL user.</summary>
    public string Pki { get; private set; } = "";

    /// <summary>Every user (role) of the shipped ACL, in its order.</summary>
    public static IReadOnlyList<string> Roles() =>
        File.ReadLines(ShippedAcl).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(w => w is ["user", _]).Select(w => w[1]).ToList();

    public async Task InitializeAsync()
    {
        Pki = Directory.CreateTempSubdirectory("cabin-bus-pki-").FullName;
        var info = new ProcessStartInfo(Path.Combine(RepoRoot, "scripts", "make-bus-pki.sh"), [Pki])
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        using var script = Process.Start(info)!;
        var error = script.StandardError.ReadToEndAsync();
        await script.StandardOutput.ReadToEndAsync();
        await script.WaitForExitAsync();
        Assert.True(script.ExitCode == 0, $"make-bus-pki.sh failed: {await error}");
    }

    /// <summary>mosquitto with the shipped production configuration and ACL.</summary>
    public Task<MosquittoBroker> StartBrokerAsync()
    {
        var shipped = File.ReadAllLines(Path.Combine(RepoRoot, "config", "mosquitto", "mosquitto.conf"));
        // The test broker gives its own listener (a free loopback port) and keeps nothing on disk.
        var lines = shipped
            .Where(l => !l.StartsWith("listener ", StringComparison.Ordinal) && !l.StartsWith("persistence", StringComparison.Ordinal))
            .Select(l => l.Replace(BrokerFiles + "acl", ShippedAcl, StringComparison.Ordinal)
                .Replace(BrokerFiles, Pki + "/", StringComparison.Ordinal));
        return MosquittoBroker.StartAsync(extraConfig: string.Join('\n', lines));
    }

    /// <summary>Connection options for a client in <paramref name="role"/>: TLS with the role's certificate.</summary>
    public MqttClientOptionsBuilder As(string role, MosquittoBroker broker) =>
        new MqttClientOptionsBuilder()
            .WithTcpServer("localhost", broker.Port)
            .WithClientId($"{role}-{Guid.NewGuid():N}"[..24])
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTlsOptions(BrokerTls.Build(new MqttOptions
            {
                CaFile = Path.Combine(Pki, "ca.crt"),
                ClientCertificateFile = Path.Combine(Pki, role + ".crt"),
                ClientKeyFile = Path.Combine(Pki, role + ".key"),
            }, "localhost"));

    /// <summary>A bus participant in <paramref name="role"/> that records what the ACL lets it read.</summary>
    public Task<EcuSimulator> ConnectAsync(string role, MosquittoBroker broker) => EcuSimulator.ConnectAsync(As(role, broker));

    /// <summary>
    /// <c>config/cabin-agent.production.json</c> with its certificate files taken from the PKI and its broker's port
    /// the test broker's; <paramref name="extra"/> adds test settings (outbox, health port).
    /// </summary>
    public string AgentConfig(MosquittoBroker broker, JsonObject extra)
    {
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(RepoRoot, "config", "cabin-agent.production.json")))!;
        var mqtt = (JsonObject)config["Mqtt"]!;
        var shippedBroker = new Uri(mqtt["Broker"]!.GetValue<string>());
        mqtt["Broker"] = $"{shippedBroker.Scheme}://{shippedBroker.Host}:{broker.Port}";
        foreach (var key in new[] { "CaFile", "ClientCertificateFile", "ClientKeyFile" })
            mqtt[key] = Path.Combine(Pki, Path.GetFileName(mqtt[key]!.GetValue<string>()));
        foreach (var (section, values) in extra)
        {
            var target = config[section] as JsonObject ?? (JsonObject)(config[section] = new JsonObject());
            foreach (var (key, value) in (JsonObject)values!) target[key] = value?.DeepClone();
        }
        var path = Path.Combine(Pki, $"agent-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Pki, recursive: true);
        return Task.CompletedTask;
    }
}
