"""A question → what it asks: its topic (time limit, fee, unit), the city and year it names.

Pure and fast; the search uses it to boost clauses carrying the asked-for fact and to
recognise questions about places or years that no document covers.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Sichuan's prefecture cities and the country's largest: naming one the corpus lacks means
# the documents cannot answer.
KNOWN_CITIES = """成都 自贡 攀枝花 泸州 德阳 绵阳 广元 遂宁 内江 乐山 南充 眉山 宜宾 广安 达州 雅安 巴中 资阳 阿坝 甘孜 凉山
北京 上海 天津 重庆 广州 深圳 杭州 南京 武汉 西安 苏州 郑州 长沙 青岛 昆明 贵阳 兰州 合肥 福州 厦门 济南 沈阳 哈尔滨""".split()
# Counties and districts, so 「安岳」 means 资阳.
COUNTIES = {
    "雁江": "资阳", "安岳": "资阳", "乐至": "资阳",
    "利州": "广元", "昭化": "广元", "朝天": "广元", "旺苍": "广元", "青川": "广元", "剑阁": "广元", "苍溪": "广元",
    "涪城": "绵阳", "游仙": "绵阳", "安州": "绵阳", "江油": "绵阳", "三台": "绵阳", "盐亭": "绵阳", "梓潼": "绵阳",
    "北川": "绵阳", "平武": "绵阳", "科技城": "绵阳",
}

INTENT_WORDS = {
    "time_limit": "时限 多久 几天 多少天 几个工作日 工作日 多长时间 期限 什么时候 何时 截止 完成时间 办结 小时 到期 啥时候 几号 哪天 时间".split(),
    "fee": "费 多少钱 收费 费率 补贴 补助 奖励 奖补 减免 免费 优惠 价格 价 成本 利率 贴息 税 钱 资金 万元 元 比例 % 额度 贷款".split(),
    "unit": "谁 哪个部门 哪个单位 什么部门 哪些部门 哪家 负责 牵头 责任单位 找谁 主管 管理部门 归谁 谁管 责任领导 领导".split(),
}


@dataclass(frozen=True)
class Question:
    text: str  # as asked, normalised (full-width digits and letters folded)
    topic: str  # the text without place names: what the question is about
    intent: str  # time_limit | fee | unit | other
    city: str | None = None  # the one city the corpus covers that the question names
    cities: list[str] = field(default_factory=list)  # every covered city named (「资阳和绵阳…」)
    other_cities: list[str] = field(default_factory=list)  # cities named that the corpus does not cover
    year: int | None = None
    quantity: bool = False  # asks 多少 / 几 / 多久: the answer must be a number
    number: str | None = None  # the kind of number asked: duration (几天), rate (费率), money (多少钱)
    stated: list[tuple[str, str]] = field(default_factory=list)  # figures that say which case: (35, 千伏)


_QUANTITY = re.compile(r"多少|几[个天日小月年次项]|几|多久|多长|多高|多大|最高|最低|上限|下限|标准是")
# The kind of number a question asks for; a clause stating another kind does not answer it:
# a completion date does not say how long (「多久开一次」 asks how often, which a date answers),
# 5000万元 is not a rate, 1.5% is not a sum of money.
NUMBER_KINDS = {
    # 「几月几日」 asks for a date: only 几个月 counts months as a length of time.
    "duration": re.compile(r"(?:(?:多少|几)个?(?:工作日|天|小时)|(?:几|多少)个月|多久|多长时间)(?![^，。？?]*一次)"),
    "rate": re.compile(r"[费利税]率|比例|比率|百分之几|几个点|多少个点|占比"),
    "money": re.compile(r"多少钱|几块钱|多少元|几元|多少块"),
}
# Figures that pick out a case (「35千伏用户」「90平方米以上」「突破1亿元」), as opposed to the
# figure asked for; a clause about 10千伏 users does not answer for 35千伏 ones.
CASE_FIGURE = re.compile(r"(\d+(?:\.\d+)?)\s*(千伏|千瓦|平方米|亿元|万元|%|人|户|吨|亩)")


def normalise(text: str) -> str:
    """NFKC folds full-width digits/letters (「２０２１」→「2021」); whitespace collapses."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", " ", text).strip()


# Words that say what kind of answer is wanted; they outweigh topic words, so that
# 「奖励资金多久到账」 asks for a time and 「费用归谁管」 for a unit.
ASKING_WORDS = {
    "time_limit": "多久 几天 多少天 几个工作日 多长时间 什么时候 何时 啥时候 几号 哪天 截止 期限 时限 多少个工作日 几个月 多少小时 几个小时 几小时 一次".split(),
    "unit": "谁 哪个部门 哪个单位 什么部门 哪些部门 哪家 找谁 归谁 谁管 牵头单位 责任单位 牵头领导 责任领导 哪里办".split(),
    "fee": "多少钱 收多少 交多少 补多少 贷多少 几个点 费率 税率 收费标准 花钱 要钱 免费吗 贴息 额度".split(),
}


def detect_intent(text: str) -> str:
    scores = {name: sum(len(w) for w in words if w in text) for name, words in INTENT_WORDS.items()}
    for name, words in ASKING_WORDS.items():
        scores[name] += 3 * sum(len(w) for w in words if w in text)
    # On a tie, 「谁负责…费用」 asks for a unit; 「…几天」 beats a passing 「费」.
    best = max(scores, key=lambda k: (scores[k], k == "unit", k == "time_limit"))
    return best if scores[best] else "other"


def analyse(question: str, corpus_cities: list[str]) -> Question:
    text = normalise(question)
    covered = {c.removesuffix("市"): c for c in corpus_cities if c}
    named, others = [], []
    for name in sorted(set(KNOWN_CITIES) | set(covered), key=text.find):
        if name in text and name != "XX":
            if name in covered:
                named.append(covered[name])
            elif name not in others:
                others.append(name)
    if "XX市" in text and "XX市" in corpus_cities:
        named.append("XX市")
    if not named:
        named = [covered[parent] for county, parent in COUNTIES.items() if county in text and parent in covered][:1]
    named = list(dict.fromkeys(named))
    city = named[0] if len(named) == 1 else None
    year = None
    if m := re.search(r"(20\d{2})\s*年", text):
        year = int(m.group(1))
    topic = re.sub("|".join([*KNOWN_CITIES, *COUNTIES, "XX"]) + r"|[市县区]", " ", text)
    quantity = bool(_QUANTITY.search(text))
    number = next((kind for kind, asks in NUMBER_KINDS.items() if asks.search(text)), None) if quantity else None
    return Question(text=text, topic=topic, intent=detect_intent(topic), city=city, cities=named,
                    other_cities=[] if named else others, year=year, quantity=quantity, number=number,
                    stated=CASE_FIGURE.findall(text))


_FILLER = set("那 那么 还有 另外 这个 这项 它 那个 呢 吗 啊 呀 怎么 怎样 如何 是 要 的 呢？ 吗？ 多少 几 哪个 哪些 什么".split())


def follow_up(question: str, history: list[str], corpus_cities: list[str]) -> str:
    """Read 「那费用呢？」 / 「谁负责？」 / 「绵阳呢？」 in the context of the previous question.

    A question with no subject of its own (only question words, a topic word such as 费用,
    or another city) borrows the previous question's subject; one that names no city keeps
    the previous city.
    """
    if not history:
        return question
    import jieba

    current = analyse(question, corpus_cities)
    previous = analyse(history[-1], corpus_cities)
    asks = {w for words in INTENT_WORDS.values() for w in words} | _FILLER
    subject = [t for t in jieba.cut(current.topic) if t.strip() and t not in asks and not re.fullmatch(r"\W+", t)]
    if sum(len(t) for t in subject) <= 2:
        base = previous.text
        if previous.intent != "other" and current.intent != "other":
            # Keep the earlier subject, drop what it asked: 「资阳开公司要几天」 + 「费用呢」.
            base = re.sub("|".join(sorted(INTENT_WORDS[previous.intent], key=len, reverse=True)), "", base)
        new_city = current.city or (current.other_cities[0] if current.other_cities else None)
        if new_city and previous.city and new_city != previous.city:
            base = base.replace(previous.city.removesuffix("市"), new_city.removesuffix("市"))
        return f"{base.rstrip('？?。 ')} {question}"
    if previous.city and not current.city and not current.other_cities:
        return f"{previous.city} {question}"
    return question
