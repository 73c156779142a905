using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;

namespace CabinAgent.Messaging;

/// <summary>
/// TLS to the broker as a mosquitto user would set it up: the broker's certificate must chain to the
/// configured CA and match the host name; optionally a client certificate.
/// </summary>
public static class BrokerTls
{
    public static MqttClientTlsOptions Build(MqttOptions options, string host)
    {
        X509Certificate2? ca = string.IsNullOrWhiteSpace(options.CaFile) ? null : X509CertificateLoader.LoadCertificateFromFile(options.CaFile);
        var builder = new MqttClientTlsOptionsBuilder()
            .UseTls()
            .WithTargetHost(host)
            .WithSslProtocols(SslProtocols.Tls12 | SslProtocols.Tls13)
            .WithCertificateValidationHandler(e => IsTrusted(e.Certificate, e.SslPolicyErrors, ca));
        if (!string.IsNullOrWhiteSpace(options.ClientCertificateFile) && !string.IsNullOrWhiteSpace(options.ClientKeyFile))
        {
            using var pem = X509Certificate2.CreateFromPemFile(options.ClientCertificateFile, options.ClientKeyFile);
            // SslStream on Linux wants the key in a PKCS#12 container, not an ephemeral PEM key.
            builder = builder.WithClientCertificates([X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null)]);
        }
        return builder.Build();
    }

    /// <summary>The chain must end at the configured CA (or a system root without one), and the name must match.</summary>
    public static bool IsTrusted(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2? ca)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            return false;
        if (ca is null)
            return errors == SslPolicyErrors.None;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}
