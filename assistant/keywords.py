"""Keyword side of the search: jieba tokens, a small policy thesaurus, BM25.

Dense vectors catch paraphrase; keywords catch what operators type (「抵押登记 时限」) and the
exact names of units. jieba learns the corpus's own unit names and policy terms, so
「市市场监管局」 and 「不动产登记」 stay whole tokens.
"""
from __future__ import annotations

import functools
import logging
import math
import re
import threading
from collections import Counter

import jieba
import numpy as np

jieba.setLogLevel(logging.WARNING)

# Words a question is made of that say nothing about its subject.
STOPWORDS = set(
    """的 了 吗 呢 吧 啊 呀 么 是 在 有 和 与 及 或 要 会 能 可以 请问 请 问 我 我们 你 你们 他们 这个 那个 这 那
    什么 怎么 怎样 如何 多少 多 几 哪 哪个 哪些 哪里 谁 为什么 一下 一个 个 开个 想 想要 需要 得 地 都 还 就 也 又
    现在 目前 最 最多 最少 最高 最低 大概 知道 告诉 关于 对 对于 把 被 给 让 从 到 吗？ 呢？ 啥 咋 咋样 能否 是否 否
    一般 政策 规定 文件 市里 咱们 咱 这边 那边 里 上 下 中 时候 该 应该 帮 帮忙 情况 方面 具体 相关 一些 有没有 没有
    , . ? ! ， 。 ？ ！ 、 ： : ； ; （ ） ( ) “ ” 《 》 〔 〕 - — ~ ～ / \\ 　""".split()
)

# Everyday words → the words the documents use. Applied to questions only.
THESAURUS = {
    "公司": ["企业"], "开公司": ["开办企业"], "开个公司": ["开办企业"], "注册": ["设立登记", "开办"], "开业": ["开办企业"],
    "开店": ["开办企业", "个体工商户"], "营业执照": ["营业执照", "企业开办"], "注销": ["注销"], "几天": ["工作日", "时限"],
    "多久": ["时限", "工作日"], "多长时间": ["时限", "工作日"], "多少天": ["工作日", "时限"], "天数": ["工作日"],
    "期限": ["时限"], "截止": ["完成时限"], "什么时候": ["完成时限", "月底"], "何时": ["完成时限"],
    "钱": ["费用", "资金"], "多少钱": ["费用", "收费"], "收费": ["收费", "费用"], "收钱": ["收费"], "费": ["费用"],
    "便宜": ["降低", "减免"], "省钱": ["减免", "降低"], "免费": ["免费", "减免"], "不要钱": ["免费"],
    "补贴": ["补贴", "补助", "奖励"], "补助": ["补助", "补贴"], "奖励": ["奖励", "奖补"], "奖金": ["奖励"],
    "谁": ["牵头单位", "责任单位"], "谁管": ["牵头单位", "责任单位"], "负责": ["牵头单位", "责任单位"],
    "部门": ["单位", "部门"], "找谁": ["牵头单位", "责任单位"], "管": ["负责"],
    "房子": ["不动产", "房屋"], "买房": ["购买", "住房"], "过户": ["转移登记"], "房产证": ["不动产登记"],
    "抵押": ["抵押登记"], "用电": ["电力", "用电报装"], "通电": ["接电", "电力"], "接电": ["电力接入"],
    "用水": ["供水", "用水接入"], "用气": ["供气", "用气接入"], "天然气": ["用气", "燃气"], "水电气": ["用水", "用电", "用气"],
    "贷款": ["贷款", "融资", "信贷"], "借钱": ["贷款", "融资"], "融资": ["融资", "贷款"], "担保": ["担保", "融资担保"],
    "利息": ["贴息", "利率"], "利率": ["利率"], "退税": ["留抵退税", "退税"], "交税": ["纳税"], "报税": ["纳税", "申报"],
    "税": ["税费", "纳税"], "减税": ["减税降费"], "社保": ["社会保险", "社保"], "工程": ["工程建设项目"],
    "盖房": ["施工许可", "建设项目"], "施工证": ["施工许可证"], "审批": ["审批"], "招工": ["用工", "招聘"],
    "招人": ["用工", "就业"], "投诉": ["投诉", "举报"], "欠款": ["拖欠", "账款"], "欠钱": ["拖欠", "账款"],
    "打官司": ["诉讼", "案件"], "官司": ["诉讼"], "电话": ["热线"], "热线": ["12345"], "网上": ["网上", "一网通办"],
    "跑腿": ["跑一次"], "停电": ["停电时间"], "电费": ["电价", "电费"], "水费": ["水价"], "房租": ["租金"],
    "租金": ["租金", "房租"], "餐馆": ["餐饮"], "饭店": ["餐饮", "住宿"], "小店": ["个体工商户", "小微企业"],
    "个体户": ["个体工商户"], "小企业": ["小微企业", "中小微企业"], "外贸": ["进出口", "外资外贸"],
    "出口": ["进出口", "出口"], "通关": ["通关", "口岸"], "专利": ["知识产权", "专利"], "商标": ["知识产权"],
    "上市": ["上市"], "刻章": ["刻章", "印章"], "公章": ["印章"], "发票": ["发票"], "网速": ["网络提速"],
    "宽带": ["通信", "光纤宽带"], "土地": ["用地", "土地"], "拿地": ["供地", "用地"], "买地": ["供地", "出让"],
}

_QUESTION_NOISE = re.compile(r"[？?！!。，,\s]+")


class Tokenizer:
    """jieba with the corpus's own vocabulary; one instance per index (jieba's dictionary is global)."""

    _lock = threading.Lock()

    def __init__(self, vocabulary: list[str] = ()):
        with self._lock:
            jieba.initialize()
            for word in vocabulary:
                if 2 <= len(word) <= 20:
                    jieba.add_word(word, freq=2000)

    def tokens(self, text: str) -> list[str]:
        text = text.lower()
        return [t for t in jieba.cut_for_search(text) if t.strip() and t not in STOPWORDS]

    @functools.lru_cache(maxsize=4096)
    def query_terms(self, question: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(the question's own content words, those plus the documents' words for them)."""
        terms = self.tokens(_QUESTION_NOISE.sub(" ", question))
        expanded = list(terms)
        for word in list(terms) + [question]:
            for key, targets in THESAURUS.items():
                if key == word or (word == question and len(key) >= 2 and key in question):
                    expanded.extend(t for target in targets for t in self.tokens(target))
        return tuple(dict.fromkeys(terms)), tuple(dict.fromkeys(expanded))  # cached: immutable


class BM25:
    """Okapi BM25 over pre-tokenised documents (clauses)."""

    def __init__(self, documents: list[list[str]], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.freqs = [Counter(d) for d in documents]
        self.lengths = [len(d) for d in documents]
        self.avg = sum(self.lengths) / max(len(documents), 1)
        df = Counter(t for d in documents for t in set(d))
        n = len(documents)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.max_idf = max(self.idf.values(), default=1.0)
        self.size = n
        # term → (documents, BM25 weight in each): a query only adds up its terms' arrays.
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for i, d in enumerate(self.freqs):
            length_norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / (self.avg or 1))
            for t, f in d.items():
                docs, weights = postings.setdefault(t, ([], []))
                docs.append(i)
                weights.append(self.idf[t] * f * (self.k1 + 1) / (f + length_norm))
        self.postings = {t: (np.array(d), np.array(w)) for t, (d, w) in postings.items()}

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every document for these terms (0 where none occurs)."""
        out = np.zeros(self.size)
        for t in set(terms):
            if t in self.postings:
                docs, weights = self.postings[t]
                out[docs] += weights
        return out

    def coverage(self, terms: list[str], i: int) -> float:
        """Share of the terms' IDF weight that document i contains: 1.0 when it has every word."""
        weights = {t: self.idf.get(t, self.max_idf) for t in set(terms)}
        total = sum(weights.values())
        if not total:
            return 0.0
        return sum(w for t, w in weights.items() if t in self.freqs[i]) / total
