#!/usr/bin/env python3
"""Writes the emergency evaluation set: eval/emergency-dev.jsonl and eval/emergency-test.jsonl.

The two halves were written differently on purpose, so the split measures generalisation:
- test: tools/emergency_test.txt, hand-written as short scenes reduced to one utterance each, before any matcher
  rule existed. Held out: the matcher is never tuned on it.
- dev: composed here from phrase banks (who × what happened × fillers × ASR slips), the matcher's tuning set, then
  tools/emergency_dev_scenes.txt: hand-written scenes in the driver's own words and near-misses of every kind.

Deterministic (fixed seed, standard library only): `python3 eval/tools/emergency.py` from the repository root
gives the committed bytes.
"""
import json
import random
from pathlib import Path

SEED = 20261129
ROOT = Path(__file__).resolve().parents[1]

ZH_FILL = ["", "", "", "小安 ", "嗯 ", "喂 ", "哎呀 ", "快 ", "天哪 ", "那个 "]
ZH_TAIL = ["", "", "", " 快", " 怎么办", " 快点", "啊", " 快帮帮我"]
EN_FILL = ["", "", "", "oh god ", "uh ", "hey car ", "oh no ", "please ", "um "]
EN_TAIL = ["", "", "", " please", " hurry", " what do i do", " oh god"]

# (class, service, utterances) — emergencies the matcher must act on (call, or ask when unsure).
ZH_EMERGENCY = [
    ("collision", "general", ["我们出车祸了", "车祸了", "我撞车了", "我们被撞了", "被人追尾了", "车子翻了", "翻车了",
                              "撞到一个人", "我把人撞了", "撞上电线杆了", "撞到墙上了", "刚被一辆车撞了", "车撞烂了",
                              "跟前车撞上了", "我们出事故了", "出事了", "车冲到沟里去了", "发生事故了", "撞了撞了",
                              "被一辆卡车撞了", "撞到一个骑车的", "出车货了", "我们翻车了 人在车里"]),
    ("fire", "fire", ["车着火了", "着火了", "车冒烟了", "发动机冒烟了", "前面冒烟了", "车里起火了", "电池着火了",
                      "有火 快下车", "车头着伙了", "烧起来了", "后备箱冒烟", "闻到焦味 冒黑烟了", "引擎着火了"]),
    ("medical", "ambulance", ["我老公晕倒了", "她晕过去了", "孩子昏迷了", "我爸心脏病犯了", "有人受伤了", "我受伤了",
                              "我流血了", "他流了很多血", "孩子抽搐了", "她喘不上气", "我喘不过气来", "我妈没有呼吸了",
                              "我胸口好疼", "心口疼得厉害", "他中风了", "我老婆要生了", "孩子过敏了 喘不上气",
                              "他噎住了", "我爸突然倒下了", "乘客昏过去了", "他没反应了", "她不省人事了", "我头晕得厉害 要晕了",
                              "老人家心梗", "朋友抽风了", "宝宝呛到了 喘不过气"]),
    ("crime", "police", ["有人抢劫", "有人砸车", "有人跟踪我", "有人拿刀", "我被抢了", "有人撬车门", "有人打我",
                         "有人要抢我的车", "有辆车一直跟着我", "有坏人", "有人袭击我们", "被人打劫了", "有人在偷车",
                         "有人拽我车门", "有个人拿着棍子砸车"]),
    ("trapped", "general", ["我被困在车里了", "门打不开 出不去", "孩子锁在车里了", "被卡住了出不来", "我们被困住了",
                            "安全带解不开 出不去", "车门卡死了 我们出不去", "腿卡住了动不了"]),
    ("water", "general", ["车掉水里了", "车进水了 在往下沉", "车冲进河里了", "水漫进车里了 出不去", "车被水冲走了",
                          "车掉进湖里了"]),
    ("distress", "general", ["救命", "救命啊", "救救我", "快救人", "来人啊", "求救", "紧急情况", "帮帮我", "救救孩子",
                             "快叫人", "求救 求救", "sos", "紧急求助", "就命啊"]),
    ("number", None, ["打110", "打120", "打119", "拨打一一零", "拨打幺二零", "叫救护车", "报警", "快报警", "叫消防车",
                      "打一二二", "拨112", "帮我打九一一", "呼叫幺幺零", "快叫救护车"]),
]
NUMBER_SERVICE = {"110": "police", "一一零": "police", "幺幺零": "police", "报警": "police", "一二二": "police",
                  "120": "ambulance", "幺二零": "ambulance", "救护车": "ambulance",
                  "119": "fire", "消防": "fire"}

EN_EMERGENCY = [
    ("collision", "general", ["we crashed", "we've been in an accident", "i crashed the car", "we got hit",
                              "someone hit us", "i hit someone", "i hit a pedestrian", "we got rear ended",
                              "the car flipped", "we rolled over", "we hit a tree", "i ran into a wall",
                              "a car just hit us", "there's been an accident", "car crash", "we had a crash",
                              "i just had an accident", "we collided with a truck", "we went off the road",
                              "we hit a motorcycle", "i think we totaled the car and my head is bleeding"]),
    ("fire", "fire", ["the car is on fire", "the engine is smoking", "there's smoke coming out of the hood",
                      "fire", "there's a fire", "the car's burning", "the battery caught fire", "we're on fire",
                      "smoke is pouring out", "something is burning and there's smoke", "flames under the hood"]),
    ("medical", "ambulance", ["my wife fainted", "he passed out", "she's unconscious", "my son isn't breathing",
                              "he's not breathing", "she's choking", "i'm having chest pains", "he's having a heart attack",
                              "my dad is having a stroke", "she's having a seizure", "he's bleeding a lot",
                              "i'm badly hurt", "someone is injured", "my passenger collapsed", "the baby stopped breathing",
                              "she's going into labor", "the baby is coming", "he's having an allergic reaction",
                              "i can't breathe", "my husband is unresponsive", "my chest hurts so bad",
                              "my mom blacked out", "he's convulsing"]),
    ("crime", "police", ["we're being robbed", "someone's breaking into my car", "i'm being followed",
                         "a man has a gun", "someone has a knife", "i'm being attacked", "they stole my car",
                         "someone is trying to carjack me", "a guy is hitting me", "someone broke my window",
                         "a car has been following us for miles", "there's a stranger trying to open my door",
                         "i got mugged", "they're threatening us"]),
    ("trapped", "general", ["i'm trapped in the car", "we're stuck in the car", "the door won't open i can't get out",
                            "my kid is locked in the car", "i'm pinned", "i can't get out of the car",
                            "we're locked in"]),
    ("water", "general", ["the car is in the water", "we're sinking", "the car went into the lake",
                          "water is filling the car", "we're in the river", "the flood is carrying the car away"]),
    ("distress", "general", ["help", "help me", "somebody help", "help us", "sos", "mayday", "emergency",
                             "this is an emergency", "we need help", "please help", "someone help me please",
                             "hlep", "i need help now"]),
    ("number", None, ["call 911", "call nine one one", "dial nine one one", "call an ambulance", "call the police",
                      "call the fire department", "call 112", "dial 999", "call emergency services", "get an ambulance",
                      "call the cops", "call one one zero"]),
]
EN_NUMBER_SERVICE = {"ambulance": "ambulance", "police": "police", "cops": "police", "one one zero": "police",
                     "fire": "fire"}

# Near-misses: sentences with an emergency word in them that must NOT call anyone.
ZH_NEAR = [
    ("past", ["去年我出过车祸", "上次追尾修了好久", "昨天有辆车着火了", "我爸前年中风过", "以前被人抢过",
              "小时候掉河里过", "上次车被砸了", "之前有人跟踪过我", "那次车祸以后我就不开夜车了", "昨天看到有人晕倒了",
              "上个月被困在电梯里", "我叔叔以前心脏病发作过", "前天撞了一下护栏 已经修好了"]),
    ("media", ["播放救命", "放一首火", "来一首求救", "我想听 着火了", "播放歌曲心脏病", "放首sos",
               "搜索车祸视频", "播放电影 撞车", "放一集消防的纪录片", "来首紧急呼叫", "播放有声小说 绑架",
               "我想看 救护车 这部电影"]),
    ("idiom", ["热死了", "笑死我了", "饿死了", "累死了", "吓死我了", "要命 这么堵", "困死了", "烦死了",
               "冷死了 开暖气", "急死我了", "疼死了 这座椅太硬", "渴死了", "差点撞车", "差点追尾",
               "这油价简直是抢劫", "忙死了", "快被堵死了", "晒死了 关上遮阳帘", "这天气热得要命",
               "这首歌火了", "他们公司着急上火", "这个段子要笑死人"]),
    ("question", ["附近的医院在哪里", "最近的派出所", "导航到消防队", "万一出车祸怎么办", "要是车着火了怎么办",
                  "报警电话是多少", "急救电话是多少", "附近有药店吗", "最近的急诊怎么走", "如果被困在车里怎么出去",
                  "怎么开双闪", "灭火器放在哪", "110是报警电话吗", "被跟踪了应该怎么做"]),
    ("negation", ["没事", "不用报警", "别叫救护车", "没着火", "没有受伤", "没撞到", "不用了 我没事",
                  "不是紧急情况", "没人受伤", "不需要救护车", "没出事 放心", "别打一二零 我好了"]),
    ("ordinary", ["胎压报警", "报警灯亮了", "前面出车祸了 绕路", "前方事故 换个路线", "有救护车 让一下",
                  "警车在后面", "给我妈打电话", "帮我找个加油站", "打开空调", "声音大一点", "有点烟味 开窗",
                  "前面堵死了", "帮我导航回家", "找个火锅店", "我有点困", "帮我查一下天气", "车里太热了",
                  "开一下紧急灯", "帮帮忙 放首歌", "安全带报警了"]),
]
EN_NEAR = [
    ("past", ["i was in a crash last year", "my car caught fire once", "he had a heart attack two years ago",
              "we got robbed last summer", "i got rear ended last week", "she fainted yesterday at work",
              "remember that time we got stuck in the flood", "my dad had a stroke a while ago",
              "someone broke into my car last month", "i hit a deer years ago"]),
    ("media", ["play help", "play the song help", "play fire by jimi hendrix", "play sos", "play mayday",
               "play heart attack by demi lovato", "put on the movie crash", "play emergency",
               "play a podcast about car accidents", "search for videos of car fires", "play call 911",
               "put on the album trapped"]),
    ("idiom", ["i'm dying of thirst", "this traffic is killing me", "i'm starving", "i'm freezing",
               "you scared me to death", "i almost crashed", "that was a close call", "this song is fire",
               "i'm dying to see the show", "my back is killing me", "i'm dead on my feet", "we're stuck in traffic",
               "it's a crime to skip this song", "that almost gave me a heart attack", "i'm burning up turn on the ac",
               "the price is highway robbery", "i'm drowning in emails", "that's a killer view"]),
    ("question", ["where's the nearest hospital", "find a hospital", "navigate to the police station",
                  "what do i do if i have an accident", "what's the number for emergency services",
                  "how do i call for help", "find the nearest fire station", "is there a pharmacy nearby",
                  "what if the car catches fire", "where is the closest er", "how do i open the door if i'm trapped",
                  "what does sos mean"]),
    ("negation", ["i'm fine", "no need to call anyone", "don't call an ambulance", "nobody is hurt",
                  "it's not on fire", "we didn't crash", "not an emergency", "i'm okay really",
                  "no one's injured", "don't call the police"]),
    ("ordinary", ["there's an accident ahead take another route", "let the ambulance through", "police car behind us",
                  "call my wife", "find a gas station", "turn up the volume", "it smells smoky roll down the window",
                  "help me find a parking spot", "the check engine light is on", "i'm a bit tired",
                  "turn on the hazard lights", "can you help me", "i need help with the radio",
                  "tire pressure warning", "the fire truck needs to pass", "navigate home"]),
]


# Sentences of a class whose service differs from the class's: an injury named with a collision calls an ambulance
# (docs/safety.md, "Which service"); the variants built from them follow.
SERVICE_OVERRIDE = {"i think we totaled the car and my head is bleeding": "ambulance"}


def zh_service(text):
    for key, svc in NUMBER_SERVICE.items():
        if key in text:
            return svc
    return "general"


def en_service(text):
    for key, svc in EN_NUMBER_SERVICE.items():
        if key in text:
            return svc
    return "general"


def dev_cases(rng):
    cases = []
    for lang, emergencies, near, fill, tail, svc in (
            ("zh", ZH_EMERGENCY, ZH_NEAR, ZH_FILL, ZH_TAIL, zh_service),
            ("en", EN_EMERGENCY, EN_NEAR, EN_FILL, EN_TAIL, en_service)):
        for cls, service, texts in emergencies:
            for text in texts:
                service_of = SERVICE_OVERRIDE.get(text) or service or svc(text)
                # The bare phrase, and one variant as a driver would say it (a filler before, a tail after).
                cases.append((lang, cls, service_of, text))
                variant = rng.choice(fill) + text + rng.choice(tail)
                if variant != text:
                    cases.append((lang, cls, service_of, variant.strip()))
        for cls, texts in near:
            for text in texts:
                cases.append((lang, cls, None, text))
    return cases


def read_cases(name):
    """Cases from a hand-written file in tools/: lines lang|class|service|text, service "-" for a near-miss."""
    cases = []
    for line in (ROOT / "tools" / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        lang, cls, service, text = line.split("|", 3)
        cases.append((lang, cls, None if service == "-" else service, text))
    return cases


def write(path, cases, tag):
    counters = {}
    lines = []
    for lang, cls, service, text in cases:
        kind = "emg" if service else "nm"
        key = (kind, lang)
        counters[key] = counters.get(key, 0) + 1
        case = {"id": f"{kind}-{lang}-{tag}{counters[key]:03d}", "lang": lang, "class": cls, "input": text,
                "expected": {"emergency": True, "service": service} if service else {"emergency": False}}
        lines.append(json.dumps(case, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def main():
    rng = random.Random(SEED)
    # The scenes come last so the composed cases keep their ids.
    dev = dev_cases(rng) + read_cases("emergency_dev_scenes.txt")
    seen = set()
    dev = [c for c in dev if not (c[3] in seen or seen.add(c[3]))]
    test = read_cases("emergency_test.txt")
    # The test half was written first; a dev sentence that happens to be word for word in it is left out of dev,
    # so no sentence is in both splits.
    held_out = {c[3] for c in test}
    dev = [c for c in dev if c[3] not in held_out]
    print("dev", write(ROOT / "emergency-dev.jsonl", dev, "d"))
    print("test", write(ROOT / "emergency-test.jsonl", test, "t"))


if __name__ == "__main__":
    main()
