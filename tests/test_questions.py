"""What a question asks: the kind of number wanted, and the figures that say which case."""
from __future__ import annotations

import pytest

from assistant.questions import analyse


@pytest.mark.parametrize("question, kind", [
    ("资阳新办公室拉宽带最快几天能通？", "duration"),
    ("不动产登记多长时间能办完？", "duration"),
    ("XX市优化营商环境工作调度会议多久开一次？", None),
    ("资阳政银担贷款的年利率是多少？", "rate"),
    ("担保费率最高多少？", "rate"),
    ("刻章要多少钱？", "money"),
    ("本轮延期还本付息截止到几月几日？", None),  # a date, not a length of time
    ("缓缴期是几个月？", "duration"),
    ("资阳 抵押登记 时限", None),
])
def test_the_kind_of_number_a_question_asks_for(question, kind):
    assert analyse(question, ["资阳市", "XX市"]).number == kind


def test_figures_that_pick_out_a_case_are_noted():
    assert analyse("资阳 35千伏 高压用户 供电方案答复 时限", ["资阳市"]).stated == [("35", "千伏")]
    assert analyse("资阳 抵押登记 时限", ["资阳市"]).stated == []
