using CabinAgent.Llm.Models;

namespace CabinAgent.Llm.Tests;

public sealed class ModelManifestTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cabin-models-").FullName;
    private static ModelManifest Shipped() => ModelManifest.Load(Path.Combine(AppContext.BaseDirectory, "config", "models.json"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Present(params string[] files)
    {
        foreach (var f in files) File.WriteAllText(Path.Combine(_dir, f), "x");
    }

    [Fact]
    public void Small_devices_get_a_small_model_and_large_ones_a_larger_one()
    {
        var manifest = Shipped();
        Present("qwen2.5-0.5b-instruct-q4_k_m.gguf", "qwen2.5-1.5b-instruct-q4_k_m.gguf", "qwen2.5-3b-instruct-q4_k_m.gguf", "qwen2.5-7b-instruct-q4_k_m.gguf");
        const long MiB = 1024 * 1024;
        Assert.Equal("qwen2.5-0.5b-instruct-q4_k_m", manifest.Select(3000 * MiB, _dir)!.Name);
        Assert.Equal("qwen2.5-1.5b-instruct-q4_k_m", manifest.Select(6000 * MiB, _dir)!.Name);
        Assert.Equal("qwen2.5-3b-instruct-q4_k_m", manifest.Select(8192 * MiB, _dir)!.Name);
        Assert.Equal("qwen2.5-7b-instruct-q4_k_m", manifest.Select(32768 * MiB, _dir)!.Name);
        Assert.Null(manifest.Select(1024 * MiB, _dir));
    }

    [Fact]
    public void Only_present_production_files_are_selected()
    {
        var manifest = Shipped();
        Present("qwen2.5-0.5b-instruct-q4_k_m.gguf", "test-llm-v1.gguf");
        Assert.Equal("qwen2.5-0.5b-instruct-q4_k_m", manifest.Select(64L * 1024 * 1024 * 1024, _dir)!.Name);
        File.Delete(Path.Combine(_dir, "qwen2.5-0.5b-instruct-q4_k_m.gguf"));
        Assert.Null(manifest.Select(64L * 1024 * 1024 * 1024, _dir)); // the test model is never chosen
    }

    [Fact]
    public void A_file_that_differs_from_its_pinned_hash_fails_verification()
    {
        var entry = new ModelEntry { Name = "m", File = "m.gguf", Sha256 = new string('0', 64), SizeBytes = 1 };
        Present("m.gguf");
        var check = ModelManifest.Verify(Path.Combine(_dir, "m.gguf"), entry);
        Assert.False(check.Ok);
        Assert.Contains("SHA-256 differs", check.Message);
        var sizeCheck = ModelManifest.Verify(Path.Combine(_dir, "m.gguf"), entry with { SizeBytes = 2 });
        Assert.False(sizeCheck.Ok);
        Assert.Contains("size 1 differs", sizeCheck.Message);
    }

    [Fact]
    public void Malformed_manifests_are_rejected_with_the_reason()
    {
        var path = Path.Combine(_dir, "models.json");
        File.WriteAllText(path, """{"models":[{"name":"a","file":"a.gguf","sha256":"xyz"}]}""");
        Assert.Contains("64 hex digits", Assert.Throws<InvalidDataException>(() => ModelManifest.Load(path)).Message);
        File.WriteAllText(path, """{"models":[]}""");
        Assert.Contains("no models", Assert.Throws<InvalidDataException>(() => ModelManifest.Load(path)).Message);
    }
}
