using System.Diagnostics;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// TLS with a CA, a client certificate and a password, against a mosquitto whose ACL lets the agent publish
/// only its own topics. Certificates are made by openssl for each run.
/// </summary>
public sealed class TlsTests : IAsyncLifetime
{
    private string _dir = "";

    public async Task InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("cabin-tls-").FullName;
        await Run("openssl", "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=cabin-test-ca -keyout ca.key -out ca.crt");
        await File.WriteAllTextAsync(Path.Combine(_dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
        await Run("openssl", "req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr");
        await Run("openssl", "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.crt");
        await Run("openssl", "req -newkey rsa:2048 -nodes -subj /CN=cabin-agent -keyout client.key -out client.csr");
        await Run("openssl", "x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt");
        await Run("openssl", "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=some-other-ca -keyout other.key -out other.crt");
        await File.WriteAllTextAsync(Path.Combine(_dir, "agent.password"), "s3cret-agent\n");
        await Run("mosquitto_passwd", "-b -c passwd cabin-agent s3cret-agent");
        await Run("mosquitto_passwd", "-b passwd ecu ecu-pass");
        await File.WriteAllTextAsync(Path.Combine(_dir, "acl"), """
            user cabin-agent
            topic write vehicle/demo/cmd/#
            topic readwrite vehicle/demo/agent/#
            topic write vehicle/demo/safety/#
            topic read vehicle/demo/telemetry/#

            user ecu
            topic readwrite vehicle/#
            """.Replace("            ", ""));
    }

    private string F(string name) => Path.Combine(_dir, name);

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

    private Task<MosquittoBroker> StartBrokerAsync() => MosquittoBroker.StartAsync(extraConfig: $"""
        cafile {F("ca.crt")}
        certfile {F("server.crt")}
        keyfile {F("server.key")}
        require_certificate true
        password_file {F("passwd")}
        acl_file {F("acl")}
        """.Replace("        ", ""));

    private static Dictionary<string, string?> TlsConfig(MosquittoBroker broker, string dir, string ca = "ca.crt") => new()
    {
        ["Mqtt:Broker"] = $"mqtts://localhost:{broker.Port}",
        ["Mqtt:CaFile"] = Path.Combine(dir, ca),
        ["Mqtt:ClientCertificateFile"] = Path.Combine(dir, "client.crt"),
        ["Mqtt:ClientKeyFile"] = Path.Combine(dir, "client.key"),
        ["Mqtt:Username"] = "cabin-agent",
        ["Mqtt:PasswordFile"] = Path.Combine(dir, "agent.password"),
    };

    private async Task<IMqttClient> ConnectAsync(MosquittoBroker broker, string user, string password)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var options = new CabinAgent.Messaging.MqttOptions
        {
            Broker = $"mqtts://localhost:{broker.Port}", CaFile = F("ca.crt"),
            ClientCertificateFile = F("client.crt"), ClientKeyFile = F("client.key"),
        };
        await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("localhost", broker.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCredentials(user, password)
            .WithTlsOptions(CabinAgent.Messaging.BrokerTls.Build(options, "localhost"))
            .Build());
        return client;
    }

    [Fact]
    public async Task TheAgentPublishesOverTlsWithACertificateAndAPasswordUnderAnAcl()
    {
        await using var broker = await StartBrokerAsync();
        using var ecu = await ConnectAsync(broker, "ecu", "ecu-pass");
        var received = new List<string>();
        ecu.ApplicationMessageReceivedAsync += e => { lock (received) received.Add(e.ApplicationMessage.Topic); return Task.CompletedTask; };
        await ecu.SubscribeAsync("vehicle/demo/#", MqttQualityOfServiceLevel.AtLeastOnce);

        var overrides = TlsConfig(broker, _dir);
        overrides["Mqtt:OutboxPath"] = AgentUnderTest.NewOutboxPath();
        overrides["Agent:Tiers"] = "deterministic";
        await using var services = CabinAgent.Host.Commands.CliSupport.BuildAgent(
            CabinAgent.Host.Composition.AgentComposition.BuildConfiguration(null, overrides), verbose: false);
        var connection = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<CabinAgent.Messaging.MqttConnection>(services);
        await connection.ConnectAsync(CancellationToken.None);
        var pipeline = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<CabinAgent.Pipeline.UtterancePipeline>(services);
        var record = await pipeline.ProcessAsync(new CabinAgent.Pipeline.UtteranceInput("tls-1", "下一首"));

        Assert.Equal(CabinAgent.Pipeline.Outcomes.Published, record.Outcome);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !received.Contains("vehicle/demo/cmd/media")) await Task.Delay(50);
        Assert.Contains("vehicle/demo/cmd/media", received);
        Assert.Contains("vehicle/demo/agent/status", received);
    }

    [Fact]
    public async Task TheAclRefusesTheAgentsCredentialsOutsideItsTopics()
    {
        await using var broker = await StartBrokerAsync();
        using var asAgent = await ConnectAsync(broker, "cabin-agent", "s3cret-agent");
        var refused = await asAgent.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("vehicle/demo/telemetry/speed_kmh")
            .WithPayload("{\"value\": 0}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var allowed = await asAgent.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("vehicle/demo/cmd/media")
            .WithPayload("{}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.NoMatchingSubscribers, allowed.ReasonCode); // accepted; nobody listens
    }

    [Fact]
    public async Task ABrokerCertificateFromAnotherCaIsRefused()
    {
        await using var broker = await StartBrokerAsync();
        var overrides = TlsConfig(broker, _dir, ca: "other.crt");
        overrides["Mqtt:OutboxPath"] = AgentUnderTest.NewOutboxPath();
        overrides["Mqtt:ConnectTimeoutMs"] = "3000";
        await using var services = CabinAgent.Host.Commands.CliSupport.BuildAgent(
            CabinAgent.Host.Composition.AgentComposition.BuildConfiguration(null, overrides), verbose: false);
        var connection = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<CabinAgent.Messaging.MqttConnection>(services);

        await Assert.ThrowsAnyAsync<Exception>(() => connection.ConnectAsync(CancellationToken.None));
        Assert.False(connection.IsConnected);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}
