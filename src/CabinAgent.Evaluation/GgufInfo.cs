using System.Text;

namespace CabinAgent.Evaluation;

/// <summary>
/// The few facts the report states about a model file, read from its GGUF header without loading the model:
/// name, architecture, quantization. A name saying "random weights" marks the project's generated test model.
/// </summary>
public sealed record GgufInfo(string Path, long SizeBytes, string? Name, string? Architecture, string? Quantization)
{
    private const uint Magic = 0x46554747; // "GGUF" little-endian
    private const int MaxKeys = 100_000;
    private const int MaxStringBytes = 1 << 24;

    public bool RandomWeights => Name?.Contains("random weights", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>Reads the header; throws <see cref="InvalidDataException"/> naming the file when it is not GGUF.</summary>
    public static GgufInfo Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"model file not found: {path}", path);
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: false);
        try
        {
            if (reader.ReadUInt32() != Magic)
                throw new InvalidDataException($"{path}: not a GGUF file");
            var version = reader.ReadUInt32();
            if (version is < 2 or > 3)
                throw new InvalidDataException($"{path}: unsupported GGUF version {version}");
            _ = reader.ReadUInt64(); // tensor count
            var keys = reader.ReadUInt64();
            if (keys > MaxKeys)
                throw new InvalidDataException($"{path}: implausible metadata count {keys}");
            string? name = null, architecture = null;
            uint? fileType = null;
            for (ulong i = 0; i < keys; i++)
            {
                var key = ReadString(reader, path);
                var type = reader.ReadUInt32();
                switch (key)
                {
                    case "general.name" when type == 8: name = ReadString(reader, path); break;
                    case "general.architecture" when type == 8: architecture = ReadString(reader, path); break;
                    case "general.file_type" when type == 4: fileType = reader.ReadUInt32(); break;
                    default: Skip(reader, type, path); break;
                }
            }
            return new GgufInfo(path, stream.Length, name, architecture, fileType is { } ft ? FileTypeName(ft) : null);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{path}: truncated GGUF header");
        }
    }

    /// <summary>llama.cpp's <c>llama_ftype</c> names for the common file types.</summary>
    public static string FileTypeName(uint fileType) => fileType switch
    {
        0 => "F32", 1 => "F16", 2 => "Q4_0", 3 => "Q4_1", 7 => "Q8_0", 8 => "Q5_0", 9 => "Q5_1",
        10 => "Q2_K", 11 => "Q3_K_S", 12 => "Q3_K_M", 13 => "Q3_K_L", 14 => "Q4_K_S", 15 => "Q4_K_M",
        16 => "Q5_K_S", 17 => "Q5_K_M", 18 => "Q6_K", 32 => "BF16",
        _ => $"file_type {fileType}",
    };

    private static string ReadString(BinaryReader reader, string path)
    {
        var length = reader.ReadUInt64();
        if (length > MaxStringBytes)
            throw new InvalidDataException($"{path}: implausible string length {length}");
        return Encoding.UTF8.GetString(reader.ReadBytes((int)length));
    }

    private static void Skip(BinaryReader reader, uint type, string path)
    {
        switch (type)
        {
            case 0 or 1 or 7: reader.ReadByte(); break;
            case 2 or 3: reader.ReadUInt16(); break;
            case 4 or 5 or 6: reader.ReadUInt32(); break;
            case 10 or 11 or 12: reader.ReadUInt64(); break;
            case 8: ReadString(reader, path); break;
            case 9:
                var elementType = reader.ReadUInt32();
                var count = reader.ReadUInt64();
                if (count > (ulong)MaxStringBytes)
                    throw new InvalidDataException($"{path}: implausible array length {count}");
                for (ulong i = 0; i < count; i++) Skip(reader, elementType, path);
                break;
            default:
                throw new InvalidDataException($"{path}: unknown GGUF value type {type}");
        }
    }
}
