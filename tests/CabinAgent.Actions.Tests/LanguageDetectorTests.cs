using CabinAgent.Actions;

namespace CabinAgent.Actions.Tests;

/// <summary>The one language guess (docs/architecture.md, "Language") and the one definition of a Chinese character.</summary>
public class LanguageDetectorTests
{
    [Theory]
    // One script only.
    [InlineData("导航到哈尔滨市", "zh")]
    [InlineData("play some music", "en")]
    [InlineData("turn on the AC", "en")]
    [InlineData("I'm cold", "en")]
    [InlineData("下一首", "zh")]
    // Mixed, at least as many Han characters as Latin words: Chinese, wherever it starts.
    [InlineData("打开 AC", "zh")]
    [InlineData("call 张三", "zh")]
    [InlineData("Taylor Swift 的歌放一下", "zh")]
    // Mixed, more Latin words than Han characters: the language it starts in.
    [InlineData("播放 Taylor Swift 的 Love Story", "zh")]
    [InlineData("play 晴天 by Jay Chou", "en")]
    [InlineData("play 夜曲 by Jay Chou", "en")]
    // Ties (as many Han characters as Latin words) go to Chinese, even when the sentence starts in English.
    [InlineData("play 歌", "zh")]
    [InlineData("call 张三 now", "zh")]
    // Normalized text (the deterministic tier detects on it) gets the same answer as the raw text.
    [InlineData("播放taylor swift的love story", "zh")]
    // An apostrophe inside a word does not split it: "I'm" is one word (a tie with 冷 → zh), "I am" two (→ en).
    [InlineData("I'm 冷", "zh")]
    [InlineData("I’m 冷", "zh")]
    [InlineData("I am 冷", "en")]
    // Digits and punctuation count nothing.
    [InlineData("空调 23 度", "zh")]
    [InlineData("set it to 23", "en")]
    [InlineData("123 打开", "zh")]
    // Extension A and compatibility ideographs are Han; 〇 (U+3007) is a Han numeral.
    [InlineData("\u3400", "zh")]
    [InlineData("\uF900", "zh")]
    [InlineData("二〇二四", "zh")]
    [InlineData("〇 ok", "zh")]
    // Full-width Latin letters are Latin (ASR and IMEs write them); full-width punctuation is not a letter.
    [InlineData("ＰＬＡＹ ｍｕｓｉｃ", "en")]
    [InlineData("打开车窗！", "zh")]
    [InlineData("ｏｐｅｎ，ｗｉｎｄｏｗ！", "en")]
    public void Detects_the_language_by_the_one_rule(string text, string expected) =>
        Assert.Equal(expected, LanguageDetector.Detect(text));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("123")]
    [InlineData("123 456")]
    [InlineData("，。！")]
    [InlineData("\u3000、。「」")]
    [InlineData("？！（）：；")]
    [InlineData("23.5%")]
    [InlineData("Откройте окно")]
    public void Text_without_Han_characters_or_Latin_words_has_no_language(string text) =>
        Assert.Null(LanguageDetector.Detect(text));

    [Theory]
    [InlineData('\u4E00', true)]  // 一, first of CJK Unified Ideographs
    [InlineData('\u9FFF', true)]  // last of CJK Unified Ideographs
    [InlineData('\u3400', true)]  // first of Extension A
    [InlineData('\u4DBF', true)]  // last of Extension A
    [InlineData('\uF900', true)]  // first of Compatibility Ideographs
    [InlineData('\uFAFF', true)]  // last of Compatibility Ideographs
    [InlineData('\u3007', true)]  // 〇 ideographic zero
    [InlineData('\u4DC0', false)] // ䷀ Yijing hexagram symbol, between Extension A and the unified block
    [InlineData('\u3000', false)] // ideographic space
    [InlineData('\u3001', false)] // 、
    [InlineData('\u3002', false)] // 。
    [InlineData('\u300C', false)] // 「
    [InlineData('\uFF0C', false)] // ，
    [InlineData('\uFF01', false)] // ！
    [InlineData('\u3042', false)] // あ hiragana
    [InlineData('\uAC00', false)] // 가 hangul
    [InlineData('a', false)]
    [InlineData('5', false)]
    public void IsCjk_covers_the_Han_blocks_and_nothing_else(char c, bool expected) =>
        Assert.Equal(expected, LanguageDetector.IsCjk(c));

    [Theory]
    [InlineData('a', true)]
    [InlineData('Z', true)]
    [InlineData('\uFF21', true)]  // Ａ
    [InlineData('\uFF5A', true)]  // ｚ
    [InlineData('\u00E9', false)] // é: not how ASR writes English
    [InlineData('\uFF10', false)] // ０
    [InlineData('\'', false)]
    public void IsLatinLetter_is_ASCII_and_full_width_letters(char c, bool expected) =>
        Assert.Equal(expected, LanguageDetector.IsLatinLetter(c));
}
