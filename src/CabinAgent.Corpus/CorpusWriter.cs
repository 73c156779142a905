using System.Text;
using System.Text.Json;
using CabinAgent.Actions;

namespace CabinAgent.Corpus;

/// <summary>Writes a build as DIR/train.jsonl, DIR/valid.jsonl (UTF-8 without BOM, LF) and DIR/manifest.json.</summary>
public static class CorpusWriter
{
    public const string TrainFile = "train.jsonl";
    public const string ValidFile = "valid.jsonl";
    public const string ManifestFile = "manifest.json";

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    public static async Task WriteAsync(string dir, CorpusBuild build, CancellationToken ct)
    {
        Directory.CreateDirectory(dir);
        await WriteLinesAsync(Path.Combine(dir, TrainFile), build.Train, ct);
        await WriteLinesAsync(Path.Combine(dir, ValidFile), build.Valid, ct);
        var manifest = build.Manifest.ToJsonString(new JsonSerializerOptions(CommandJson.Options) { WriteIndented = true }) + "\n";
        await File.WriteAllTextAsync(Path.Combine(dir, ManifestFile), manifest.Replace("\r\n", "\n"), Utf8, ct);
    }

    private static async Task WriteLinesAsync(string path, IReadOnlyList<CorpusExample> examples, CancellationToken ct)
    {
        await using var writer = new StreamWriter(path, append: false, Utf8) { NewLine = "\n" };
        foreach (var example in examples)
        {
            ct.ThrowIfCancellationRequested();
            await writer.WriteLineAsync(example.ToJsonLine());
        }
    }
}
