"""The facts a clause states, read from one string: units, deadlines, time limits, amounts.

Each example below is a phrase as it is printed in the corpus (corpus/*.txt), with the
value a user sees in `assistant clauses --json`.
"""
from __future__ import annotations

import pytest

from assistant.fields import (
    chinese_number,
    find_amounts,
    find_time_limits,
    parse_deadline,
    split_units,
    squeeze,
)
from assistant.models import Deadline

# --- units ---------------------------------------------------------------------------


def test_a_unit_list_is_split_at_enumeration_commas_and_commas():
    # 003 item 2: 「牵头单位：市税务局、市财政局」 … 「各县(区)人民政府」
    assert split_units("市税务局、市财政局，各县(区)人民政府") == [
        "市税务局",
        "市财政局",
        "各县(区)人民政府",
    ]


def test_a_unit_qualified_by_deng_stays_one_unit():
    # 「等」 says the list is open; splitting or dropping it would claim a complete list.
    assert split_units("市人社局等市直相关部门(单位)") == ["市人社局等市直相关部门(单位)"]


def test_a_trailing_deng_stays_with_its_unit():
    # 003 item 14: 「责任单位：人行XX中心支行、市财政局、市税务局等」
    assert split_units("人行XX中心支行、市财政局、市税务局等") == ["人行XX中心支行", "市财政局", "市税务局等"]


def test_ji_between_two_units_separates_them():
    # 001 measure 12: 「…等市级部门(单位)及各县(区)人民政府、高新区管委会…」
    assert split_units("市市场监管局、市政务服务大数据管理局等市级部门(单位)及各县(区)人民政府、高新区管委会") == [
        "市市场监管局",
        "市政务服务大数据管理局等市级部门(单位)",
        "各县(区)人民政府",
        "高新区管委会",
    ]


def test_unit_lists_lose_the_final_full_stop_and_pdf_spaces():
    # 003 item 3 ends its 责任单位 line with 「。」; PDF text has spaces inside names.
    assert split_units("市发展改革委、市商务局。") == ["市发展改革委", "市商务局"]
    assert split_units("市人力资源社 会保障局") == ["市人力资源社会保障局"]


@pytest.mark.parametrize("empty", ["无", "", "  ", "。"])
def test_an_empty_unit_cell_gives_no_units(empty):
    # 001 row (十六)电力价格 prints 「无」 in its unit column.
    assert split_units(empty) == []


def test_an_enumeration_comma_inside_parentheses_does_not_split_the_unit():
    # 004 task 1, 责任单位 column.
    assert split_units("市直有关部门，各县（市、区）、园区") == ["市直有关部门", "各县（市、区）", "园区"]


def test_a_city_and_county_level_qualifier_is_not_a_unit_of_its_own():
    # 003 item 20: 「责任单位：市中级法院、市检察院，市、县(区)相关部门(单位)」
    units = split_units("市中级法院、市检察院，市、县(区)相关部门(单位)")
    assert "市" not in units
    assert units == ["市中级法院", "市检察院", "市、县(区)相关部门(单位)"]


# --- deadlines -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "printed, date, recurring",
    [
        ("2021年6月底", "2021-06-30", None),
        ("2021年6月", "2021-06-30", None),  # a month means its last day
        ("2021年12月底前", "2021-12-31", None),
        ("2020年2月", "2020-02-29", None),  # leap year
        ("2021年", "2021-12-31", None),
        ("2021年8月31日", "2021-08-31", None),
        ("2020年6月上旬", "2020-06-10", None),
        ("2020年6月中旬", "2020-06-20", None),
        ("长期坚持", None, "长期"),
        ("长期", None, "长期"),
        ("持续推进", None, "持续推进"),
        ("2021年6月并持续推进", "2021-06-30", "持续推进"),
        ("2022年6月底完成清理并长期坚持", "2022-06-30", "长期"),
        ("2022年3月底前完成公布并长期坚持", "2022-03-31", "长期"),
    ],
)
def test_a_deadline_keeps_its_wording_and_gets_a_date_and_or_recurrence(printed, date, recurring):
    assert parse_deadline(printed) == Deadline(text=printed, date=date, recurring=recurring)


def test_a_deadline_printed_with_pdf_spaces_is_read_as_if_it_had_none():
    # 001 measure 49: 「2021 年 6 月 并 持续推进」
    assert parse_deadline("2021 年 6 月 并 持续推进") == Deadline(
        text="2021年6月并持续推进", date="2021-06-30", recurring="持续推进"
    )


def test_a_deadline_without_a_date_keeps_its_words():
    deadline = parse_deadline("年底前")
    assert deadline is not None
    assert deadline.text == "年底前"
    assert deadline.date is None


@pytest.mark.parametrize("empty", ["", "无", "。"])
def test_no_deadline_when_the_cell_is_empty_or_says_none(empty):
    assert parse_deadline(empty) is None


# --- time limits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence, limits",
    [
        # 001 prose 三: a range, printed with PDF spaces
        ("个人全款购买新建商品房分户登记控制在 0.5 个至 3 个工作日内。", ["0.5个至3个工作日内"]),
        # 001 measure 3
        ("实现开办企业“4小时办结”。", ["4小时"]),
        ("15日内", ["15日内"]),
        ("年内实现审批时长控制在20个至80个工作日内。", ["20个至80个工作日内"]),
        ("全年纳税时间控制在100个小时以内", ["100个小时以内"]),
        ("对符合要求的增值税留抵退税,24小时内完成退库。", ["24小时内"]),
        # 000 (十七)
        ("设立 6 个月的费用缓缴期", ["6个月"]),
    ],
)
def test_durations_are_time_limits(sentence, limits):
    assert find_time_limits(sentence) == limits


@pytest.mark.parametrize(
    "sentence",
    [
        "根据5月21日省级部门领导和部门座谈意见建议",  # 001 legend ⊙
        "从2021年6月1日起,将企业设立登记",  # 001 measure 3
        "12月底前实现“一号响应”",
    ],
)
def test_calendar_dates_are_not_time_limits(sentence):
    assert find_time_limits(sentence) == []


def test_a_repeated_time_limit_is_listed_once():
    assert find_time_limits("在2个工作日内完成竣工验收，验收合格后，在2个工作日内完成装表接电") == ["2个工作日内"]


# --- amounts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence, amounts",
    [
        ("年化担保费率低于 1.5% 的小微企业", ["1.5%"]),  # 000 (四)
        ("对单户担保金额 500 万元及以下的", ["500万元"]),  # 000 (四)
        ("给予1000元/人的补贴", ["1000元/人"]),
        ("确保全市交通运输领域 2022 年完成投资不低于 130 亿元", ["130亿元"]),  # 000 (十一)
        ("总税收和缴费率降低至 50% 以下", ["50%"]),  # 001 prose 四
    ],
)
def test_money_and_rates_are_amounts(sentence, amounts):
    assert find_amounts(sentence) == amounts


def test_counts_that_are_not_money_are_not_amounts():
    assert find_amounts("年度纳税次数压减至5.5次") == []
    assert find_amounts("建成农村公路 1500 公里") == []


def test_a_percentage_range_is_one_amount():
    # 000 (五): 「将面向小微企业的价格扣除比例由 6%-10% 提高至 10%-20%」
    assert find_amounts("价格扣除比例由 6%-10% 提高至 10%-20%") == ["6%-10%", "10%-20%"]


# --- numerals and spaces -------------------------------------------------------------


@pytest.mark.parametrize(
    "numeral, value",
    [("一", 1), ("十", 10), ("十七", 17), ("二十一", 21), ("三十六", 36), ("一百零五", 105), ("两", 2), ("12", 12)],
)
def test_chinese_numerals_of_clause_labels(numeral, value):
    assert chinese_number(numeral) == value


@pytest.mark.parametrize("text", ["", "abc", "十七条"])
def test_text_that_is_not_a_numeral(text):
    assert chinese_number(text) is None


def test_squeeze_drops_pdf_spaces_inside_chinese_but_keeps_them_between_latin_words():
    assert squeeze("2021 年 6 月 底") == "2021年6月底"
    assert squeeze("将 LPR 下行效果") == "将LPR下行效果"
    assert squeeze("  Ukey and APP  ") == "Ukey and APP"


def test_an_immediate_completion_in_words_is_a_time_limit():
    assert find_time_limits("确保异议、查封、注销登记即时办结。") == ["即时办结"]
    assert find_time_limits("大多数事项可在办税厅前台当场办结") == ["当场办结"]

