using CabinAgent.Actions;
using Xunit;

namespace CabinAgent.Understanding.Tests;

/// <summary>
/// Utterances stitched at random (fixed seed, so every run is the same) from command words, numbers in and out
/// of range, fillers and noise. Whatever the tier makes of them, an Understood must be a command the schema
/// accepts, with span values copied from the utterance; anything else must be NotUnderstood with a reason.
/// </summary>
public class GeneratedUtteranceTests
{
    private static readonly string[] Pieces =
    [
        "把", "温度", "调到", "调高", "降低", "度", "二十三度五", "四十", "两", "负五", "百分之五十", "一百五十", "十",
        "音量", "风量", "档", "座椅加热", "副驾", "主驾", "左后", "全部", "车窗", "打开", "关闭", "开", "关", "空调",
        "导航到", "附近的", "加油站", "充电桩", "播放", "的", "周杰伦", "晴天", "打电话给", "张三", "查询", "油量", "胎压",
        "请", "帮我", "一下", "吧", "嗯", "，", "。", "！", "静音", "下一首", "锁车", "解锁", "后备箱", "救命", "报警",
        "set", "the", "temperature", "to", "22", "99", "-3", "twenty three", "point five", "degrees", "volume", "fan",
        "level", "percent", "%", "open", "close", "window", "driver", "passenger", "rear left", "all", "play", "by",
        "navigate", "nearest", "gas station", "call", "mom", "please", "uh", "turn", "on", "off", "up", "down", "AC",
        "seat", "heating", "lock", "unlock", "trunk", "what's", "fuel", "police", "ambulance", " ", "??", "Ｘ", "😀",
    ];

    [Fact]
    public void Every_result_is_a_valid_command_or_a_reasoned_refusal()
    {
        var random = new Random(20261123);
        var understood = 0;
        for (var i = 0; i < 4000; i++)
        {
            var count = random.Next(1, 7);
            var text = string.Concat(Enumerable.Range(0, count).Select(_ => Pieces[random.Next(Pieces.Length)] + (random.Next(3) == 0 ? " " : "")));
            var result = Repo.Understand(text);
            switch (result)
            {
                case Understood u:
                    understood++;
                    Assert.True(Repo.Catalog.TryGet(u.Action, out var action), $"'{text}': unknown action {u.Action}");
                    var command = new VehicleCommand
                    {
                        Action = u.Action,
                        Parameters = u.Parameters,
                        Response = ResponseRenderer.Render(Repo.Catalog, action, u.Parameters, u.Lang.Code()),
                        Confidence = u.Confidence,
                        RequiresConfirmation = action.RequiresConfirmation,
                    };
                    var errors = Repo.Schema.Validate(command);
                    Assert.True(errors.Count == 0, $"'{text}' → {command.ToJson()}: {string.Join("; ", errors)}");
                    foreach (var (name, value) in u.Parameters)
                        if (action.FindParameter(name) is { Span: true })
                            Assert.Contains(value!.GetValue<string>(), text, StringComparison.Ordinal);
                    break;
                case NotUnderstood n:
                    Assert.False(string.IsNullOrWhiteSpace(n.Reason), $"'{text}': empty reason");
                    break;
                default:
                    Assert.Fail($"'{text}': unexpected {result}");
                    break;
            }
        }
        // The generator is meant to hit commands too, not only noise.
        Assert.True(understood > 100, $"only {understood} of 4000 understood");
    }
}
