using CabinAgent.Understanding.Deterministic;
using Xunit;
using CabinAgent.Actions;

namespace CabinAgent.Understanding.Tests;

public class DeterministicTierTests
{
    [Theory]
    [InlineData("", "empty utterance")]
    [InlineData("   ", "empty utterance")]
    [InlineData("，。！？", "no words left")]
    [InlineData("嗯嗯", "no words left")]
    [InlineData("what's the meaning of life", "no template matches")]
    [InlineData("xkcd qwzrt plmok", "no template matches")]
    [InlineData("今天天气怎么样", "no template matches")]
    public void Rejects_with_a_reason(string text, string reason)
    {
        var result = Assert.IsType<NotUnderstood>(Repo.Understand(text));
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_an_overlong_utterance()
    {
        var result = Assert.IsType<NotUnderstood>(Repo.Understand(new string('播', DeterministicTier.MaxUtteranceLength + 1)));
        Assert.Contains("longer than", result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("温度调到四十度", "temperature 40 outside 16..32")]
    [InlineData("set the temperature to 15", "temperature 15 outside 16..32")]
    [InlineData("调高二十度", "delta 20 outside -10..10")]
    [InlineData("风量调到二点五档", "level 2.5 is not a whole number")]
    public void Numbers_outside_the_catalog_range_are_not_understood(string text, string reason)
    {
        var result = Assert.IsType<NotUnderstood>(Repo.Understand(text));
        Assert.Equal(reason, result.Reason);
    }

    [Fact]
    public void Explains_the_template_and_how_each_slot_was_read()
    {
        var result = Assert.IsType<Understood>(Repo.Understand("把主驾温度调到二十三度五"));

        Assert.Equal("HVAC_SET_TEMPERATURE", result.Action);
        Assert.StartsWith("template zh.hvac.set", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("temperature='二十三度五' → 23.5 (Chinese numeral)", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("zone='主驾' → \"driver\" (list zone)", result.Explanation, StringComparison.Ordinal);
        Assert.Equal("zh/climate.json", result.Details!["file"]!.GetValue<string>());
        Assert.Equal(23.5, result.Details["slots"]!["temperature"]!["value"]!.GetValue<double>());
    }

    [Fact]
    public void Full_template_match_has_confidence_one()
    {
        var result = Assert.IsType<Understood>(Repo.Understand("打开空调"));
        Assert.Equal(1.0, result.Confidence);
    }

    [Fact]
    public void Span_match_is_slightly_less_certain()
    {
        var result = Assert.IsType<Understood>(Repo.Understand("导航到哈尔滨市"));
        Assert.Equal(0.95, result.Confidence);
    }

    [Fact]
    public void Indirect_phrasing_carries_the_templates_lower_confidence()
    {
        var result = Assert.IsType<Understood>(Repo.Understand("我有点冷"));
        Assert.Equal("HVAC_ADJUST_TEMPERATURE", result.Action);
        Assert.Equal(2.0, result.Parameters["delta"]!.GetValue<double>());
        Assert.Equal(0.8, result.Confidence);
        Assert.Contains("delta=2 (set by the template)", result.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void A_command_in_one_clause_beside_a_remark_is_taken_with_lower_confidence()
    {
        var result = Assert.IsType<Understood>(Repo.Understand("把空调关了，有点冷"));
        Assert.Equal("HVAC_OFF", result.Action);
        Assert.Equal(Math.Round(1.0 * DeterministicTier.ClauseConfidenceFactor, 4), result.Confidence);
        Assert.StartsWith("clause of a longer utterance; template zh.hvac.off", result.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void A_remark_alone_in_its_clause_is_taken_when_no_direct_command_is_heard()
    {
        var result = Assert.IsType<Understood>(Repo.Understand("我有点冷，今天降温了"));
        Assert.Equal("HVAC_ADJUST_TEMPERATURE", result.Action);
        Assert.Equal(Math.Round(0.8 * DeterministicTier.ClauseConfidenceFactor, 4), result.Confidence);
    }

    [Theory]
    [InlineData("打开空调，调到二十三度", "no template matches")]
    [InlineData("turn on the ac, next song", "no template matches")]
    [InlineData("我有点冷，太吵了", "no template matches")]
    [InlineData("导航到西单，放首歌", "runs across a clause break")]
    [InlineData("turn on the ac, no wait", "no template matches")]
    [InlineData("打开空调，算了", "no template matches")]
    public void Two_commands_in_two_clauses_are_left_to_the_next_tier(string text, string reason)
    {
        var result = Assert.IsType<NotUnderstood>(Repo.Understand(text));
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("播放 Taylor Swift 的 Love Story", null, "zh")]
    [InlineData("打开 AC", null, "zh")]
    [InlineData("call 张三", null, "en")]
    [InlineData("turn on the AC", "zh", "en")]
    [InlineData("打开空调", "en", "zh")]
    public void Answers_in_the_language_of_the_sentence_frame(string text, string? lang, string expected)
    {
        var result = Assert.IsType<Understood>(Repo.Understand(text, lang));
        Assert.Equal(expected, result.Lang.Code());
    }

    [Fact]
    public void Span_values_are_verbatim_substrings_of_the_utterance()
    {
        foreach (var test in Repo.Tier.TestCases)
        {
            if (Repo.Understand(test.Text) is not Understood understood) continue;
            var action = Repo.Catalog.Get(understood.Action);
            foreach (var (name, value) in understood.Parameters)
            {
                if (action.FindParameter(name) is not { Span: true }) continue;
                var text = value!.GetValue<string>();
                Assert.True(test.Text.Contains(text, StringComparison.Ordinal), $"'{text}' is not in '{test.Text}'");
                Assert.Equal(text.Trim(), text);
            }
        }
    }

    [Fact]
    public void Every_catalog_action_has_test_sentences_in_both_languages()
    {
        foreach (var action in Repo.Catalog.Actions)
        {
            foreach (var lang in (string[])["zh", "en"])
            {
                var count = Repo.Tier.TestCases.Count(t => t.Action == action.Name && t.Language == lang);
                Assert.True(count >= 3, $"{action.Name} has {count} {lang} test sentences");
            }
        }
        Assert.True(Repo.Tier.TestCases.Count >= 400, $"only {Repo.Tier.TestCases.Count} test sentences");
    }

    [Fact]
    public async Task UnderstandAsync_gives_the_same_result()
    {
        var result = await Repo.Tier.UnderstandAsync(new Utterance("u1", "下一首", Language.Zh), CancellationToken.None);
        Assert.Equal("MUSIC_NEXT", Assert.IsType<Understood>(result).Action);
        Assert.Equal(Tier.Deterministic, Repo.Tier.Name);
    }

    [Fact]
    public void A_named_place_is_a_destination_and_a_kind_of_place_is_nearby()
    {
        var named = Assert.IsType<Understood>(Repo.Understand("我要去崇文名都"));
        var kind = Assert.IsType<Understood>(Repo.Understand("我要去加油站"));

        Assert.Equal("NAV_NAVIGATE_TO", named.Action);
        Assert.Equal("崇文名都", named.Parameters["destination"]!.GetValue<string>());
        Assert.Equal("NAV_FIND_NEARBY", kind.Action);
        Assert.Equal("gas_station", kind.Parameters["category"]!.GetValue<string>());
    }

    [Fact]
    public void Latin_words_match_whole_words_only()
    {
        // "by" inside "standby" must not split the title into song and artist.
        var result = Assert.IsType<Understood>(Repo.Understand("play Standby Me"));
        Assert.Equal("Standby Me", result.Parameters["song"]!.GetValue<string>());
        Assert.False(result.Parameters.ContainsKey("artist"));
    }
}
