using CabinAgent.Tools;

namespace CabinAgent.Tools.Tests;

/// <summary>The one walk up the folders to the repository's files, on a folder tree made for each test.</summary>
public sealed class RepoFilesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cabin-repofiles-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Make(params string[] parts)
    {
        var path = Path.Combine([_root, .. parts]);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "");
        return path;
    }

    private string Dir(params string[] parts) => Directory.CreateDirectory(Path.Combine([_root, .. parts])).FullName;

    [Fact]
    public void Finds_a_file_in_a_folder_above_the_start()
    {
        var file = Make("samples", "utterances.jsonl");
        var start = Dir("tests", "bin", "Release");
        Assert.Equal(file, RepoFiles.Find(Path.Combine("samples", "utterances.jsonl"), [start]));
    }

    [Fact]
    public void The_nearest_folder_that_has_it_wins()
    {
        Make("config", "safety.json");
        var nearer = Make("bin", "config", "safety.json");
        Assert.Equal(nearer, RepoFiles.Find(Path.Combine("config", "safety.json"), [Dir("bin", "net10.0")]));
    }

    [Fact]
    public void The_first_start_that_leads_to_it_wins_over_the_next()
    {
        var first = Make("one", "scripts", "x.sh");
        Make("two", "scripts", "x.sh");
        Assert.Equal(first, RepoFiles.Find(Path.Combine("scripts", "x.sh"), [Dir("one", "deep"), Dir("two", "deep")]));
        var onlySecond = Make("three", "only-here.txt");
        Assert.Equal(onlySecond, RepoFiles.Find("only-here.txt", [Dir("one", "deep"), Dir("three", "deep")]));
    }

    [Fact]
    public void Finds_folders_too()
    {
        var audio = Dir("samples", "audio");
        Assert.Equal(audio, RepoFiles.Find(Path.Combine("samples", "audio"), [Dir("src", "x")]));
    }

    [Fact]
    public void Nothing_found_is_null()
    {
        Assert.Null(RepoFiles.Find("no-such-file-" + Guid.NewGuid().ToString("N"), [Dir("a", "b")]));
    }

    [Fact]
    public void The_root_is_the_folder_of_the_solution_file()
    {
        Make("CabinAgent.sln");
        Assert.Equal(_root, RepoFiles.Root(Dir("tests", "CabinAgent.Tools.Tests", "bin")));
    }

    [Fact]
    public void Outside_a_checkout_the_root_is_an_error_naming_the_start()
    {
        var start = Dir("elsewhere");
        var error = Assert.Throws<DirectoryNotFoundException>(() => RepoFiles.Root(start));
        Assert.Equal($"no checkout (CabinAgent.sln) at or above {start}", error.Message);
    }

    [Fact]
    public void From_this_test_the_root_is_the_checkout_with_its_samples()
    {
        var root = RepoFiles.Root(AppContext.BaseDirectory);
        Assert.True(File.Exists(Path.Combine(root, "samples", "utterances.jsonl")), root);
    }
}
