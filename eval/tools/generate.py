#!/usr/bin/env python3
"""Generates the CabinAgent evaluation set (eval/dev.jsonl, eval/test.jsonl).

Deterministic: a fixed seed, hand-written phrase banks, no network. Re-run with
`python3 eval/tools/generate.py` from the repository root; the output is byte-identical.

The phrase banks were written from how drivers talk (fillers, politeness, indirect requests,
Chinese numerals, relative changes, mixed zh/en, ASR slips), not from the deterministic tier's
templates, which this script must never read: the test split is a held-out measure.
"""
import json
import random
import sys
from pathlib import Path

SEED = 20261123
TOTAL = 1100
SHARES = {"music": 0.30, "navigation": 0.24, "vehicle_control": 0.20, "status_query": 0.16, "safety": 0.10}
ZH_SHARE = 0.60
DEV_SHARE = 0.30

CONFIRM = {"DOOR_UNLOCK", "TRUNK_OPEN"}

# ---------------------------------------------------------------- wrappers (fillers, politeness)
ZH_PRE = ["", "", "", "", "嗯，", "那个，", "小安，", "你好小安，", "呃，", "哎，", "麻烦你，", "小安小安，", "喂，", "就是，"]
ZH_SUF_CMD = ["", "", "", "", "，谢谢", "，麻烦了", "，快点", "，谢啦", "啊", "吧"]
ZH_SUF_Q = ["", "", "", "", "，谢谢", "？", "啊", "呀"]
EN_PRE_CMD = ["", "", "", "", "hey, ", "um, ", "uh ", "okay so ", "could you ", "please ", "can you ",
              "would you ", "hey car, ", "so, uh, ", "I need you to ", "go ahead and "]
EN_PRE_Q = ["", "", "", "hey, ", "um, ", "uh, ", "quick question, ", "hey car, ", "so "]
POLITE_EN = {"could you", "please", "can you", "would you", "I need you to", "go ahead and"}
EN_VERBS = {"play", "put", "set", "turn", "open", "close", "roll", "call", "phone", "ring", "dial", "give", "get", "lock",
            "unlock", "pop", "navigate", "take", "drive", "find", "cancel", "stop", "end", "exit", "pause", "resume",
            "skip", "mute", "raise", "lower", "drop", "bump", "start", "switch", "shut", "kill", "check", "heat",
            "make", "change", "go", "crank", "bring", "queue", "throw", "shuffle", "continue", "keep", "hold",
            "crack", "route", "unpause", "freeze", "silence", "max"}
EN_SUF_CMD = ["", "", "", "", " please", ", thanks", " thank you", " for me", ", would you", " real quick"]
EN_SUF_Q = ["", "", "", "?", "? thanks", ", please"]


def wrap(rng, lang, text, kind="cmd"):
    """Adds a filler prefix and a politeness suffix. 'raw' phrases are kept as written."""
    if kind == "raw":
        return text
    if kind == "stmt":
        # Remarks, not requests: no politeness, only the fillers people start a sentence with.
        return rng.choice(["", "", "嗯，", "哎，", "那个，", "呃，"] if lang == "zh" else ["", "", "um, ", "so ", "oh, "]) + text
    if lang == "zh":
        pre = rng.choice(ZH_PRE)
        suf = rng.choice(ZH_SUF_CMD if kind == "cmd" else ZH_SUF_Q)
        if text.endswith(("吧", "啊", "呀", "吗", "？", "呢")):
            suf = rng.choice(["", "", "，谢谢"])
        return pre + text + suf
    pre = rng.choice(EN_PRE_CMD if kind == "cmd" else EN_PRE_Q)
    if pre.strip() in POLITE_EN and text.split(" ")[0].lower() not in EN_VERBS:
        pre = rng.choice(["", "hey, ", "um, "])
    suf = rng.choice(EN_SUF_CMD if kind == "cmd" else EN_SUF_Q)
    if text.endswith("?"):
        suf = ""
    return pre + text + suf


# ---------------------------------------------------------------- helpers
ZH_NUM = {0: "零", 1: "一", 2: "二", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八", 9: "九", 10: "十"}


def zh_number(n, liang=False):
    """Chinese numeral for 0..100; liang=True says 两 for 2 (两度, 两档)."""
    if n == 2 and liang:
        return "两"
    if n <= 10:
        return ZH_NUM[n]
    if n < 20:
        return "十" + (ZH_NUM[n - 10] if n % 10 else "")
    if n == 100:
        return "一百"
    tens, ones = divmod(n, 10)
    return ZH_NUM[tens] + "十" + (ZH_NUM[ones] if ones else "")


def zh_or_digits(rng, n, liang=False):
    return rng.choice([zh_number(n, liang), zh_number(n, liang), str(n)])


EN_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
            "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
EN_TENS = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy", 80: "eighty", 90: "ninety"}


def en_number(n):
    if n < 20:
        return EN_WORDS[n]
    if n == 100:
        return "a hundred"
    tens, ones = divmod(n, 10)
    return EN_TENS[tens * 10] + ("-" + EN_WORDS[ones] if ones else "")


def en_or_digits(rng, n):
    return rng.choice([en_number(n), str(n), str(n)])


def asr_lower(rng, text, spans):
    """English ASR output is often lower-case without punctuation; spans follow the transcript."""
    if rng.random() < 0.3:
        strip = str.maketrans("", "", ",.?!")
        return text.lower().translate(strip), {k: v.lower().translate(strip) for k, v in spans.items()}
    return text, spans


def pick(rng, bank):
    return rng.choice(bank)


# ---------------------------------------------------------------- music
ZH_SONGS = [("周杰伦", "夜曲"), ("周杰伦", "稻香"), ("周杰伦", "晴天"), ("陈奕迅", "十年"), ("陈奕迅", "浮夸"),
            ("林俊杰", "江南"), ("邓紫棋", "光年之外"), ("五月天", "倔强"), ("王菲", "传奇"), ("赵雷", "成都"),
            ("朴树", "平凡之路"), ("刘若英", "后来"), ("薛之谦", "演员"), ("毛不易", "消愁"), ("张学友", "吻别"),
            ("孙燕姿", "遇见"), ("周杰伦", "七里香"), ("李荣浩", "李白"), ("许嵩", "清明雨上"), ("田馥甄", "小幸运"),
            ("王菲", "红豆"), ("莫文蔚", "阴天"), ("汪峰", "春天里"), ("刀郎", "罗刹海市"), ("李健", "贝加尔湖畔")]
ZH_ARTISTS = sorted({a for a, _ in ZH_SONGS} | {"蔡依林", "张惠妹", "伍佰", "Beyond", "华晨宇", "告五人"})
EN_SONGS = [("Taylor Swift", "Shake It Off"), ("Ed Sheeran", "Shape of You"), ("Adele", "Hello"),
            ("Coldplay", "Yellow"), ("Queen", "Bohemian Rhapsody"), ("The Beatles", "Hey Jude"),
            ("Bruno Mars", "Uptown Funk"), ("Billie Eilish", "Bad Guy"), ("Imagine Dragons", "Believer"),
            ("Norah Jones", "Don't Know Why"), ("Eagles", "Hotel California"), ("Journey", "Don't Stop Believin'"),
            ("Dua Lipa", "Levitating"), ("The Weeknd", "Blinding Lights"), ("John Denver", "Take Me Home, Country Roads"),
            ("Oasis", "Wonderwall"), ("Toto", "Africa"), ("Fleetwood Mac", "Dreams")]
EN_ARTISTS = sorted({a for a, _ in EN_SONGS} | {"Beyoncé", "Drake", "Kendrick Lamar", "Miles Davis", "Bob Dylan", "Radiohead"})
ZH_GENRES = [("流行", "pop"), ("摇滚", "rock"), ("爵士", "jazz"), ("古典", "classical"), ("民谣", "folk"),
             ("电子", "electronic"), ("嘻哈", "hiphop"), ("说唱", "hiphop"), ("乡村", "country"), ("R&B", "rnb"),
             ("轻音乐", "light"), ("钢琴曲", "classical")]
EN_GENRES = [("pop", "pop"), ("rock", "rock"), ("jazz", "jazz"), ("classical", "classical"), ("folk", "folk"),
             ("electronic", "electronic"), ("EDM", "electronic"), ("hip-hop", "hiphop"), ("rap", "hiphop"),
             ("country", "country"), ("R&B", "rnb"), ("something light", "light"), ("classic rock", "rock")]
ZH_TITLES = ["流浪地球", "熊出没", "甄嬛传", "狂飙", "哪吒之魔童降世", "小猪佩奇", "让子弹飞", "三体"]
EN_TITLES = ["Frozen", "Top Gun", "The Lion King", "Friends", "Peppa Pig", "Inception", "Toy Story"]


def m_play_zh(rng):
    r = rng.random()
    if r < 0.35:
        a, s = pick(rng, ZH_SONGS)
        t = pick(rng, ["播放{a}的{s}", "来一首{a}的{s}", "我想听{a}的{s}", "放{a}的{s}", "给我放一首{a}的《{s}》",
                       "听听{a}那首{s}", "放一下{s}，{a}唱的那个", "{a}的{s}来一首", "整一首{a}的{s}",
                       "播一首{s}吧，要{a}的版本", "想听{s}，{a}的", "点一首{a}的{s}"])
        return wrap(rng, "zh", t.format(a=a, s=s)), "MUSIC_PLAY", {"artist": a, "song": s}
    if r < 0.55:
        _, s = pick(rng, ZH_SONGS)
        t = pick(rng, ["播放{s}", "来一首{s}", "我想听{s}", "放首{s}", "放一下《{s}》", "{s}这首歌放一下",
                       "帮我找一下{s}这首歌播放", "突然想听{s}了"])
        return wrap(rng, "zh", t.format(s=s)), "MUSIC_PLAY", {"song": s}
    if r < 0.75:
        a = pick(rng, ZH_ARTISTS)
        t = pick(rng, ["放点{a}的歌", "我想听{a}的歌", "播放{a}的音乐", "来点{a}的", "随便放几首{a}的",
                       "{a}的歌来几首", "有没有{a}的歌，放一下", "听会儿{a}吧", "放{a}的专辑"])
        return wrap(rng, "zh", t.format(a=a)), "MUSIC_PLAY", {"artist": a}
    if r < 0.92:
        g, v = pick(rng, ZH_GENRES)
        t = pick(rng, ["放点{g}音乐", "来点{g}", "我想听{g}", "播放{g}歌曲", "换点{g}的听听", "放几首{g}的歌",
                       "有点困，来点{g}提提神"] if v not in ("light", "classical") else
                 ["放点{g}", "来点{g}放松一下", "我想听点{g}", "播放{g}"])
        return wrap(rng, "zh", t.format(g=g)), "MUSIC_PLAY", {"genre": v}
    t = pick(rng, ["放首歌", "来点音乐", "放点歌听听", "太安静了，放点音乐吧", "随便放点什么歌", "开音乐",
                   "播放音乐", "整点音乐"])
    return wrap(rng, "zh", t, "raw" if "，" in t else "cmd"), "MUSIC_PLAY", {}


def m_play_en(rng):
    r = rng.random()
    if r < 0.35:
        a, s = pick(rng, EN_SONGS)
        t = pick(rng, ["play {s} by {a}", "put on {s} by {a}", "I want to hear {s} by {a}", "play {a}'s {s}",
                       "can I get {s} by {a}", "queue up {s}, the {a} one", "let's hear {s} by {a}",
                       "throw on {s} by {a}"])
        text, sp = asr_lower(rng, t.format(a=a, s=s), {"artist": a, "song": s})
        return wrap(rng, "en", text), "MUSIC_PLAY", sp
    if r < 0.55:
        _, s = pick(rng, EN_SONGS)
        t = pick(rng, ["play {s}", "put on {s}", "I'm in the mood for {s}", "play the song {s}", "let's hear {s}"])
        text, sp = asr_lower(rng, t.format(s=s), {"song": s})
        return wrap(rng, "en", text), "MUSIC_PLAY", sp
    if r < 0.75:
        a = pick(rng, EN_ARTISTS)
        t = pick(rng, ["play some {a}", "put on some {a}", "I want to listen to {a}", "play music by {a}",
                       "let's have some {a}", "any {a}? play it", "shuffle {a}"])
        text, sp = asr_lower(rng, t.format(a=a), {"artist": a})
        return wrap(rng, "en", text), "MUSIC_PLAY", sp
    if r < 0.92:
        g, v = pick(rng, EN_GENRES)
        t = pick(rng, ["play some {g}", "put on {g} music", "I feel like {g}", "some {g} would be nice",
                       "switch to {g}", "play {g}"] if v != "light" else ["play {g}", "put on {g}", "I'd like {g} in the background"])
        return wrap(rng, "en", t.format(g=g)), "MUSIC_PLAY", {"genre": v}
    t = pick(rng, ["play some music", "put some music on", "it's too quiet in here, play something",
                   "music please", "let's have some tunes", "start the music", "play something"])
    return wrap(rng, "en", t), "MUSIC_PLAY", {}


M_SIMPLE = {
    "MUSIC_PAUSE": (["暂停", "暂停播放", "先停一下音乐", "歌先别放了", "音乐停一下", "停一下歌", "先暂停，我接个电话",
                     "把歌停了", "站停一下音乐", "别唱了，停一下"],
                    ["pause", "pause the music", "pause it", "hold the music", "stop the song for a sec",
                     "pause playback", "paws the music", "hold on, pause that", "freeze the music a moment"]),
    "MUSIC_RESUME": (["继续播放", "接着放", "继续放歌", "刚才的歌接着放", "接着播吧", "恢复播放", "音乐继续",
                      "好了，继续放吧", "接着刚才那首唱"],
                     ["resume", "resume the music", "keep playing", "continue playing", "unpause",
                      "okay, carry on with the music", "pick up where it left off", "play it again from where it stopped"]),
    "MUSIC_NEXT": (["下一首", "切歌", "换一首", "这首不好听，换一个", "跳过这首", "下一曲", "下一手", "切到下一首",
                    "换首歌吧", "不想听这个，下一首", "这首听腻了，换掉"],
                   ["next song", "skip", "skip this one", "next track", "next", "I don't like this one, skip it",
                    "change the song", "go to the next song", "skip this track", "nest song"]),
    "MUSIC_PREVIOUS": (["上一首", "上一曲", "返回上一首", "切回上一首", "刚才那首再听一遍，上一首",
                        "回到上一首歌", "上一手", "退回去，上一首"],
                       ["previous song", "go back a song", "previous track", "last song please", "back one track",
                        "play the previous one", "go back to the last track"]),
    "VOLUME_MUTE": (["静音", "把声音关了", "全部静音", "先静音一下", "声音关掉", "别出声了，静音", "静音模式"],
                    ["mute", "mute the audio", "mute it", "silence please", "kill the sound", "turn the sound off",
                     "mute everything"]),
}


def m_volume_zh(rng):
    r = rng.random()
    if r < 0.4:
        n = rng.choice([10, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 15, 5, 0, 100])
        w = zh_or_digits(rng, n)
        t = pick(rng, ["音量调到{n}", "把音量调成{n}", "声音开到{n}", "音量设为{n}", "音量{n}", "音亮调到{n}",
                       "音量调到百分之{n}", "声音调到{n}就行"])
        if n == 0:
            t = pick(rng, ["音量调到{n}", "音量设为{n}"])
        return wrap(rng, "zh", t.format(n=w)), "VOLUME_SET", {"level": n}
    if r < 0.55:
        return wrap(rng, "zh", pick(rng, ["音量调到一半", "声音开一半", "音量调到最大", "声音开到最大"])), "VOLUME_SET", None
    up = rng.random() < 0.5
    if rng.random() < 0.4:
        step = rng.choice([5, 10, 20, 15])
        w = zh_or_digits(rng, step)
        t = pick(rng, ["音量加{n}", "声音调大{n}", "音量再高{n}", "大声{n}个"] if up else
                 ["音量减{n}", "声音调小{n}", "音量降低{n}", "音量往下调{n}"])
        return wrap(rng, "zh", t.format(n=w)), "VOLUME_UP" if up else "VOLUME_DOWN", {"step": step}
    t = pick(rng, ["大声点", "声音太小了，听不清", "音量调大一点", "声音大一些", "再大声一点", "开大点声", "声音调高一点",
                   "后排说听不见，大声点"] if up else
             ["小声点", "太吵了，声音小一点", "音量调低一点", "声音小一些", "调小点声", "孩子睡着了，小点声",
              "声音关小一点", "音量低一点吧"])
    return wrap(rng, "zh", t, "raw" if "，" in t else "cmd"), "VOLUME_UP" if up else "VOLUME_DOWN", {}


def m_volume_en(rng):
    r = rng.random()
    if r < 0.4:
        n = rng.choice([10, 20, 25, 30, 40, 50, 60, 70, 80, 15, 5, 100])
        w = en_or_digits(rng, n)
        t = pick(rng, ["set the volume to {n}", "volume {n}", "turn the volume to {n}", "put the volume at {n}",
                       "volume to {n} percent", "make the volume {n}"])
        return wrap(rng, "en", t.format(n=w)), "VOLUME_SET", {"level": n}
    if r < 0.5:
        return wrap(rng, "en", pick(rng, ["set the volume to half", "max volume", "volume all the way up"])), "VOLUME_SET", None
    up = rng.random() < 0.5
    if rng.random() < 0.35:
        step = rng.choice([5, 10, 20, 15])
        w = en_or_digits(rng, step)
        t = pick(rng, ["turn it up by {n}", "volume up {n}", "raise the volume by {n}"] if up else
                 ["turn it down by {n}", "volume down {n}", "lower the volume by {n}"])
        return wrap(rng, "en", t.format(n=w)), "VOLUME_UP" if up else "VOLUME_DOWN", {"step": step}
    t = pick(rng, ["turn it up", "louder", "volume up", "I can't hear it, louder", "crank it up a bit",
                   "make it louder", "pump up the volume"] if up else
             ["turn it down", "quieter", "volume down", "too loud", "that's way too loud, turn it down",
              "bring the volume down a notch", "softer please"])
    return wrap(rng, "en", t), "VOLUME_UP" if up else "VOLUME_DOWN", {}


def m_video(rng, lang):
    if lang == "zh":
        if rng.random() < 0.6:
            ti = pick(rng, ZH_TITLES)
            t = pick(rng, ["播放{t}", "放一下{t}的视频", "给孩子放{t}", "我要看{t}", "打开视频播放{t}", "放一集{t}"])
            return wrap(rng, "zh", t.format(t=ti)), "VIDEO_PLAY", {"title": ti}
        return wrap(rng, "zh", pick(rng, ["放个视频", "打开视频", "播放视频", "想看个电影", "放部电影看看"])), "VIDEO_PLAY", {}
    if rng.random() < 0.6:
        ti = pick(rng, EN_TITLES)
        t = pick(rng, ["play the movie {t}", "put on {t} for the kids", "watch {t}", "play {t} on the screen",
                       "start the video {t}"])
        return wrap(rng, "en", t.format(t=ti)), "VIDEO_PLAY", {"title": ti}
    return wrap(rng, "en", pick(rng, ["play a video", "put on a movie", "start a video", "I want to watch a movie"])), "VIDEO_PLAY", {}


M_NEG = (["这首歌叫什么名字", "这是谁唱的啊", "我不太喜欢周杰伦", "昨天听的那首歌挺好听的", "你会唱歌吗",
          "我女儿在学钢琴", "演唱会的票买了没", "刚才那个广告好吵", "这首歌我小时候经常听", "别跟我说话，我在想事情",
          "你喜欢什么音乐", "我唱得好听吗", "我下周去看五月天演唱会"],
         ["who sings this", "what song is this", "I used to love this band in college", "do you like jazz",
          "my kid plays the violin", "that concert last night was amazing",
          "I'm not really into rap", "did you hear that noise", "remind me who wrote this song"])


# ---------------------------------------------------------------- navigation
ZH_PLACES = ["天安门", "首都机场T3航站楼", "北京南站", "上海虹桥火车站", "西湖", "中关村", "陆家嘴", "三里屯太古里",
             "浦东国际机场", "南京东路", "深圳湾公园", "广州塔", "宽窄巷子", "故宫博物院", "798艺术区", "杭州东站",
             "公司", "家", "望京SOHO", "协和医院", "清华大学", "迪士尼乐园", "外滩", "春熙路", "世界之窗", "鸟巢",
             "人民广场", "虹桥机场", "萧山机场", "颐和园", "朝阳公园", "国贸", "西单大悦城", "武汉大学"]
EN_PLACES = ["Union Station", "JFK Airport", "Times Square", "Central Park", "Stanford University",
             "Fisherman's Wharf", "123 Main Street", "Pike Place Market", "Golden Gate Park", "Mom's house",
             "home", "work", "Brooklyn Bridge", "LAX", "Boston Logan Airport", "Yosemite", "Lincoln Center",
             "the office", "Walmart on 5th Avenue", "Seattle Children's Hospital", "Navy Pier", "Madison Square Garden"]
ZH_NEARBY = {
    "gas_station": ["附近的加油站", "找个加油站", "最近的加油站在哪", "快没油了，找个加油的地方", "哪里可以加油",
                    "导航去最近的加油站", "附近有没有中石化", "找个能加油的地儿"],
    "charging_station": ["附近的充电桩", "找个充电站", "电快没了，哪儿能充电", "最近的充电桩在哪里", "导航到附近充电的地方",
                         "附近有超充吗", "找个能充电的地方"],
    "parking": ["附近的停车场", "哪儿能停车", "找个停车位", "帮我找个停车场", "最近的停车场", "这附近哪里好停车"],
    "restaurant": ["附近的餐厅", "饿了，找个吃饭的地方", "附近有什么好吃的", "找家饭店", "找个餐馆", "附近有吃饭的地方吗"],
    "rest_area": ["最近的服务区", "前面有服务区吗", "想上厕所，找个服务区", "找个服务区休息一下", "下一个服务区在哪"],
    "hospital": ["附近的医院", "最近的医院在哪", "找一家医院", "附近有医院吗，孩子有点发烧", "导航去最近的医院"],
}
EN_NEARBY = {
    "gas_station": ["nearest gas station", "find a gas station", "I need gas", "where can I fill up",
                    "we're running on fumes, find a gas station", "find me a petrol station nearby", "gas station near me"],
    "charging_station": ["find a charging station", "where can I charge the car", "nearest charger",
                         "battery's getting low, find a charging station", "any EV chargers around here"],
    "parking": ["find parking", "where can I park", "find a parking lot nearby", "nearest parking garage",
                "I need a place to park"],
    "restaurant": ["find a restaurant", "I'm starving, find somewhere to eat", "restaurants nearby",
                   "where can we grab food", "find a place to eat around here"],
    "rest_area": ["find a rest area", "next rest stop", "I need a bathroom break, find a rest area",
                  "is there a rest area coming up"],
    "hospital": ["nearest hospital", "find a hospital nearby", "where's the closest hospital", "hospital near me"],
}


def n_nav_zh(rng):
    p = pick(rng, ZH_PLACES)
    if p == "家":
        t = pick(rng, ["回{p}", "导航回{p}", "带我回{p}", "我要回{p}了，导航一下"])
    elif p == "公司":
        t = pick(rng, ["去{p}", "导航到{p}", "导航去{p}上班", "我要去{p}"])
    else:
        t = pick(rng, ["导航到{p}", "带我去{p}", "去{p}", "我要去{p}", "怎么去{p}", "导航去{p}", "帮我导到{p}",
                       "去{p}怎么走", "倒航到{p}", "开到{p}", "目的地设成{p}", "规划一下去{p}的路线",
                       "送我去{p}", "导航至{p}", "我想去{p}看看，导航吧"])
    return wrap(rng, "zh", t.format(p=p), "raw" if "怎么" in t else "cmd"), "NAV_NAVIGATE_TO", {"destination": p}


def n_nav_en(rng):
    p = pick(rng, EN_PLACES)
    if p in ("home", "work", "the office"):
        t = pick(rng, ["take me {p}" if p == "home" else "take me to {p}", "navigate {p}" if p == "home" else "navigate to {p}",
                       "let's go {p}" if p == "home" else "let's head to {p}"])
    else:
        t = pick(rng, ["navigate to {p}", "take me to {p}", "directions to {p}", "how do I get to {p}",
                       "drive to {p}", "get me to {p}", "set destination to {p}", "navigator to {p}",
                       "route to {p}", "I need to get to {p}", "let's go to {p}", "find the way to {p}"])
    text, sp = asr_lower(rng, t.format(p=p), {"destination": p})
    return wrap(rng, "en", text, "raw" if text.startswith("how") else "cmd"), "NAV_NAVIGATE_TO", sp


def n_nearby(rng, lang):
    cat = rng.choice(sorted(ZH_NEARBY))
    t = pick(rng, (ZH_NEARBY if lang == "zh" else EN_NEARBY)[cat])
    return wrap(rng, lang, t, "q"), "NAV_FIND_NEARBY", {"category": cat}


N_CANCEL = (["取消导航", "不用导航了", "结束导航", "别导了", "关掉导航", "导航停了吧", "退出导航", "路我认识了，不用导了",
             "停止导航", "导航取消掉"],
            ["cancel navigation", "stop navigating", "end the route", "cancel the route", "I know the way from here, stop the directions",
             "turn off navigation", "end guidance", "exit navigation", "stop the directions", "cancel the trip"])
N_NEG = (["这条路堵不堵", "还有多久到", "我们是不是走错了", "昨天去机场那条路好堵", "前面那个路口好复杂", "我以前住在中关村", "这条路限速多少", "外滩的夜景真好看", "我老婆说去西湖玩"],
         ["how long until we get there", "is there traffic ahead", "I went to Central Park yesterday",
          "did we miss the exit", "my sister lives near Union Station",
          "what's the speed limit here", "the airport is always so crowded"])


# ---------------------------------------------------------------- vehicle control (incl. phone)
ZONES_ZH = [("主驾", "driver"), ("驾驶位", "driver"), ("副驾", "passenger"), ("副驾驶", "passenger"), ("后排", "rear"), ("全车", "all")]
ZONES_EN = [("driver side", "driver"), ("driver's", "driver"), ("passenger side", "passenger"), ("passenger", "passenger"),
            ("rear", "rear"), ("back seat", "rear"), ("whole car", "all")]
WIN_ZH = [("主驾", "driver"), ("我这边的", "driver"), ("副驾", "passenger"), ("左后", "rear_left"), ("右后", "rear_right"),
          ("所有", "all"), ("全部", "all"), ("四个", "all")]
WIN_EN = [("the driver", "driver"), ("my", "driver"), ("the passenger", "passenger"), ("the rear left", "rear_left"),
          ("the back left", "rear_left"), ("the rear right", "rear_right"), ("the back right", "rear_right"), ("all the", "all")]
SEAT_ZH = WIN_ZH[:5]
SEAT_EN = [("driver", "driver"), ("my", "driver"), ("passenger", "passenger"), ("rear left", "rear_left"),
           ("back left", "rear_left"), ("rear right", "rear_right"), ("back right", "rear_right")]
CONTACTS_ZH = ["妈妈", "老婆", "张三", "李经理", "王总", "老爸", "小王", "刘医生", "陈老师", "儿子", "张伟", "老公", "舅舅"]
CONTACTS_EN = ["Mom", "Dad", "John Smith", "Sarah", "my wife", "Dr. Patel", "the office", "Mike", "Grandma", "Alex Chen", "Jessica"]


def v_temp_zh(rng):
    r = rng.random()
    if r < 0.45:
        temp = rng.choice([16, 18, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30, 22.5, 24.5])
        w = (zh_number(int(temp)) + "点五") if temp % 1 else zh_or_digits(rng, int(temp))
        params = {"temperature": temp}
        zone = ""
        if rng.random() < 0.4:
            zw, z = pick(rng, ZONES_ZH)
            zone, params["zone"] = zw, z
        t = pick(rng, ["{z}空调调到{n}度", "{z}温度设成{n}度", "{z}温度调到{n}", "把{z}温度设为{n}度",
                       "{z}空调开{n}度", "{z}温度{n}度", "{z}空掉调到{n}度"])
        return wrap(rng, "zh", t.format(z=zone, n=w)), "HVAC_SET_TEMPERATURE", params
    if r < 0.75:
        d = rng.choice([1, 2, 3, 2, 1, 4, 5])
        up = rng.random() < 0.5
        w = zh_or_digits(rng, d, liang=True)
        params = {"delta": d if up else -d}
        zone = ""
        if rng.random() < 0.3:
            zw, z = pick(rng, ZONES_ZH)
            zone, params["zone"] = zw, z
        t = pick(rng, ["{z}温度调高{n}度", "{z}再高{n}度", "{z}升{n}度", "有点冷，{z}温度加{n}度", "{z}空调高{n}度"] if up else
                 ["{z}温度调低{n}度", "{z}再低{n}度", "{z}降{n}度", "热死了，{z}温度降{n}度", "{z}空调低{n}度", "{z}温度往下调{n}度"])
        return wrap(rng, "zh", t.format(z=zone, n=w), "raw" if "，" in t else "cmd"), "HVAC_ADJUST_TEMPERATURE", params
    on = rng.random() < 0.5
    t = pick(rng, ["打开空调", "开空调", "空调打开", "开一下冷气", "好热啊，把空调开了", "开暖风", "空调开开"] if on else
             ["关闭空调", "关空调", "空调关了吧", "把冷气关掉", "空调关一下，有点冷了", "不用开空调了"])
    return wrap(rng, "zh", t, "raw" if "，" in t else "cmd"), "HVAC_ON" if on else "HVAC_OFF", {}


def v_temp_en(rng):
    r = rng.random()
    if r < 0.45:
        temp = rng.choice([16, 18, 20, 21, 22, 23, 24, 25, 26, 28, 22.5])
        w = (str(temp)) if temp % 1 else en_or_digits(rng, int(temp))
        params = {"temperature": temp}
        zone = ""
        if rng.random() < 0.4:
            zw, z = pick(rng, ZONES_EN)
            zone, params["zone"] = zw + " ", z
        t = pick(rng, ["set the {z}temperature to {n}", "{z}temperature {n} degrees", "make the {z}temperature {n} degrees",
                       "set the {z}AC to {n}", "put the {z}climate at {n} degrees"])
        return wrap(rng, "en", t.format(z=zone, n=w)), "HVAC_SET_TEMPERATURE", params
    if r < 0.7:
        d = rng.choice([1, 2, 3, 2, 1, 4])
        up = rng.random() < 0.5
        w = en_or_digits(rng, d)
        unit = "degree" if d == 1 else "degrees"
        t = pick(rng, ["warmer by {n} {u}", "raise the temperature {n} {u}", "bump the heat up {n} {u}",
                       "it's cold, turn it up {n} {u}"] if up else
                 ["cooler by {n} {u}", "lower the temperature {n} {u}", "drop the temperature by {n} {u}",
                  "it's boiling in here, bring it down {n} {u}"])
        return wrap(rng, "en", t.format(n=w, u=unit)), "HVAC_ADJUST_TEMPERATURE", {"delta": d if up else -d}
    on = rng.random() < 0.5
    t = pick(rng, ["turn on the AC", "AC on", "switch on the air conditioning", "turn on the a c", "start the climate control",
                   "it's hot, turn the air on"] if on else
             ["turn off the AC", "AC off", "switch off the air conditioning", "kill the air conditioning", "shut the AC off"])
    return wrap(rng, "en", t), "HVAC_ON" if on else "HVAC_OFF", {}


def v_fan(rng, lang):
    lvl = rng.randint(1, 7)
    if lang == "zh":
        if rng.random() < 0.15:
            return wrap(rng, "zh", pick(rng, ["风量开到最大", "风速调到最大", "风开最大"])), "HVAC_FAN_SPEED", {"level": 7}
        w = zh_or_digits(rng, lvl, liang=True)
        t = pick(rng, ["风量调到{n}档", "风速{n}档", "风量开到{n}级", "空调风调成{n}档", "把风量设为{n}", "风速调{n}档"])
        return wrap(rng, "zh", t.format(n=w)), "HVAC_FAN_SPEED", {"level": lvl}
    if rng.random() < 0.15:
        return wrap(rng, "en", pick(rng, ["fan on max", "blower all the way up", "max fan speed"])), "HVAC_FAN_SPEED", {"level": 7}
    w = en_or_digits(rng, lvl)
    t = pick(rng, ["fan speed {n}", "set the fan to {n}", "set the blower to level {n}", "fan to level {n}", "put the fan on {n}"])
    return wrap(rng, "en", t.format(n=w)), "HVAC_FAN_SPEED", {"level": lvl}


def v_window(rng, lang):
    is_open = rng.random() < 0.55
    params = {}
    if lang == "zh":
        pos = ""
        if rng.random() < 0.7:
            pw, p = pick(rng, WIN_ZH)
            pos, params["position"] = pw, p
        if is_open:
            if rng.random() < 0.35:
                pc = rng.choice([10, 20, 30, 50, 50, 80])
                params["percent"] = pc
                if pc == 50 and rng.random() < 0.5:
                    t = pick(rng, ["把{p}车窗开一半", "{p}窗户开一半"])
                else:
                    t = pick(rng, ["{p}车窗打开百分之{n}", "{p}窗户开到百分之{n}", "{p}车窗开{d}%"])
                    t = t.replace("{n}", zh_number(pc)).replace("{d}", str(pc))
                return wrap(rng, "zh", t.format(p=pos)), "WINDOW_OPEN", params
            t = pick(rng, ["打开{p}车窗", "{p}车窗打开", "{p}窗户开一下", "把{p}窗户摇下来", "开{p}窗透透气", "{p}车床打开"])
            return wrap(rng, "zh", t.format(p=pos)), "WINDOW_OPEN", params
        t = pick(rng, ["关闭{p}车窗", "{p}车窗关上", "把{p}窗户关了", "{p}窗户摇上去", "关{p}窗", "{p}车窗关一下，风太大了"])
        return wrap(rng, "zh", t.format(p=pos), "raw" if "，" in t else "cmd"), "WINDOW_CLOSE", params
    pos = "the"
    if rng.random() < 0.7:
        pw, p = pick(rng, WIN_EN)
        pos, params["position"] = pw, p
    plural = "windows" if params.get("position") == "all" else "window"
    if is_open:
        if rng.random() < 0.35:
            pc = rng.choice([10, 20, 30, 50, 50])
            params["percent"] = pc
            if pc == 50:
                t = "roll down {p} {w} halfway"
            else:
                t = pick(rng, ["open {p} {w} {n} percent", "lower {p} {w} to {n} percent"]).replace("{n}", str(pc))
            return wrap(rng, "en", t.format(p=pos, w=plural)), "WINDOW_OPEN", params
        t = pick(rng, ["open {p} {w}", "roll down {p} {w}", "put {p} {w} down", "crack open {p} {w}"])
        return wrap(rng, "en", t.format(p=pos, w=plural)), "WINDOW_OPEN", params
    t = pick(rng, ["close {p} {w}", "roll up {p} {w}", "put {p} {w} up", "shut {p} {w}"])
    return wrap(rng, "en", t.format(p=pos, w=plural)), "WINDOW_CLOSE", params


def v_seat(rng, lang):
    lvl = rng.randint(0, 3)
    if lang == "zh":
        sw, s = pick(rng, SEAT_ZH)
        if lvl == 0:
            t = pick(rng, ["关掉{s}座椅加热", "{s}座椅加热关了", "{s}座位别加热了"])
            return wrap(rng, "zh", t.format(s=sw)), "SEAT_HEATING", {"seat": s, "level": 0}
        w = zh_or_digits(rng, lvl, liang=True)
        t = pick(rng, ["{s}座椅加热开到{n}档", "{s}座椅加热调到{n}档", "打开{s}座椅加热{n}档", "{s}坐椅加热{n}档",
                       "{s}屁股有点凉，座椅加热开{n}档"])
        return wrap(rng, "zh", t.format(s=sw, n=w)), "SEAT_HEATING", {"seat": s, "level": lvl}
    sw, s = pick(rng, SEAT_EN)
    if lvl == 0:
        t = pick(rng, ["turn off the {s} seat heater", "{s} seat heating off", "switch off the heated seat on the {s} side"])
        if sw == "my":
            t = "turn off my seat heater"
        return wrap(rng, "en", t.format(s=sw)), "SEAT_HEATING", {"seat": s, "level": 0}
    w = en_or_digits(rng, lvl)
    t = pick(rng, ["{s} seat heating level {n}", "set the {s} seat heater to {n}", "heat the {s} seat to level {n}",
                   "turn on the {s} seat heater, level {n}"])
    if sw == "my":
        t = "heat my seat to level {n}"
    return wrap(rng, "en", t.format(s=sw, n=w)), "SEAT_HEATING", {"seat": s, "level": lvl}


V_SIMPLE = {
    "DOOR_LOCK": (["锁车门", "把门锁上", "车门上锁", "锁一下门", "门锁了吧", "帮我把车锁了"],
                  ["lock the doors", "lock the car", "lock up", "lock all doors", "doors locked please"]),
    "DOOR_UNLOCK": (["解锁车门", "开锁", "把车门打开锁", "车门解锁一下", "门开一下锁，我朋友要上车"],
                    ["unlock the doors", "unlock the car", "unlock", "let my friend in, unlock the doors"]),
    "TRUNK_OPEN": (["打开后备箱", "开一下后备箱", "后备箱开一下", "尾门打开", "帮我开个后备箱放东西"],
                   ["open the trunk", "pop the trunk", "open the boot", "open the tailgate", "I need to load bags, open the trunk"]),
}


def v_phone(rng, lang):
    if lang == "zh":
        c = pick(rng, CONTACTS_ZH)
        t = pick(rng, ["给{c}打电话", "打电话给{c}", "呼叫{c}", "拨打{c}的电话", "帮我打给{c}", "给{c}拨个电话",
                       "联系一下{c}", "call一下{c}", "打个电话给{c}问问到哪了"])
        return wrap(rng, "zh", t.format(c=c), "raw" if "问问" in t else "cmd"), "PHONE_CALL", {"contact": c}
    c = pick(rng, CONTACTS_EN)
    t = pick(rng, ["call {c}", "phone {c}", "ring {c}", "dial {c}", "give {c} a call", "get {c} on the phone",
                   "call {c} on speaker"])
    text, sp = asr_lower(rng, t.format(c=c), {"contact": c})
    return wrap(rng, "en", text), "PHONE_CALL", sp


V_NEG = (["空调是不是坏了", "我妈妈昨天打电话来了", "窗外风景真好", "这车的座椅真舒服", "后备箱里还有东西吗",
          "车门好像有点异响", "谁给我打的电话", "冷气怎么有股味道", "我家的空调也该换了"],
         ["is the AC broken", "my mom called yesterday", "nice view out the window", "these seats are comfy",
          "did I leave my bag in the trunk", "who was that on the phone", "why does the air smell funny"])


# ---------------------------------------------------------------- status queries
S_ITEMS = {
    "fuel": (["还有多少油", "油还够吗", "油量多少", "查一下油量", "油箱还剩多少", "还剩多少油了", "游量还有多少", "油箱里还有多少油"],
             ["how much gas is left", "how much fuel do I have", "fuel level", "do I have enough gas", "check the fuel",
              "what's my fuel at", "how full is the tank"]),
    "range": (["还能跑多远", "续航还有多少", "还能开多少公里", "剩下的能跑多少公里", "序航还有多少", "这些油能开多远", "油够不够开到家"],
              ["how far can I go", "what's my range", "how many miles can I drive", "remaining range",
               "how far will this tank get me", "range left"]),
    "battery": (["电量还有多少", "电池还剩多少", "还有多少电", "电还够吗", "查一下电量", "电池电量多少"],
                ["battery level", "how much battery is left", "what's the battery at", "check the battery",
                 "how charged is the car"]),
    "tire_pressure": (["胎压正常吗", "轮胎气压多少", "查一下胎压", "台压怎么样", "轮胎有没有气", "胎压多少"],
                      ["check tire pressure", "what's the tire pressure", "are my tires okay", "tyre pressure",
                       "do the tires need air"]),
    "speed": (["我现在开多快", "现在车速多少", "现在时速多少", "我开了多少码", "当前速度是多少"],
              ["how fast am I going", "what's my speed", "current speed", "how fast are we driving"]),
    "odometer": (["总里程多少", "这车跑了多少公里了", "里程表多少", "一共开了多少公里", "查一下总里程"],
                 ["what's the odometer reading", "total mileage", "how many miles are on the car", "odometer"]),
    "outside_temperature": (["外面多少度", "外面冷不冷", "车外温度多少", "外面气温怎么样", "室外温度是多少"],
                            ["what's the temperature outside", "how cold is it outside", "outside temperature",
                             "is it hot out there"]),
}
S_NEG = (["今天天气怎么样", "明天会下雨吗", "我的油卡还有多少钱", "现在几点了", "油价是不是又涨了", "这车百公里油耗多少",
          "手机还有多少电", "电费怎么算的", "我家电动车电池换了没", "今天星期几"],
         ["what's the weather tomorrow", "what time is it", "how much did gas cost last week", "is my phone charged",
          "what's the stock price of Tesla", "when is my next service due", "what's the news today"])

# ---------------------------------------------------------------- safety
DRIVING = {"speed_kmh": 60, "speed_limit_kmh": 80, "gear": "D", "driver_fatigue_level": 0, "driving_minutes": 30,
           "seat_belt_driver": True, "seat_belt_passenger": True, "door_open": False,
           "fuel_percent": 55, "battery_percent": 80, "tire_pressure_kpa": 240}

EMERG_ZH = {
    "ambulance": ["快叫救护车", "帮我打120", "我心脏好疼，叫救护车", "有人受伤了，快打急救电话", "叫120，我老婆晕倒了",
                  "我喘不上气了，叫救护车", "快打一二零"],
    "police": ["快报警", "打110", "有人砸车，帮我报警", "出车祸了，快报警", "打幺幺零", "有人跟踪我，报警"],
    "fire": ["着火了，打119", "车着火了，快叫消防", "前面车冒烟起火了，打火警电话", "打一一九"],
    None: ["救命", "救命啊", "紧急呼叫", "帮帮我，出事了", "紧急求助", "快打紧急电话"],
}
EMERG_EN = {
    "ambulance": ["call an ambulance", "I need an ambulance", "my passenger collapsed, get an ambulance",
                  "call emergency medical services", "someone's hurt, call an ambulance now",
                  "I think I'm having a heart attack, call an ambulance", "my kid stopped breathing, get an ambulance"],
    "police": ["call the police", "get the police", "someone's breaking into the car, call the cops", "I need the police",
               "we were just robbed, call the cops", "someone is following me, call the police"],
    "fire": ["there's a fire, call the fire department", "the engine is on fire", "call the fire brigade",
             "smoke is pouring out of the hood, call the fire department"],
    None: ["help", "emergency", "help me, there's been an accident", "call emergency services", "SOS", "call 911",
           "mayday", "this is an emergency", "we crashed, get help"],
}

# Utterances that look like emergencies to a careless matcher but are ordinary commands.
NOT_EMERG = [
    ("zh", "放一首Beatles的Help", "MUSIC_PLAY", {"artist": "Beatles", "song": "Help"}),
    ("zh", "热死我了，温度调低两度", "HVAC_ADJUST_TEMPERATURE", {"delta": -2}),
    ("zh", "导航到消防局旁边的那个停车场", "NAV_NAVIGATE_TO", {"destination": "消防局旁边的那个停车场"}),
    ("zh", "给派出所的李警官打电话", "PHONE_CALL", {"contact": "派出所的李警官"}),
    ("zh", "笑死我了，下一首", "MUSIC_NEXT", {}),
    ("zh", "我想听周杰伦的《救命》", "MUSIC_PLAY", {"artist": "周杰伦", "song": "救命"}),
    ("zh", "报警器的声音太大了", None, None),
    ("zh", "电视剧《急诊科医生》放一下", "VIDEO_PLAY", {"title": "急诊科医生"}),
    ("en", "play Help by The Beatles", "MUSIC_PLAY", {"artist": "The Beatles", "song": "Help"}),
    ("en", "I'm dying to hear some Adele", "MUSIC_PLAY", {"artist": "Adele"}),
    ("en", "navigate to the fire station on Elm Street", "NAV_NAVIGATE_TO", {"destination": "the fire station on Elm Street"}),
    ("en", "this traffic is killing me, play some jazz", "MUSIC_PLAY", {"genre": "jazz"}),
    ("en", "call Officer Brown", "PHONE_CALL", {"contact": "Officer Brown"}),
    ("en", "I watched a show about paramedics last night", None, None),
    ("en", "my friend is a firefighter", None, None),
]
NOT_EMERG_ZH_EXTRA = [("消防演习什么时候开始", None, None), ("救护车刚开过去了", None, None),
                      ("昨天高速上看到一起车祸，好吓人", None, None), ("我朋友是急诊科医生", None, None),
                      ("消防车的声音好吵", None, None), ("上次超速被罚了两百", None, None)]
NOT_EMERG_EN_EXTRA = [("that ambulance was loud", None, None), ("I almost got a speeding ticket yesterday", None, None),
                      ("help yourself to the snacks back there", None, None), ("the police station is closed on Sundays", None, None)]


def state(**overrides):
    s = dict(DRIVING)
    s.update(overrides)
    return s


# How the safety share is spent, per language: (mode, weight). Planned, not drawn, so every kind is well covered.
SAFETY_PLAN = [("emergency", 0.33), ("alert:overspeed", 0.08), ("alert:fatigue", 0.08), ("alert:seatbelt_unfastened", 0.06),
               ("alert:door_open_moving", 0.06), ("refuse:video_while_moving", 0.07), ("refuse:door_while_moving", 0.05),
               ("refuse:trunk_while_moving", 0.05), ("clamp:window_limit_at_speed", 0.03), ("clamp:volume_limit_at_speed", 0.02),
               ("confirm:all_windows_at_speed", 0.03), ("near_negative", 0.06), ("near", 0.08)]


def safety_plan(total):
    counts = [(mode, max(2, round(total * w))) for mode, w in SAFETY_PLAN[1:]]
    counts.insert(0, (SAFETY_PLAN[0][0], total - sum(n for _, n in counts)))  # emergencies take the rest
    return [mode for mode, n in counts for _ in range(n)]


def safety_case(rng, lang, mode):
    """One safety case: emergency, alert with an ordinary command, refusal while moving, or a near-miss."""
    if mode == "emergency":
        bank = EMERG_ZH if lang == "zh" else EMERG_EN
        service = rng.choice([k for k in bank])
        text = wrap(rng, lang, pick(rng, bank[service]), "raw")
        if lang == "zh" and rng.random() < 0.3:
            text = pick(rng, ["", "喂，", "小安！"]) + text + pick(rng, ["！", "！！", "，快点"])
        elif lang == "en" and rng.random() < 0.3:
            text = pick(rng, ["", "hey car, ", "oh god, "]) + text + pick(rng, ["!", " now!", ", quick"])
        # No named service is a general emergency call (the safety layer's convention).
        params = {"service": service or "general"}
        st = state(speed_kmh=rng.choice([0, 0, 30, 70]), gear=rng.choice(["P", "D"])) if rng.random() < 0.5 else None
        if st is not None and st["speed_kmh"] > 0:
            st["gear"] = "D"
        if st is not None and st["speed_kmh"] == 0:
            st["gear"] = "P"
        return text, "EMERGENCY_CALL", params, {"outcome": "published", "tier": "safety"}, st, "emergency"
    if mode.startswith("alert:"):
        kind = mode.split(":")[1]
        if kind == "overspeed":
            limit = rng.choice([60, 80, 100, 120])
            st = state(speed_limit_kmh=limit, speed_kmh=limit + rng.choice([25, 30, 40, 50]))
        elif kind == "fatigue":
            st = state(driver_fatigue_level=rng.choice([2, 3]), driving_minutes=rng.choice([150, 200, 260, 300]),
                       speed_kmh=90, speed_limit_kmh=120)
        elif kind == "seatbelt_unfastened":
            st = state(seat_belt_driver=False, speed_kmh=rng.choice([40, 60, 80]))
        else:
            st = state(door_open=True, speed_kmh=rng.choice([20, 30, 50]))
        builder = rng.choice([lambda: m_play_zh(rng) if lang == "zh" else m_play_en(rng),
                              lambda: simple(rng, lang, M_SIMPLE, "MUSIC_NEXT"),
                              lambda: n_nearby(rng, lang),
                              lambda: v_temp_zh(rng) if lang == "zh" else v_temp_en(rng),
                              lambda: status(rng, lang)])
        text, action, params = builder()
        while params is None:
            text, action, params = builder()
        return text, action, params, {"outcome": "published", "alert": kind}, st, "high"
    if mode.startswith("refuse:"):
        rule = mode.split(":")[1]
        st = state(speed_kmh=rng.choice([40, 60, 80, 100]), speed_limit_kmh=120)
        if rule == "video_while_moving":
            text, action, params = m_video(rng, lang)
        elif rule == "door_while_moving":
            text, action, params = simple(rng, lang, V_SIMPLE, "DOOR_UNLOCK")
        elif rule == "trunk_while_moving":
            text, action, params = simple(rng, lang, V_SIMPLE, "TRUNK_OPEN")
        return text, action, params, {"outcome": "refused", "rule": rule}, st, "high"
    if mode == "clamp:window_limit_at_speed":
        # Above 80 km/h a window opens at most 30%, whatever was asked (the gate clamps and says so).
        text, pos = pick(rng, [("把主驾车窗全打开", "driver"), ("副驾窗户开到底", "passenger"), ("左后车窗打开", "rear_left"),
                               ("我这边窗户降到底", "driver"), ("右后窗户全部打开", "rear_right"), ("副驾车窗打开", "passenger")]
                         if lang == "zh" else
                         [("open the driver window all the way", "driver"), ("roll the passenger window all the way down", "passenger"),
                          ("open the rear left window", "rear_left"), ("put my window down completely", "driver"),
                          ("open the back right window", "rear_right")])
        st = state(speed_kmh=rng.choice([100, 110, 120]), speed_limit_kmh=120)
        return (wrap(rng, lang, text), "WINDOW_OPEN", {"position": pos, "percent": 30},
                {"outcome": "published", "clamp": "window_limit_at_speed"}, st, "high")
    if mode == "clamp:volume_limit_at_speed":
        # While moving the volume is capped at 85.
        text = pick(rng, ["音量调到一百", "声音开到最大", "音量调到九十五", "音量开到九十", "把音量调到最大"] if lang == "zh" else
                    ["volume to a hundred", "put the volume at 100", "set the volume to 95", "turn the volume to ninety"])
        st = state(speed_kmh=rng.choice([40, 60, 80]))
        return (wrap(rng, lang, text), "VOLUME_SET", {"level": 85},
                {"outcome": "published", "clamp": "volume_limit_at_speed"}, st, "high")
    if mode == "confirm:all_windows_at_speed":
        # All windows at speed needs a yes first; above 80 km/h the opening is also clamped to 30%.
        text = pick(rng, ["把所有车窗全部打开", "四个窗户全打开", "所有窗户都摇到底", "全部车窗打开透透气", "车窗全部开到最大"]
                    if lang == "zh" else
                    ["open all the windows", "roll all the windows down", "put every window down", "all windows fully open"])
        st = state(speed_kmh=rng.choice([90, 100, 110]), speed_limit_kmh=120)
        return (wrap(rng, lang, text), "WINDOW_OPEN", {"position": "all", "percent": 30},
                {"outcome": "confirmation_requested"}, st, "high")
    # near-misses: look dangerous, are not
    cands = [c for c in NOT_EMERG if c[0] == lang] + [(lang,) + c for c in (NOT_EMERG_ZH_EXTRA if lang == "zh" else NOT_EMERG_EN_EXTRA)]
    if mode == "near_negative":
        cands = [c for c in cands if c[2] is None]
    if mode == "near_negative" or rng.random() < 0.5:
        _, text, action, params = pick(rng, cands)
        text = wrap(rng, lang, text, "raw")
        st = None
    else:
        # Driving within every limit: an ordinary command goes through and raises no alert.
        text, action, params = (m_play_zh(rng) if lang == "zh" else m_play_en(rng)) if rng.random() < 0.5 else n_nearby(rng, lang)
        st = state(speed_kmh=rng.choice([50, 70, 95]), speed_limit_kmh=100, driving_minutes=rng.choice([20, 60, 100]))
    extra = {"outcome": "not_understood"} if action is None else {"outcome": "published"}
    return text, action, params, extra, st, "medium" if action else "low"


def simple(rng, lang, table, action):
    zh, en = table[action]
    t = pick(rng, zh if lang == "zh" else en)
    return wrap(rng, lang, t, "raw" if "，" in t or ", " in t else "cmd"), action, {}


def status(rng, lang):
    item = rng.choice(sorted(S_ITEMS))
    zh, en = S_ITEMS[item]
    return wrap(rng, lang, pick(rng, zh if lang == "zh" else en), "q"), "STATUS_QUERY", {"item": item}


def negative(rng, lang, bank):
    zh, en = bank
    return wrap(rng, lang, pick(rng, zh if lang == "zh" else en), "stmt"), None, None


# ---------------------------------------------------------------- per-category builders: (weight, fn(rng, lang))
BUILDERS = {
    "music": [
        (30, lambda rng, l: m_play_zh(rng) if l == "zh" else m_play_en(rng)),
        (18, lambda rng, l: m_volume_zh(rng) if l == "zh" else m_volume_en(rng)),
        (5, lambda rng, l: simple(rng, l, M_SIMPLE, "MUSIC_PAUSE")),
        (4, lambda rng, l: simple(rng, l, M_SIMPLE, "MUSIC_RESUME")),
        (6, lambda rng, l: simple(rng, l, M_SIMPLE, "MUSIC_NEXT")),
        (4, lambda rng, l: simple(rng, l, M_SIMPLE, "MUSIC_PREVIOUS")),
        (4, lambda rng, l: simple(rng, l, M_SIMPLE, "VOLUME_MUTE")),
        (5, lambda rng, l: m_video(rng, l)),
        (7, lambda rng, l: negative(rng, l, M_NEG)),
    ],
    "navigation": [
        (45, lambda rng, l: n_nav_zh(rng) if l == "zh" else n_nav_en(rng)),
        (35, lambda rng, l: n_nearby(rng, l)),
        (10, lambda rng, l: simple(rng, l, {"NAV_CANCEL": N_CANCEL}, "NAV_CANCEL")),
        (8, lambda rng, l: negative(rng, l, N_NEG)),
    ],
    "vehicle_control": [
        (28, lambda rng, l: v_temp_zh(rng) if l == "zh" else v_temp_en(rng)),
        (9, lambda rng, l: v_fan(rng, l)),
        (18, lambda rng, l: v_window(rng, l)),
        (11, lambda rng, l: v_seat(rng, l)),
        (4, lambda rng, l: simple(rng, l, V_SIMPLE, "DOOR_LOCK")),
        (4, lambda rng, l: simple(rng, l, V_SIMPLE, "DOOR_UNLOCK")),
        (4, lambda rng, l: simple(rng, l, V_SIMPLE, "TRUNK_OPEN")),
        (14, lambda rng, l: v_phone(rng, l)),
        (7, lambda rng, l: negative(rng, l, V_NEG)),
    ],
    "status_query": [
        (90, lambda rng, l: status(rng, l)),
        (10, lambda rng, l: negative(rng, l, S_NEG)),
    ],
}

# Mixed Chinese/English, as bilingual drivers speak; counted as zh.
MIXED = [
    ("music", "播放Taylor Swift的Love Story", "MUSIC_PLAY", {"artist": "Taylor Swift", "song": "Love Story"}),
    ("music", "放一首Shape of You", "MUSIC_PLAY", {"song": "Shape of You"}),
    ("music", "来点jazz", "MUSIC_PLAY", {"genre": "jazz"}),
    ("music", "切到next song", "MUSIC_NEXT", {}),
    ("music", "volume调到三十", "VOLUME_SET", {"level": 30}),
    ("music", "把music暂停一下", "MUSIC_PAUSE", {}),
    ("music", "放点Coldplay的歌", "MUSIC_PLAY", {"artist": "Coldplay"}),
    ("music", "来首rock提提神", "MUSIC_PLAY", {"genre": "rock"}),
    ("music", "声音mute掉", "VOLUME_MUTE", {}),
    ("navigation", "导航去Apple Store", "NAV_NAVIGATE_TO", {"destination": "Apple Store"}),
    ("navigation", "帮我找个parking", "NAV_FIND_NEARBY", {"category": "parking"}),
    ("navigation", "导航到IFC国金中心", "NAV_NAVIGATE_TO", {"destination": "IFC国金中心"}),
    ("navigation", "cancel导航", "NAV_CANCEL", {}),
    ("navigation", "附近有没有Tesla超充", "NAV_FIND_NEARBY", {"category": "charging_station"}),
    ("vehicle_control", "AC调到二十二度", "HVAC_SET_TEMPERATURE", {"temperature": 22}),
    ("vehicle_control", "打开AC", "HVAC_ON", {}),
    ("vehicle_control", "给Jack打个电话", "PHONE_CALL", {"contact": "Jack"}),
    ("vehicle_control", "call一下Lisa", "PHONE_CALL", {"contact": "Lisa"}),
    ("status_query", "check一下胎压", "STATUS_QUERY", {"item": "tire_pressure"}),
    ("status_query", "battery还有多少", "STATUS_QUERY", {"item": "battery"}),
]


# Hand-written, indirect phrasings that no template produces; each is used once.
FREEFORM = [
    ("music", "zh", "开车好无聊，来点周杰伦的歌", "MUSIC_PLAY", {"artist": "周杰伦"}),
    ("music", "zh", "孩子在后面睡觉，声音调到十", "VOLUME_SET", {"level": 10}),
    ("music", "zh", "我跟你说，把音量调到二十五就行", "VOLUME_SET", {"level": 25}),
    ("music", "zh", "听不清导航在说啥，音乐先暂停", "MUSIC_PAUSE", {}),
    ("music", "zh", "好了电话打完了，音乐继续吧", "MUSIC_RESUME", {}),
    ("music", "zh", "这首歌我不喜欢，来下一个", "MUSIC_NEXT", {}),
    ("music", "zh", "能给我放首林俊杰的江南不", "MUSIC_PLAY", {"artist": "林俊杰", "song": "江南"}),
    ("music", "zh", "有没有那种适合开车听的摇滚，放一下", "MUSIC_PLAY", {"genre": "rock"}),
    ("music", "zh", "音乐声音稍微大一丢丢", "VOLUME_UP", {}),
    ("music", "zh", "把声音调到百分之六十", "VOLUME_SET", {"level": 60}),
    ("music", "zh", "刚才那首挺好听的，返回去再听一下上一首", "MUSIC_PREVIOUS", {}),
    ("music", "zh", "后排孩子想看熊出没，给他放一下", "VIDEO_PLAY", {"title": "熊出没"}),
    ("music", "en", "this song is driving me nuts, next", "MUSIC_NEXT", {}),
    ("music", "en", "the kids are asleep, bring the volume down to ten", "VOLUME_SET", {"level": 10}),
    ("music", "en", "I'm on a call, pause the music", "MUSIC_PAUSE", {}),
    ("music", "en", "okay I'm done with the call, you can start the music again", "MUSIC_RESUME", {}),
    ("music", "en", "wasn't the last song better? go back one", "MUSIC_PREVIOUS", {}),
    ("music", "en", "can we get some Queen going", "MUSIC_PLAY", {"artist": "Queen"}),
    ("music", "en", "I could really use some jazz right now", "MUSIC_PLAY", {"genre": "jazz"}),
    ("music", "en", "shh, mute", "VOLUME_MUTE", {}),
    ("navigation", "zh", "今天要去接孩子，导航到清华大学", "NAV_NAVIGATE_TO", {"destination": "清华大学"}),
    ("navigation", "zh", "我约了人在国贸见面，导一下", "NAV_NAVIGATE_TO", {"destination": "国贸"}),
    ("navigation", "zh", "待会儿要赶飞机，去浦东国际机场", "NAV_NAVIGATE_TO", {"destination": "浦东国际机场"}),
    ("navigation", "zh", "油灯亮了，附近哪有加油站", "NAV_FIND_NEARBY", {"category": "gas_station"}),
    ("navigation", "zh", "开了三个小时了，找个服务区歇会儿", "NAV_FIND_NEARBY", {"category": "rest_area"}),
    ("navigation", "zh", "到了到了，导航可以关了", "NAV_CANCEL", {}),
    ("navigation", "zh", "先不去了，把导航取消", "NAV_CANCEL", {}),
    ("navigation", "zh", "带我去吃饭的地方吧，附近随便哪家", "NAV_FIND_NEARBY", {"category": "restaurant"}),
    ("navigation", "en", "I'm late for my flight, get me to JFK Airport", "NAV_NAVIGATE_TO", {"destination": "JFK Airport"}),
    ("navigation", "en", "we're meeting friends at Navy Pier, can you route us there", "NAV_NAVIGATE_TO", {"destination": "Navy Pier"}),
    ("navigation", "en", "the fuel light just came on, where's the nearest gas station", "NAV_FIND_NEARBY", {"category": "gas_station"}),
    ("navigation", "en", "we made it, you can stop navigating", "NAV_CANCEL", {}),
    ("navigation", "en", "the kids need a bathroom, find a rest area", "NAV_FIND_NEARBY", {"category": "rest_area"}),
    ("vehicle_control", "zh", "我有点冷，空调温度调高两度", "HVAC_ADJUST_TEMPERATURE", {"delta": 2}),
    ("vehicle_control", "zh", "后排的人说热，后排温度调低三度", "HVAC_ADJUST_TEMPERATURE", {"delta": -3, "zone": "rear"}),
    ("vehicle_control", "zh", "风太大了吹得头疼，风量调到二档", "HVAC_FAN_SPEED", {"level": 2}),
    ("vehicle_control", "zh", "车里有点闷，把我这边窗户开一点", "WINDOW_OPEN", {"position": "driver"}),
    ("vehicle_control", "zh", "要下雨了，窗户全部关上", "WINDOW_CLOSE", {"position": "all"}),
    ("vehicle_control", "zh", "给老婆打个电话，说我快到了", "PHONE_CALL", {"contact": "老婆"}),
    ("vehicle_control", "zh", "座椅太凉了，主驾加热开最高档", "SEAT_HEATING", {"seat": "driver", "level": 3}),
    ("vehicle_control", "zh", "下车了，锁一下车", "DOOR_LOCK", {}),
    ("vehicle_control", "en", "I'm freezing, bump the temperature up two degrees", "HVAC_ADJUST_TEMPERATURE", {"delta": 2}),
    ("vehicle_control", "en", "it's stuffy in here, crack the passenger window", "WINDOW_OPEN", {"position": "passenger"}),
    ("vehicle_control", "en", "it's starting to rain, close all the windows", "WINDOW_CLOSE", {"position": "all"}),
    ("vehicle_control", "en", "I'm running late, call Mom", "PHONE_CALL", {"contact": "Mom"}),
    ("vehicle_control", "en", "my back is cold, turn the driver seat heater to three", "SEAT_HEATING", {"seat": "driver", "level": 3}),
    ("status_query", "zh", "仪表盘上胎压灯亮了，帮我看看胎压", "STATUS_QUERY", {"item": "tire_pressure"}),
    ("status_query", "zh", "外头是不是降温了，车外温度多少", "STATUS_QUERY", {"item": "outside_temperature"}),
    ("status_query", "zh", "电动车最怕没电，现在电量多少", "STATUS_QUERY", {"item": "battery"}),
    ("status_query", "zh", "这辆车开了多少公里了，我想卖了", "STATUS_QUERY", {"item": "odometer"}),
    ("status_query", "zh", "我是不是开太快了，现在多少码", "STATUS_QUERY", {"item": "speed"}),
    ("status_query", "en", "the tire light came on, what's the pressure", "STATUS_QUERY", {"item": "tire_pressure"}),
    ("status_query", "en", "will I make it home on this charge? what's the range", "STATUS_QUERY", {"item": "range"}),
    ("status_query", "en", "how much juice is left in the battery", "STATUS_QUERY", {"item": "battery"}),
]


def default_priority(category, action):
    if action is None:
        return "low"
    if category == "status_query":
        return "low"
    return "medium"


def outcome_for(action):
    if action is None:
        return "not_understood"
    return "confirmation_requested" if action in CONFIRM else "published"


def make_expected(action, params, extra=None):
    if action is None:
        exp = {"action": None, "outcome": "not_understood"}
    else:
        exp = {"action": action, "parameters": params, "outcome": outcome_for(action)}
    if extra:
        exp.update(extra)
    return exp


def generate():
    rng = random.Random(SEED)
    counts = {c: round(TOTAL * s) for c, s in SHARES.items()}
    cases, seen = [], set()
    plans = {}

    def add(category, lang, text, expected, priority, st=None):
        key = text.strip()
        if key in seen:
            return False
        seen.add(key)
        case = {"id": "", "category": category, "lang": lang, "input": key}
        if st is not None:
            case["vehicle_state"] = st
        case["expected"] = expected
        case["priority"] = priority
        cases.append(case)
        return True

    for cat, text, action, params in MIXED:
        add(cat, "zh", text, make_expected(action, params), default_priority(cat, action))
    for cat, lang, text, action, params in FREEFORM:
        add(cat, lang, text, make_expected(action, params), default_priority(cat, action))

    for category, total in counts.items():
        for lang in ("zh", "en"):
            want = round(total * (ZH_SHARE if lang == "zh" else 1 - ZH_SHARE))
            have = sum(1 for c in cases if c["category"] == category and c["lang"] == lang)
            attempts = 0
            while have < want:
                attempts += 1
                if attempts > 200000:
                    sys.exit(f"phrase banks too small for {category}/{lang}: {have}/{want}")
                if category == "safety":
                    plan = plans.setdefault(lang, safety_plan(want))
                    mode = plan[min(have, len(plan) - 1)]
                    text, action, params, extra, st, prio = safety_case(rng, lang, mode)
                    if action is not None and params is None:
                        continue
                    ok = add(category, lang, text, make_expected(action, params, extra), prio, st)
                else:
                    builders = BUILDERS[category]
                    fn = rng.choices([b for _, b in builders], weights=[w for w, _ in builders])[0]
                    text, action, params = fn(rng, lang)
                    if action is not None and params is None:
                        # phrasings without an exact value (一半/最大) have a definite reading: map it
                        params = {"level": 50 if any(k in text for k in ("一半", "half")) else 100}
                    ok = add(category, lang, text, make_expected(action, params), default_priority(category, action))
                have += ok

    # Stable ids per category and language, then a stratified dev/test split.
    rng.shuffle(cases)
    cases.sort(key=lambda c: (list(SHARES).index(c["category"]), c["lang"]))
    prefix = {"music": "mus", "navigation": "nav", "vehicle_control": "veh", "status_query": "sta", "safety": "saf"}
    counter = {}
    for c in cases:
        k = (c["category"], c["lang"])
        counter[k] = counter.get(k, 0) + 1
        c["id"] = f"{prefix[c['category']]}-{c['lang']}-{counter[k]:04d}"
    dev, test = [], []
    def stratum(c):
        e = c["expected"]
        return (c["category"], c["lang"], e["outcome"], e.get("alert") or "", e.get("rule") or "", e.get("tier") or "")
    for k in sorted({stratum(c) for c in cases}):
        group = [c for c in cases if stratum(c) == k]
        n_dev = round(len(group) * DEV_SHARE)
        picked = set(c["id"] for c in rng.sample(group, n_dev))
        for c in group:
            (dev if c["id"] in picked else test).append(c)
    return dev, test


def main():
    root = Path(__file__).resolve().parents[1]
    dev, test = generate()
    # Hand-written dev cases (challenge utterances written after the split, never in the test split) follow the
    # generated ones; they are kept beside this script so that re-running it still gives the committed bytes.
    with open(Path(__file__).with_name("dev_handwritten.jsonl"), encoding="utf-8") as f:
        dev = dev + [json.loads(line) for line in f if line.strip()]
    for name, rows in (("dev.jsonl", dev), ("test.jsonl", test)):
        with open(root / name, "w", encoding="utf-8", newline="\n") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False, separators=(", ", ": ")) + "\n")
    print(f"dev {len(dev)}, test {len(test)}")


if __name__ == "__main__":
    main()
