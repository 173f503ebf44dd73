"""Facts a clause states: units, leaders, deadlines, time limits and amounts.

Everything here works on one string and is pure, so each rule is tested on its own
(tests/test_fields.py) and reused by the parser, the search and the answers.
"""
from __future__ import annotations

import calendar
import re

from .models import Deadline

CJK = r"\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{CJK}])[ \u00a0]+|[ \u00a0]+(?=[{CJK}])")


def squeeze(text: str) -> str:
    """Drop the spaces PDF conversion leaves inside Chinese text (「2021 年 6 月」)."""
    return _SPACE_NEAR_CJK.sub("", text).strip()


# --- units --------------------------------------------------------------------------

_UNIT_SEPARATORS = re.compile(r"[、，,；;]|(?<=[)）局委办院府会心司行部厅所队处站社联馆室])及(?=各)")


def split_units(text: str) -> list[str]:
    """「市税务局、市财政局，各县(区)人民政府」 → one entry per unit, spelled as written.

    Qualifiers stay with their unit (「市人社局等市直相关部门(单位)」), since dropping
    「等」 would claim a complete list the document does not give; a separator inside
    brackets (「各县（市、区）」) or after a bare level (「市、县(区)相关部门」) does not split.
    """
    text = squeeze(text).strip("。.； ")
    parts, depth, start = [], 0, 0
    for m in re.finditer(r"[（(]|[）)]|" + _UNIT_SEPARATORS.pattern, text):
        token = m.group(0)
        if token in "（(":
            depth += 1
        elif token in "）)":
            depth = max(depth - 1, 0)
        elif depth == 0:
            parts.append(text[start:m.start()])
            start = m.end()
    parts.append(text[start:])
    units: list[str] = []
    for part in parts:
        part = part.strip(" 。.")
        if units and units[-1] in ("市", "省", "县", "区", "市级"):
            units[-1] += "、" + part  # 「市、县(区)相关部门」 is one group of units
        elif part and part not in ("无", "等"):
            units.append(part)
    return units


def looks_like_unit(text: str) -> bool:
    return any(s in text for s in ("局", "委", "办", "院", "政府", "会", "中心", "公司", "行", "部", "厅",
                                   "所", "队", "处", "站", "社", "联", "馆", "室", "园区", "单位", "海关"))


# --- deadlines ----------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})年(?:(\d{1,2})月(?:(\d{1,2})日)?)?(上旬|中旬|下旬|底|末|初)?")
_RECURRING = ("长期", "持续推进", "持续", "常态化", "每年")


def parse_deadline(text: str) -> Deadline | None:
    """「2021年6月底」 → 2021-06-30; 「长期坚持」 → recurring 长期; both when both are said."""
    printed = squeeze(text).strip("。. ")
    if not printed or printed == "无":
        return None
    date = None
    m = _DATE.search(printed)
    if m:
        year = int(m.group(1))
        month = int(m.group(2)) if m.group(2) else 12
        if 1 <= month <= 12:
            last = calendar.monthrange(year, month)[1]
            day = int(m.group(3)) if m.group(3) else last
            if m.group(4) == "上旬":
                day = 10
            elif m.group(4) == "中旬":
                day = 20
            date = f"{year:04d}-{month:02d}-{min(day, last):02d}"
    recurring = None
    if "长期" in printed:
        recurring = "长期"
    elif any(word in printed for word in _RECURRING):
        recurring = "持续推进"
    if date is None and recurring is None and not re.search(r"\d", printed):
        return Deadline(text=printed)
    return Deadline(text=printed, date=date, recurring=recurring)


def looks_like_deadline(text: str) -> bool:
    text = squeeze(text)
    if re.match(r"^(\d{4}年|长期|持续推进)", text):
        return True
    return bool(re.match(r"^(\d{1,2}月|持续|常态|每年|年底|[一二三四]季度|\d)", text)) and not looks_like_unit(text)


# --- time limits and amounts ----------------------------------------------------------

_NUM = r"\d+(?:\.\d+)?"
_TIME_UNIT = r"(?:个)?(?:工作日|工作小时|个小时|小时|天|日|个月|分钟|周)"
TIME_LIMIT = re.compile(
    rf"(?<![\d.月年])(?:{_NUM}(?:个)?(?:{_TIME_UNIT})?\s*(?:至|到|-|－|—|~|～)\s*)?{_NUM}\s*{_TIME_UNIT}(?:以内|之内|内)?"
)
# 「即时办结」「当场办结」: a time limit of none, stated in words.
IMMEDIATE = re.compile(r"即时(?:办结|即办|办理|出证)|当场(?:办结|办理|出证)|当[日天]办结|立等可取|即来即办|随到随办")
TIME_LIMITS = (TIME_LIMIT, IMMEDIATE)  # every way a text states how long something takes
AMOUNT = re.compile(
    rf"{_NUM}\s*[%％]\s*(?:-|－|—|~|～|至|到)\s*{_NUM}\s*[%％]|{_NUM}\s*(?:%|％|‰|万元|亿元|千元|元|[万亿](?![人户家个台件次项名所]))(?:/(?:张|人|户|年|月|次|平方米|吨|件|公里|亩|床))*"
    rf"|(?:{_NUM}\s*(?:万|亿)?元?\s*(?:至|到|-)\s*)?{_NUM}\s*(?:万元|亿元)"
)


RATE = re.compile(r"[%％‰]|百分点")  # an amount that is a rate, not a sum
# Dates and frequencies answer 「什么时候」/「多久一次」 as well as a time limit does.
WHEN = re.compile(r"\d{4}\s*年\s*(?:\d{1,2}\s*月|底|末)|\d{1,2}\s*月\s*(?:底|末|\d{1,2}\s*日)|每(?:季度|月|年|周|半年|天)")
FEE_WORDS = re.compile("免费|减免|减半|减收|免收|不收|零收费|降为零|补贴|奖励|降低|费")
SENTENCE = re.compile(r"[^。；;！？\n]+[。；;！？]?")


def fact_strength(text: str, intent: str) -> int:
    """2 when the text states the number a question of this intent asks for (a time limit,
    an amount), 1 when it only speaks of it (a date, 免费/减免), else 0."""
    if intent == "time_limit":
        return 2 if any(p.search(text) for p in TIME_LIMITS) else 1 if WHEN.search(text) else 0
    if intent == "fee":
        return 2 if AMOUNT.search(text) else 1 if FEE_WORDS.search(text) else 0
    return 0


def find_time_limits(text: str) -> list[str]:
    """「0.5 个至 3 个工作日」, 「4小时」, 「15日内」, 「即时办结」: durations, not calendar dates."""
    found = []
    squeezed = squeeze(text)
    for m in (m for p in TIME_LIMITS for m in p.finditer(squeezed)):
        value = m.group(0)
        if value not in found:
            found.append(value)
    return found


def find_amounts(text: str) -> list[str]:
    """「1.5%」, 「500万元」, 「1000元/人」: money and rates."""
    found = []
    for m in AMOUNT.finditer(squeeze(text)):
        value = m.group(0).strip()
        if value not in found:
            found.append(value)
    return found


# --- Chinese numerals -----------------------------------------------------------------

_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def chinese_number(text: str) -> int | None:
    """「十七」 → 17, 「一百零五」 → 105; None when it is not a numeral."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current
