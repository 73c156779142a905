using System.Diagnostics;
using CabinAgent.Host.Commands;
using CabinAgent.Host.Composition;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using CabinAgent.Speech.Audio;
using CabinAgent.Speech.Sources;
using CabinAgent.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Protocol;

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
        await Run("mosquitto_passwd", "-b passwd speech-front front-pass");
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
            ["Speech:Input:Kind"] = "mqtt", // the audio connection exists only with MQTT audio input
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

    /// <summary>
    /// Speech's MQTT audio has a connection of its own, but the same connection type with the agent's options, so it has
    /// the agent's TLS, client certificate and password (the cabin-agent user; the ACL keys on the user, not the client id): the cockpit front-end's audio, published under the speech-front
    /// role, reaches the recogniser sample for sample.
    /// </summary>
    [Fact]
    public async Task MqttAudioArrivesOverTheAgentsTlsConnectionWithItsCertificateAndPassword()
    {
        await using var broker = await StartBrokerAsync();
        await using var services = BuildAgent(broker, Path.Combine(bus.Pki, "ca.crt"));
        await services.GetRequiredService<MqttConnection>().ConnectAsync(CancellationToken.None);
        var feed = services.GetRequiredService<IAudioFeed>();
        var log = new ListLogger();
        await using var source = new MqttAudioSource(feed, new AudioInputOptions { Kind = "mqtt", SampleRate = 16_000, Channels = 1 }, log);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reader = source.ReadAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var first = reader.MoveNextAsync().AsTask();
        await source.Subscribed.WaitAsync(cts.Token);
        Assert.Equal($"mqtt:{feed.Topic}@localhost:{broker.Port}", source.Description);

        // 300 ms of a 440 Hz tone from the cockpit front-end in 20 ms chunks, then push-to-talk released.
        var pcm = new byte[16 * 300 * 2];
        for (var i = 0; i < pcm.Length / 2; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(pcm.AsSpan(i * 2), (short)Math.Round(9830 * Math.Sin(2 * Math.PI * 440 * i / 16_000)));
        using (var frontEnd = new MqttClientFactory().CreateMqttClient())
        {
            await frontEnd.ConnectAsync(bus.As("speech-front", broker).WithCredentials("speech-front", "front-pass").Build(), cts.Token);
            for (var i = 0; i < pcm.Length; i += 640)
                await frontEnd.PublishBinaryAsync(feed.Topic, pcm[i..(i + 640)], MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken: cts.Token);
            await frontEnd.PublishBinaryAsync(feed.Topic, [], MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken: cts.Token);
        }

        var samples = new List<float>();
        for (var next = first; await next; next = reader.MoveNextAsync().AsTask())
        {
            if (reader.Current.IsEmpty) break;
            samples.AddRange(reader.Current.ToArray());
        }
        await reader.DisposeAsync();

        var expected = Enumerable.Range(0, pcm.Length / 2)
            .Select(i => System.Buffers.Binary.BinaryPrimitives.ReadInt16LittleEndian(pcm.AsSpan(i * 2)) / 32768f);
        Assert.Equal(expected, samples);
        Assert.Equal($"Information MQTT audio: listening on {feed.Topic} at localhost:{broker.Port} (16000 Hz, 1 ch, s16le)", Assert.Single(log.Lines));
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}
