namespace CabinAgent.Speech.Tests;

/// <summary>
/// A test that needs a real pretrained whisper model (none can be downloaded here). It runs when
/// CABIN_WHISPER_MODEL points to a ggml model file (e.g. ggml-base.bin) and is reported as skipped,
/// with the reason, otherwise.
/// </summary>
public sealed class RealModelFactAttribute : FactAttribute
{
    public const string Variable = "CABIN_WHISPER_MODEL";

    public RealModelFactAttribute()
    {
        var path = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(path))
            Skip = $"needs a real whisper model: set {Variable} to a ggml model file (e.g. ggml-base.bin)";
        else if (!File.Exists(path))
            Skip = $"{Variable}='{path}' does not exist";
    }

    public static string ModelPath => Environment.GetEnvironmentVariable(Variable)!;
}
