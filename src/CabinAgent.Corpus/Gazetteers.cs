namespace CabinAgent.Corpus;

/// <summary>An artist with the songs the gazetteer lists for them.</summary>
public sealed record MusicArtist(string Name, IReadOnlyList<string> Songs);

/// <summary>
/// The names that fill copied parameters (data/gazetteers): music, videos, contacts and places, per language.
/// Sources: <c>artist</c>, <c>song</c>, <c>video</c>, <c>contact</c>, <c>place</c> (recipe.json span_sources maps
/// catalog parameters to them).
/// </summary>
public sealed class Gazetteers
{
    private readonly Dictionary<string, List<MusicArtist>> _music = [];
    private readonly Dictionary<string, List<string>> _videos = [];
    private readonly PlaceNames _places;
    private readonly ContactNames _contacts;

    private Gazetteers(PlaceNames places, ContactNames contacts)
    {
        _places = places;
        _contacts = contacts;
    }

    /// <summary>Names that really are both an artist and a song title (music-both.txt).</summary>
    public IReadOnlySet<string> ArtistAndSong { get; private init; } = new HashSet<string>();

    public IReadOnlyList<MusicArtist> Artists(string lang) => _music[lang];

    public static Gazetteers Load(string dir)
    {
        var g = new Gazetteers(PlaceNames.Load(dir), ContactNames.Load(Path.Combine(dir, "names.json")))
        {
            ArtistAndSong = Lines(Path.Combine(dir, "music-both.txt")).ToHashSet(StringComparer.Ordinal),
        };
        foreach (var lang in (string[])["zh", "en"])
        {
            g._music[lang] = Lines(Path.Combine(dir, $"music-{lang}.txt"))
                .Select(line => line.Split('|'))
                .Select(parts => new MusicArtist(parts[0].Trim(), parts.Skip(1).Select(s => s.Trim()).Where(s => s.Length > 0).ToList()))
                .ToList();
            if (g._music[lang].Count == 0 || g._music[lang].All(a => a.Songs.Count == 0))
                throw new CorpusInputException($"{dir}/music-{lang}.txt has no artist with songs");
        }
        foreach (var line in Lines(Path.Combine(dir, "videos.txt")))
        {
            var bar = line.IndexOf('|');
            if (bar <= 0) throw new CorpusInputException($"{dir}/videos.txt: '{line}' is not lang|title");
            (g._videos.TryGetValue(line[..bar], out var list) ? list : g._videos[line[..bar]] = []).Add(line[(bar + 1)..].Trim());
        }
        return g;
    }

    /// <summary>A name from a source; <paramref name="lang"/> is the language of the name (a zh sentence may carry an en name).</summary>
    public string Pick(string source, string lang, Random rng) => source switch
    {
        "artist" => OneOf(_music[lang], rng).Name,
        "song" => PickSong(lang, rng).Song,
        "video" => OneOf(_videos[lang], rng),
        "place" => _places.Pick(lang, rng),
        "contact" => _contacts.Pick(lang, rng),
        _ => throw new CorpusInputException($"recipe.json span_sources names an unknown gazetteer '{source}' (artist, song, video, place, contact)"),
    };

    /// <summary>An artist and one of their songs, for frames that name both (a song never goes to a stranger's name).</summary>
    public (string Artist, string Song) PickSong(string lang, Random rng)
    {
        var artists = _music[lang];
        while (true)
        {
            var artist = OneOf(artists, rng);
            if (artist.Songs.Count > 0) return (artist.Name, OneOf(artist.Songs, rng));
        }
    }

    internal static T OneOf<T>(IReadOnlyList<T> list, Random rng) => list[rng.Next(list.Count)];

    /// <summary>Lines of a team-written list, without blank lines and # comments.</summary>
    internal static IEnumerable<string> Lines(string path)
    {
        if (!File.Exists(path)) throw new CorpusInputException($"{path} not found");
        return File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
    }
}

/// <summary>Destinations: place names of the packages (cn-places, world-cities) in the team's POI and street patterns.</summary>
internal sealed class PlaceNames
{
    private static readonly string[] ProvinceSuffixes = ["维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市"];

    private readonly Dictionary<string, List<string>> _lists = [];
    private readonly Dictionary<string, List<string>> _patterns = [];
    private readonly Dictionary<string, List<string>> _landmarks = [];

    public static PlaceNames Load(string dir)
    {
        var p = new PlaceNames();
        var cn = CorpusInputs.ReadObject(Path.Combine(dir, "cn-places.json"));
        p._lists["province"] = CorpusInputs.Strings(cn["provinces"], "cn-places.json provinces").Select(Short).ToList();
        // 杭州火车站, not 杭州市火车站: drivers drop 市.
        p._lists["city"] = CorpusInputs.Strings(cn["cities"], "cn-places.json cities").Select(c => c.EndsWith('市') ? c[..^1] : c).ToList();
        p._lists["district"] = CorpusInputs.Strings(cn["districts"], "cn-places.json districts");
        p._lists["town"] = CorpusInputs.Strings(cn["towns"], "cn-places.json towns");
        p._lists["world_city"] = CorpusInputs.Strings(CorpusInputs.ReadObject(Path.Combine(dir, "world-cities.json"))["cities"], "world-cities.json cities");
        var poi = CorpusInputs.ReadObject(Path.Combine(dir, "poi.json"));
        p._lists["name_zh"] = CorpusInputs.Strings(poi["zh_street_stems"], "poi.json zh_street_stems");
        p._lists["name_en"] = CorpusInputs.Strings(poi["en_street_stems"], "poi.json en_street_stems");
        p._lists["city_en"] = CorpusInputs.Strings(poi["zh_cities_en"], "poi.json zh_cities_en");
        foreach (var lang in (string[])["zh", "en"])
        {
            p._patterns[lang] = CorpusInputs.Strings(poi[$"{lang}_patterns"], $"poi.json {lang}_patterns");
            p._landmarks[lang] = CorpusInputs.Strings(poi[$"{lang}_landmarks"], $"poi.json {lang}_landmarks");
        }
        return p;
    }

    private static string Short(string province)
    {
        foreach (var suffix in ProvinceSuffixes)
            if (province.EndsWith(suffix, StringComparison.Ordinal) && province.Length > suffix.Length + 1)
                return province[..^suffix.Length];
        return province;
    }

    public string Pick(string lang, Random rng)
    {
        if (rng.NextDouble() < 0.2) return Gazetteers.OneOf(_landmarks[lang], rng);
        var pattern = Gazetteers.OneOf(_patterns[lang], rng);
        var name = Gazetteers.OneOf(_lists["name_" + lang], rng);
        var name2 = Gazetteers.OneOf(_lists["name_" + lang], rng);
        return pattern
            .Replace("{province}", Gazetteers.OneOf(_lists["province"], rng))
            .Replace("{city}", Gazetteers.OneOf(_lists["city"], rng))
            .Replace("{district}", Gazetteers.OneOf(_lists["district"], rng))
            .Replace("{town}", Gazetteers.OneOf(_lists["town"], rng))
            .Replace("{world_city}", Gazetteers.OneOf(_lists["world_city"], rng))
            .Replace("{city_en}", Gazetteers.OneOf(_lists["city_en"], rng))
            .Replace("{name2}", name2)
            .Replace("{name}", name)
            .Replace("{n}", rng.Next(1, 1000).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}

/// <summary>Contacts as drivers store them: full names, a family name with a title or 老/小, kin and role words.</summary>
internal sealed class ContactNames
{
    private static readonly string[] ZhTitles = ["总", "经理", "老师", "医生", "师傅", "工", "主任", "阿姨", "叔"];

    private readonly Dictionary<string, List<string>> _lists = [];

    public static ContactNames Load(string path)
    {
        var names = CorpusInputs.ReadObject(path);
        var c = new ContactNames();
        foreach (var key in (string[])["zh_family", "zh_given", "zh_roles", "en_first", "en_last", "en_roles"])
            c._lists[key] = CorpusInputs.Strings(names[key], $"{path} {key}");
        return c;
    }

    private string One(string key, Random rng) => Gazetteers.OneOf(_lists[key], rng);

    public string Pick(string lang, Random rng)
    {
        var roll = rng.NextDouble();
        if (lang == "zh")
        {
            return roll switch
            {
                < 0.5 => One("zh_family", rng) + One("zh_given", rng),
                < 0.7 => One("zh_roles", rng),
                < 0.85 => (rng.Next(2) == 0 ? "老" : "小") + One("zh_family", rng),
                _ => One("zh_family", rng) + Gazetteers.OneOf(ZhTitles, rng),
            };
        }
        return roll switch
        {
            < 0.4 => One("en_first", rng),
            < 0.75 => One("en_first", rng) + " " + One("en_last", rng),
            _ => One("en_roles", rng),
        };
    }
}
