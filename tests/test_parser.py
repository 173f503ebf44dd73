"""Policy text → clauses, one format at a time.

Every excerpt below is copied from corpus/*.txt (the file and line are named); long
paragraphs are cut after a sentence, so each excerpt stays short. Table excerpts are
written one row per list, cells joined with tabs as in the files.
"""
from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from assistant.parser import clean_markup, parse_text


def parse(source, text):
    clauses, headings, skipped = parse_text(source, text)
    return clauses, headings, skipped


def by_number(clauses):
    return {c.number: c for c in clauses}


def line_span(text, number):
    """[start, end) of the 1-based line `number` of `text`."""
    start = 0
    for n, line in enumerate(text.split("\n"), 1):
        if n == number:
            return start, start + len(line)
        start += len(line) + 1
    raise IndexError(number)


def uncovered_lines(text, clauses, headings, skipped):
    """Lines that carry text (a CJK character or a digit) but no clause, heading or skipped span covers."""
    spans = [c.span for c in clauses] + [h.span for h in headings] + list(skipped)
    missing = []
    start = 0
    for n, line in enumerate(text.split("\n"), 1):
        end = start + len(line)
        if re.search(r"[\u4e00-\u9fff0-9]", line) and not any(a <= start and end <= b for a, b in spans):
            missing.append((n, line))
        start = end + 1
    return missing


def table(*rows):
    return "\n".join("\t".join(cells) for cells in rows) + "\n"


# --- markup of PDF conversion --------------------------------------------------------


@pytest.mark.parametrize(
    "line, clean",
    [
        ("<p>二、办理建筑许可（牵头领导：吴勇）</p>", "二、办理建筑许可（牵头领导：吴勇）"),  # 001 line 86
        ("激励大众[创业](#)万众[创新](#)。", "激励大众创业万众创新。"),  # 001 line 34
        ("## 资阳市人民政府办公室", "资阳市人民政府办公室"),  # 001 line 5
        ("**一、实施一网通办扩面行动。**巩固提升", "一、实施一网通办扩面行动。巩固提升"),  # 001 line 22
    ],
)
def test_markup_of_pdf_conversion_is_removed(line, clean):
    assert clean_markup(line) == clean


# --- prose: 一、 / （一） ---------------------------------------------------------------

# 000_ae16266cff797d87.txt, lines 20-26 and 38-40: (二) is split by a page break after 「留抵退」.
PROSE_000 = """一、全面落实财税政策

(一) 全面落实增值税留抵退税政策。按国家部署将批发和零售业，农、林、牧、渔业，住宿和餐饮业，居民服务、修理和其他服务业，教育，卫生和社会工作，文化、体育和娱乐业等7个行业企业纳入按月全额退还增量留抵税额、一次性全额退还存量留抵税额政策范围。

(二) 加快财政支出执行进度。加快资金分配下达和调度拨付进度，及时梳理重点项目实施情况，加强督促指导，加快项目资金拨付，提升资金使用效益。制定资金保障计划，结合留抵退

税、项目建设等需要做好资金调度、加强库款保障，及时调度县（区）转移支付资金，确保基层财政资金需求。

二、加大金融支持力度

（六）降低企业融资成本。引导金融机构将贷款市场报价利率内嵌到内部定价。
"""


def test_prose_sub_clauses_are_clauses_under_their_chapter_heading():
    clauses, headings, _ = parse("000_ae16266cff797d87.txt", PROSE_000)

    assert [c.number for c in clauses] == ["(一)", "(二)", "（六）"]
    assert [c.kind for c in clauses] == ["prose", "prose", "prose"]
    assert [c.path for c in clauses] == [["一、全面落实财税政策"], ["一、全面落实财税政策"], ["二、加大金融支持力度"]]
    assert [h.text for h in headings] == ["一、全面落实财税政策", "二、加大金融支持力度"]
    # ids name the document, the chapter and the clause: 000-1.2 is 一、(二)
    assert [c.id for c in clauses] == ["000-1.1", "000-1.2", "000-2.6"]


def test_a_prose_clause_text_starts_after_its_label():
    clauses, _, _ = parse("000_ae16266cff797d87.txt", PROSE_000)
    assert clauses[0].text.startswith("全面落实增值税留抵退税政策。按国家部署")
    assert clauses[2].text == "降低企业融资成本。引导金融机构将贷款市场报价利率内嵌到内部定价。"


def test_a_sentence_cut_by_a_page_break_is_joined_back():
    clauses, _, _ = parse("000_ae16266cff797d87.txt", PROSE_000)
    second = by_number(clauses)["(二)"]
    assert "结合留抵退税、项目建设等需要做好资金调度" in second.text
    assert second.lines == (5, 7)
    assert PROSE_000[second.span[0]:second.span[1]].startswith("(二) 加快财政支出执行进度。")
    assert PROSE_000[second.span[0]:second.span[1]].endswith("确保基层财政资金需求。")


# --- prose: **一、** (bold chapter headings that carry their own text) ---------------

# 001_8b287da456bb1442.txt, lines 34 (first sentence) and 36-38: 六 is split after 「12 月」.
PROSE_001 = """# 资阳市创建一流营商环境 2021 年行动方案

**五、实施纾困解忧惠企行动。**继续开展市场准入环节清理排查，打破各类“隐性门槛”，确保“非禁即入”普遍落实，激励大众[创业](#)万众[创新](#)。

**六、实施监管水平提升行动。**7 月底前实现与国家“互联网+监管”系统数据共享，及时处理相关风险预警信息。建立“双随机、一公开”执法监管“一单两库一计划一细则”，12 月

底前实现“双随机、一公开”监管事项覆盖率 100%、结果公示率 100%。加强食品药品、公共卫生、生态环境、安全生产、劳动保障、交通运输、金融投资等关系群众切身利益的重点领域执法，对“四新经济”实行包容审慎监管。
"""


def test_bold_numbered_paragraphs_are_clauses_without_their_markup():
    clauses, headings, _ = parse("001_8b287da456bb1442.txt", PROSE_001)

    assert [(c.number, c.kind, c.path) for c in clauses] == [("五", "prose", []), ("六", "prose", [])]
    assert clauses[0].text == "实施纾困解忧惠企行动。继续开展市场准入环节清理排查，打破各类“隐性门槛”，确保“非禁即入”普遍落实，激励大众创业万众创新。"
    # the title line before the first clause is a heading, its 「#」 removed
    assert [h.text for h in headings] == ["资阳市创建一流营商环境2021年行动方案"]


def test_a_bold_paragraph_split_by_a_page_break_reads_as_one_sentence():
    clauses, _, _ = parse("001_8b287da456bb1442.txt", PROSE_001)
    six = by_number(clauses)["六"]
    assert "执法监管“一单两库一计划一细则”，12月底前实现“双随机、一公开”监管事项覆盖率100%" in six.text
    assert six.lines == (5, 7)


# --- 003: numbered items with 牵头单位 / 责任单位 / 完成时限 lines -----------------------

# 003_d25d4ccf3a63151e.txt, lines 4-15 (item texts cut after their first sentences).
# Items 1 and 2 print two fields on one line: 「牵头单位:…责任单位：…」.
ITEMS_003 = """二、重点任务 
(一)聚焦促进涉企政策落实，保障企业及时享受政策红利。 
1.加大惠企政策落实力度。按照“谁主管政策谁负责落实、谁不落实政策就追究谁责任”的总要求，压紧压实政策落实责任。 
牵头单位:市发展改革委责任单位：市级党委政府各部门(单位)，中省驻庆各单位,各县(区)人民政府 
完成时限:长期坚持 
2.全面落实减税降费政策。持续推进减、免、缓、降税费政策落实，全面落实支持小微企业、涉农企业、疫情防控和复工复产的各项税费优惠政策；落实西部大开发所得税减免、先进制造业和小微企业税收优惠等政策。 
牵头单位：市税务局、市财政局责任单位：市工信局、市市场监管局、市住建局、市能源局、市政府金融办，各县(区)人民政府 
完成时限:长期坚持 
3.加快兑现各类奖补资金。全面清理应拨付给企业的招商引资、重大投资项目投资奖励、科技创新、人才支持等各类奖补资金及项目配套资金。 
牵头单位:市财政局 
责任单位：市发展改革委、市商务局、市工信局、市科技局、市人社局等市直相关部门(单位)，各县(区)人民政府。 
完成时限:2022年6月底完成清理并长期坚持 
"""


def test_items_with_field_lines_are_items_under_both_headings():
    clauses, headings, _ = parse("003_d25d4ccf3a63151e.txt", ITEMS_003)

    assert [(c.number, c.kind) for c in clauses] == [("1", "item"), ("2", "item"), ("3", "item")]
    assert {tuple(c.path) for c in clauses} == {("二、重点任务", "(一)聚焦促进涉企政策落实，保障企业及时享受政策红利。")}
    assert [h.text for h in headings] == ["二、重点任务", "(一)聚焦促进涉企政策落实，保障企业及时享受政策红利。"]
    assert [c.id for c in clauses] == ["003-2.1.1", "003-2.1.2", "003-2.1.3"]


def test_two_fields_on_one_line_are_both_read():
    clauses, _, _ = parse("003_d25d4ccf3a63151e.txt", ITEMS_003)
    one, two = clauses[0].fields, clauses[1].fields

    assert one.lead_units == ["市发展改革委"]
    assert one.responsible_units == ["市级党委政府各部门(单位)", "中省驻庆各单位", "各县(区)人民政府"]
    assert two.lead_units == ["市税务局", "市财政局"]
    assert two.responsible_units == ["市工信局", "市市场监管局", "市住建局", "市能源局", "市政府金融办", "各县(区)人民政府"]


def test_field_lines_give_deadlines_and_stay_out_of_the_item_text():
    clauses, _, _ = parse("003_d25d4ccf3a63151e.txt", ITEMS_003)
    three = clauses[2]

    assert clauses[0].fields.deadline.recurring == "长期"
    assert clauses[0].fields.deadline.date is None
    assert three.fields.deadline.text == "2022年6月底完成清理并长期坚持"
    assert three.fields.deadline.date == "2022-06-30"
    assert three.fields.deadline.recurring == "长期"
    assert three.fields.responsible_units[-2:] == ["市人社局等市直相关部门(单位)", "各县(区)人民政府"]
    for clause in clauses:
        assert not re.search("牵头单位|责任单位|完成时限", clause.text)
    assert three.text == "加快兑现各类奖补资金。全面清理应拨付给企业的招商引资、重大投资项目投资奖励、科技创新、人才支持等各类奖补资金及项目配套资金。"
    assert three.lines == (9, 12)  # the item and its three field lines


# 003_d25d4ccf3a63151e.txt, lines 62-80: item 16 is a heading over three sub-items, each with its own fields.
ITEM_16_003 = """(四)聚焦解决企业突出问题，倾心帮助企业度过难关。 
16.着力破解要素保障难题。 
破解企业融资难融资贵问题。鼓励引导银行业金融机构充分发挥各自优势，创新信贷产品，落实惠企政策，不盲目停贷、压贷、抽贷、断贷。 
组建市级政府性融资担保公司，全面落实减费让利政策，为企业提供低成本的融资增信服务。 
牵头单位:市政府金融办 
责任单位：市发展改革委、市财政局、市工信局、人行XX中心支行、XX银保监分局、市政府各行业监管部门(单位)，各县(区)人民政府 
完成时限:长期坚持 
破解企业用地难用房难问题。加大土地收储，加快工业用地报批速度；加大对批而未建土地处置力度，盘活土地存量，保障新开办工业企业用地。 
牵头单位:市自然资源局 
责任单位：市发展改革委、市工信局、市商务局、市生态环境局、市住建局等相关部门(单位)，各县(区)人民政府 
完成时限:长期坚持 
破解企业人才缺用工难问题。市、县(区)人社部门及其就业服务机构，进一步统筹市内外高校毕业生资源。 
牵头单位：市委组织部、市人社局 
责任单位：市教育局、市科技局、市财政局，各县(区)人民政府 
完成时限:长期坚持 
"""


def test_an_item_with_unnumbered_sub_items_gives_one_clause_per_sub_item():
    clauses, headings, _ = parse("003_d25d4ccf3a63151e.txt", ITEM_16_003)

    assert [c.number for c in clauses] == ["16", "16", "16"]
    assert [c.kind for c in clauses] == ["item"] * 3
    assert [c.text.split("。")[0] for c in clauses] == ["破解企业融资难融资贵问题", "破解企业用地难用房难问题", "破解企业人才缺用工难问题"]
    assert [c.fields.lead_units for c in clauses] == [["市政府金融办"], ["市自然资源局"], ["市委组织部", "市人社局"]]
    assert all(c.fields.deadline.recurring == "长期" for c in clauses)
    assert all(c.path[-1] == "16.着力破解要素保障难题。" for c in clauses)
    assert "16.着力破解要素保障难题。" in [h.text for h in headings]
    assert len({c.id for c in clauses}) == 3


def test_a_sub_item_keeps_its_second_paragraph():
    clauses, _, _ = parse("003_d25d4ccf3a63151e.txt", ITEM_16_003)
    assert "组建市级政府性融资担保公司" in clauses[0].text
    assert clauses[0].lines == (3, 7)


# --- 002: units in a closing 〔…〕 ----------------------------------------------------

# 002_ccafb6eaeb914355.txt, lines 17-29 and 53-55 (middle sentences left out). Its legend:
# 「逗号前为牵头单位」 — the units before the first 「，」 lead.
BRACKETS_002 = """一、大力开展营商环境提升行动

（二）营造公平竞争的市场环境。全面落实《中华人民共和国反垄断法》《四川省反不正当竞争条例》，加强对妨碍统一市场、不正当竞争等问题的整治，完善常态化监管机制。〔市市场监管局、市司法局、市财政局、市政务服务和资源交易中心等市级有关部门（单位）〕

二、纵深推进“一网通办”前提下的“最多跑一次”改革

（五）拓展“一网通办”范围。根据企业群众办事需求，推出100个“秒批秒办”事项、100个“一证一照办”、50个“零材料办”、50个“省内通办”。〔市政务服务和资源交易中心，市级有关部门（单位）〕

五、协同推进成渝地区双城经济圈和杭广协作地区“放管服”改革

（十五）协同推进政务服务一体化。贯彻落实国家、省政务服务“跨省通办”安排部署。〔市政府办公室、市人力资源社会保障局、市政务服务和资源交易中心，市级有关部门（单位）〕
"""


def test_units_before_the_first_comma_of_the_bracket_lead():
    clauses, _, _ = parse("002_ccafb6eaeb914355.txt", BRACKETS_002)
    five, fifteen = by_number(clauses)["（五）"], by_number(clauses)["（十五）"]

    assert five.fields.lead_units == ["市政务服务和资源交易中心"]
    assert five.fields.responsible_units == ["市级有关部门（单位）"]
    assert fifteen.fields.lead_units == ["市政府办公室", "市人力资源社会保障局", "市政务服务和资源交易中心"]
    assert fifteen.fields.responsible_units == ["市级有关部门（单位）"]


def test_a_bracket_without_a_comma_names_only_lead_units():
    clauses, _, _ = parse("002_ccafb6eaeb914355.txt", BRACKETS_002)
    two = by_number(clauses)["（二）"]
    assert two.fields.lead_units == ["市市场监管局", "市司法局", "市财政局", "市政务服务和资源交易中心等市级有关部门（单位）"]
    assert two.fields.responsible_units == []


def test_bracket_clauses_are_prose_under_their_chapter():
    clauses, _, _ = parse("002_ccafb6eaeb914355.txt", BRACKETS_002)
    assert [(c.number, c.kind, c.path[0][:2]) for c in clauses] == [
        ("（二）", "prose", "一、"),
        ("（五）", "prose", "二、"),
        ("（十五）", "prose", "五、"),
    ]
    assert by_number(clauses)["（五）"].fields.amounts == []  # 「100个」 is a count, not money


# --- 001: the annex table of measures -------------------------------------------------

# 001_8b287da456bb1442.txt, lines 58-73 (the long 重点举措 cells cut after a sentence, marked 「……」).
# Measure 3 prints its deadline in the 责任领导 column; measure 8 is split by a page break
# (line 71, a blank line, then line 73 with the rest of its text and the tail 「会」 of its units).
TABLE_001 = table(
    ["一级指标", "二级指标", "重点举措", "责任单位", "责任 领导", "完成时限"],
    ["------", "------", "------", "------", "----------", "------"],
    [""],
    ["一、开办企业  (牵头领导: 张建红)", "(一)开办企业流程",
     "1.加大“一窗通”“营商通”平台的推广力度,……实现全流程“一网通办”。",
     "市市场监管局、市公安局、市人力资源社会保障局、市税务局、市住房公积金管理中心、各县(区)人民政府、高新区管委会、临空经济区管委会",
     "张建红", "持续推进"],
    ["", "", "2.充分利用各种媒介进行广泛宣传解读,引导和鼓励申请人通过“一窗通”“营商通”办理企业缴存住房公积金开户登记。",
     "市市场监管局、市住房公积金管理中心、各县(区)人民政府、高新区管委会、临空经济区管委会", "", "持续推进"],
    ["", "(二)开办企业耗时",
     "3.从2021年6月1日起,将企业设立登记(含社保登记和缴存住房公积金开户登记)时间从3个工作日内压减到2个工作日内;……实现开办企业“4小时办结”。",
     "市市场监管局、市公安局、市税务局、市人力资源社会保障局、市住房公积金管理中心、各县(区)人民政府、高新区管委会、临空经济区管委会",
     "2021年6月并 持续推进", ""],
    ["", "(三)开办企业费用", "4.按照分级负责的原则,立即落实免费为属地新开办企业提供一套印章的支持措施;已推行免费刻章的地区要持续做好相关工作。",
     "市政务服务大数据管理局、市公安局、市财政局、市市场监管局、各县(区)人民政府、高新区管委会、临空经济区管委会",
     "刘华彬", "2021年6月并 持续推进"],
    [""],
    ["", "", "5.按照分级负责的原则，立即落实免费为属地新开办企业提供营业执照、印章、税务发票等寄递服务的支持措施；已推行免费寄递服务的地区要持续做好相关工作。",
     "市政务服务大数据管理局、市公安局、市财政局、市市场监管局、市税务局、各县（区）人民政府、高新区管委会、临空经济区管委会",
     "", "2021年6月并 持续推进"],
    ["一、开办企业 (牵头领导： 张建红)", "(三)开办企业费用",
     "6.对新办纳税人全面推行免费使用 Ukey，对存量纳税人税控设备损坏需要更换的推行免费使用 Ukey，并按照省上的安排部署推行电子发票。",
     "市税务局、各县（区）人民政府、高新区管委会、临空经济区管委会", "常务副市长", "2021年6月并 持续推进"],
    ["", "(四)开办企业便利度", "7.加强信息共享实现信息互认。……同时，要共享运用市场监管部门推送的企业变更登记信息。",
     "市市场监管局、市公安局、市税务局、市人力资源社会保障局、市住房公积金管理中心等市级部门、各县（区）人民政府、高新区管委会、临空经济区管委会",
     "张建红", "持续推进"],
    ["", "", "8.优化企业开办综合窗口。……要设置企业开办网上办理自助服务区，通过导办、帮办等形式引导企业使用企业开办“一窗通”",
     "市政务服务大数据管理局、市市场监管局、市公安局、市税务局、市人力资源社会保障局、市住房公积金管理中心、各县（区）人民政府、高新区管委会、临空经济区管委会",
     "刘华彬", "2021年6月并 持续推进"],
    [""],
    ["", "", "“营商通”平台办理企业开办事项。……确保“一窗受理”落地落实。", "会", "", ""],
)


def test_every_numbered_table_row_is_a_measure():
    clauses, _, _ = parse("001_8b287da456bb1442.txt", TABLE_001)
    assert [c.number for c in clauses] == [str(n) for n in range(1, 9)]
    assert {c.kind for c in clauses} == {"measure"}
    assert [c.id for c in clauses] == [f"001-a{n}" for n in range(1, 9)]
    assert clauses[1].text == "充分利用各种媒介进行广泛宣传解读,引导和鼓励申请人通过“一窗通”“营商通”办理企业缴存住房公积金开户登记。"


def test_indicator_headings_are_carried_down_to_rows_that_leave_them_blank():
    clauses, _, _ = parse("001_8b287da456bb1442.txt", TABLE_001)
    m = by_number(clauses)
    assert m["1"].path == ["附件", "一、开办企业(牵头领导:张建红)", "(一)开办企业流程"]
    assert m["2"].path == m["1"].path
    assert m["3"].path[1:] == ["一、开办企业(牵头领导:张建红)", "(二)开办企业耗时"]
    assert m["5"].path[2] == "(三)开办企业费用"
    assert m["8"].path[2] == "(四)开办企业便利度"


def test_the_lead_leader_of_the_indicator_is_among_the_leaders():
    clauses, _, _ = parse("001_8b287da456bb1442.txt", TABLE_001)
    m = by_number(clauses)
    assert "张建红" in m["1"].fields.leaders
    assert set(m["4"].fields.leaders) == {"刘华彬", "张建红"}  # the row's own 责任领导 and the indicator's
    assert "常务副市长" in m["6"].fields.leaders


def test_table_columns_give_units_and_deadlines():
    clauses, _, _ = parse("001_8b287da456bb1442.txt", TABLE_001)
    m = by_number(clauses)
    assert m["1"].fields.responsible_units == [
        "市市场监管局", "市公安局", "市人力资源社会保障局", "市税务局", "市住房公积金管理中心",
        "各县(区)人民政府", "高新区管委会", "临空经济区管委会",
    ]
    assert m["1"].fields.lead_units == []  # 001's table has no 牵头单位 column
    assert m["1"].fields.deadline.recurring == "持续推进"
    # measure 3's deadline sits in the 责任领导 column: it is still read as the deadline
    assert m["3"].fields.deadline.text == "2021年6月并持续推进"
    assert m["3"].fields.deadline.date == "2021-06-30"
    assert not any("2021" in leader for leader in m["3"].fields.leaders)
    assert m["3"].fields.time_limits == ["3个工作日内", "2个工作日内", "4小时"]


def test_a_row_split_by_a_page_break_is_joined_back():
    clauses, _, _ = parse("001_8b287da456bb1442.txt", TABLE_001)
    eight = by_number(clauses)["8"]
    assert "引导企业使用企业开办“一窗通”“营商通”平台办理企业开办事项。" in eight.text
    assert eight.text.endswith("确保“一窗受理”落地落实。")
    assert eight.lines == (12, 14)
    assert len(clauses) == 8  # the continuation is not a clause of its own


TABLE_001_BREAKS = table(  # 001 measures 21, 22, 69, 108, 147 (lines 90–93, 160–163,
    # 213–216, 264–265), shortened and numbered 1–5: rows are numbered in sequence
    ["一级指标", "二级指标", "重点举措", "责任单位", "责任 领导", "完成时限"],
    ["二、办理建筑许可(牵头领导: 吴勇)", "(七)办理建筑许可费用", "1.研究出台相关政策,分类减免部分建设项目施工期间城市道路占用费。",
     "市发展改革委、市财政局", "常务", "2021年12月"],
    ["", "", "2.研究制定下调我市工业类、地下空间类防空地下室易地建设费标准。", "市财政局、市发展改革委", "副市长", "2021年12月"],
    ["", "", "3.授权给前台窗口人员,由1名工作人员全流程承办受理、复审、审定登簿工作职责,确保异议、查封、",
     "市自然资源规划局、市税务局、市住房城乡建设", "", "2021年8月"],
    [""],
    ["", "注销登记即时办结。", "局、各县（区）人民政府", ""],
    ["六、纳税", "(三十)总税", "4.资阳市企业职工养老保险、工伤保险、失业保险单位缴费费率分别为16%、0.6%、0.7%。",
     "市税务局、市财政局、市", "常务", "2021年12月"],
    [""],
    ["(牵头领导: 常务副市长)", "收和缴费率", "执行全省统一政策,依政策保持工伤保险费率较低水平。", "人力资源和社会保障局", "副市 长", "并持续推进"],
    ["八、办理破产 (牵头领导: 王琪)", "(四十三)收回债务所需的时间", "5.构建破产案件繁简分流机制,简易程序破产案件办理时长在6个月以内。",
     "市中级人民法院", "王琪 马泽波", "2021年12月 并持续推进"],
)


def test_a_leader_cell_cut_between_two_rows_names_the_leader_of_both():
    m = by_number(parse("001_8b287da456bb1442.txt", TABLE_001_BREAKS)[0])
    assert m["1"].fields.leaders == ["常务副市长", "吴勇"]
    assert m["2"].fields.leaders == ["常务副市长", "吴勇"]


def test_a_page_break_inside_a_row_continues_each_cell_in_its_column():
    m = by_number(parse("001_8b287da456bb1442.txt", TABLE_001_BREAKS)[0])
    assert m["4"].path[1:] == ["六、纳税(牵头领导:常务副市长)", "(三十)总税收和缴费率"]
    assert m["4"].text.endswith("依政策保持工伤保险费率较低水平。")
    assert m["4"].fields.responsible_units == ["市税务局", "市财政局", "市人力资源和社会保障局"]
    assert m["4"].fields.leaders == ["常务副市长"]
    assert m["4"].fields.deadline.text == "2021年12月并持续推进"


def test_a_continuation_shifted_by_a_column_is_put_back_in_its_columns():
    m = by_number(parse("001_8b287da456bb1442.txt", TABLE_001_BREAKS)[0])
    assert m["3"].text.endswith("确保异议、查封、注销登记即时办结。")
    assert m["3"].fields.responsible_units == ["市自然资源规划局", "市税务局", "市住房城乡建设局", "各县（区）人民政府"]


def test_two_people_run_together_by_the_conversion_are_two_leaders():
    m = by_number(parse("001_8b287da456bb1442.txt", TABLE_001_BREAKS)[0])
    assert m["5"].fields.leaders == ["王琪", "马泽波"]


def test_a_description_tail_in_the_indicator_column_stays_in_the_description():
    text = table(
        ["一级指标", "二级指标", "重点举措", "责任单位", "责任 领导", "完成时限"],
        ["二、办理建筑许可(牵头领导: 吴勇)", "(七)办理建筑许可费用", "1.研究出台相关政策,分类减免部分建设项目施工期间城市",
         "市发展改革委、市财政局", "吴勇", "2021年12月"],
        ["", "道路占用费。★", "", ""],
    )
    one = by_number(parse("001_8b287da456bb1442.txt", text)[0])["1"]
    assert one.path[2] == "(七)办理建筑许可费用"
    assert one.text.endswith("施工期间城市道路占用费。★")


def test_a_unit_ending_after_a_leader_column_finishes_the_units_not_the_leader():
    """In 004 the 市级牵头领导 column comes before the units."""
    text = table(
        ["序号", "具体任务", "市级牵头领导", "牵头单位", "责任单位", "完成时限"],
        ["1", "优化企业开办服务，压缩开办时间。", "颜超", "市市场监管局、市公安", "各县（市、区）人民政府", "2020年6月底"],
    ) + "局\n"
    one = by_number(parse("004_7b2d353c70ed2f27.txt", text)[0])["1"]
    assert one.fields.lead_units == ["市市场监管局", "市公安局"]
    assert "颜超" in one.fields.leaders


def test_table_header_and_rule_lines_are_skipped_not_lost():
    clauses, _, skipped = parse("001_8b287da456bb1442.txt", TABLE_001)
    assert line_span(TABLE_001, 1) in skipped  # 一级指标 二级指标 … header
    assert line_span(TABLE_001, 2) in skipped  # ------ rule
    assert not any("一级指标" in c.text or "------" in c.text for c in clauses)


# --- 004: the annex task list, its header repeated on every page ---------------------

# 004_7b2d353c70ed2f27.txt, lines 133-143 (task 1's and task 4's text cut after a sentence).
TABLE_004 = table(
    ["2020 年优化营商环境工作任务清单"],
    [""],
    ["序号", "主要任务", "市级牵头领导", "牵头单位", "责任单位", "完成进度时限"],
    ["1", "严格落实绵阳市《关于推动构建亲清新型政商关系的若干措施（试行）》《绵阳市容错纠错实施办法（试行）》规定。",
     "马 骏", "市纪委监委机关", "市直有关部门，各县（市、区）、园区", "长期"],
    ["2", "推进权责清单标准化规范化建设，完善权责清单动态管理机制，定期发布权责清单。",
     "颜 超", "市委编办", "市司法局等市直有关部门，各县（市、区）、园区", "长期"],
    ["3", "强化“12345”热线政务服务功能，将其打造成全市政务服务“总客服”。",
     "颜 超", "市政府办", "市政务服务监管局等市直有关部门", "2020 年 6 月底"],
    ["4", "依托省电子证照库，2020 年建成绵阳本地电子证照库，市本级及下级政府部门签发的电子证照应上尽上。",
     "颜 超", "市政务服务监管局", "市直有关部门，各县（市、区）、园区", "2020 年 12 月底"],
    [""],
    ["序号", "主要任务", "市级牵头领导", "牵头单位", "责任单位", "完成进度时限"],
    ["5", "提升电子印章、电子签名在法人、自然人办理各类政务服务事项的应用度，加强电子印章、电子档案在政府内部管理中的应用。",
     "颜超", "市政务服务监管局", "市直有关部门，各县（市、区）、园区", "2020年12月底"],
    ["6", "政务服务事项申请人实际提交材料平均减少50%以上。落实200个“零材料提交”事项线上线下办理。政务服务事项网上可办率达到100%。",
     "颜超", "市政务服务监管局", "市直有关部门，各县（市、区）、园区", "2020年12月底"],
)


def test_repeated_header_rows_are_skipped_and_every_task_is_kept():
    clauses, _, skipped = parse("004_7b2d353c70ed2f27.txt", TABLE_004)
    assert [c.number for c in clauses] == ["1", "2", "3", "4", "5", "6"]
    assert {c.kind for c in clauses} == {"task"}
    assert line_span(TABLE_004, 3) in skipped
    assert line_span(TABLE_004, 9) in skipped
    assert not any("序号" in c.text or "主要任务" in c.text for c in clauses)


def test_a_task_row_has_leader_lead_unit_responsible_units_and_deadline():
    clauses, _, _ = parse("004_7b2d353c70ed2f27.txt", TABLE_004)
    three = by_number(clauses)["3"]
    assert three.text == "强化“12345”热线政务服务功能，将其打造成全市政务服务“总客服”。"
    assert three.path == ["附件"]
    assert three.fields.leaders == ["颜超"]  # 「颜 超」 as printed
    assert three.fields.lead_units == ["市政府办"]
    assert three.fields.responsible_units == ["市政务服务监管局等市直有关部门"]
    assert three.fields.deadline.date == "2020-06-30"
    six = by_number(clauses)["6"]
    assert six.fields.amounts == ["50%", "100%"]
    assert six.fields.lead_units == ["市政务服务监管局"]


# 004_7b2d353c70ed2f27.txt, lines 117-137: the last prose clause, the annex reference and title, the table.
PROSE_THEN_ANNEX_004 = """六、提供有力综合保障

（三十六）严格监督评价考核。适时开展营商环境专项督查和评价工作，定期通报工作推进情况，充分发挥评价的引领和督促作用。

附件：2020年优化营商环境工作任务清单

附件

2020 年优化营商环境工作任务清单

""" + table(
    ["序号", "主要任务", "市级牵头领导", "牵头单位", "责任单位", "完成进度时限"],
    ["1", "严格落实绵阳市《关于推动构建亲清新型政商关系的若干措施（试行）》《绵阳市容错纠错实施办法（试行）》规定。",
     "马 骏", "市纪委监委机关", "市直有关部门，各县（市、区）、园区", "长期"],
    ["2", "推进权责清单标准化规范化建设，完善权责清单动态管理机制，定期发布权责清单。",
     "颜 超", "市委编办", "市司法局等市直有关部门，各县（市、区）、园区", "长期"],
)


def test_prose_and_the_annex_table_after_it_are_both_parsed():
    clauses, _, _ = parse("004_7b2d353c70ed2f27.txt", PROSE_THEN_ANNEX_004)
    assert [(c.number, c.kind) for c in clauses] == [("（三十六）", "prose"), ("1", "task"), ("2", "task")]
    assert clauses[0].path == ["六、提供有力综合保障"]
    assert clauses[1].fields.leaders == ["马骏"]


def test_the_annex_reference_and_title_are_headings_not_clause_text():
    clauses, headings, _ = parse("004_7b2d353c70ed2f27.txt", PROSE_THEN_ANNEX_004)
    assert clauses[0].text == "严格监督评价考核。适时开展营商环境专项督查和评价工作，定期通报工作推进情况，充分发挥评价的引领和督促作用。"
    assert clauses[0].lines == (3, 3)
    assert "2020年优化营商环境工作任务清单" in [h.text for h in headings]


# --- robustness ----------------------------------------------------------------------

_PIECES = st.sampled_from([
    "一、", "十二、", "（一）", "(二)", "（三十六）", "1.", "2、", "16.", "（3）", "**一、", "**",
    "牵头单位：", "牵头单位:", "责任单位：", "完成时限：", "牵头领导：", "〔", "〕", "〔市财政局，市税务局〕",
    "<p>", "</p>", "[创业](#)", "------", "# ", "## ", "- ", "\t", "\n", "\n\n", "\r\n", " ", "。", "，", "、",
    "市财政局", "各县（市、区）", "2021年6月底", "长期坚持", "0.5 个至 3 个工作日", "1.5%", "500万元",
    "注：1.★：说明", "▲", "★", "⊙", "附件", "无",
    "一级指标\t二级指标\t重点举措\t责任单位\t责任领导\t完成时限",
    "序号\t主要任务\t市级牵头领导\t牵头单位\t责任单位\t完成进度时限",
])
_CHARS = st.text(alphabet=list("市局政府财税改革一二三四五六七八九十百年月日0123456789.:：（）()、，。\t \n"), max_size=20)
_DOCUMENTS = st.lists(st.one_of(_PIECES, _CHARS), max_size=40).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCUMENTS)
def test_parse_text_never_crashes_and_never_drops_a_line_of_text(text):
    clauses, headings, skipped = parse_text("999_fuzz.txt", text)

    assert uncovered_lines(text, clauses, headings, skipped) == []
    for clause in clauses:
        start, end = clause.span
        assert 0 <= start <= end <= len(text)
        assert clause.lines[0] <= clause.lines[1]
    assert len({c.id for c in clauses}) == len(clauses)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_parse_text_never_crashes_on_any_unicode_text(text):
    clauses, headings, skipped = parse_text("999_fuzz.txt", text)
    assert all(0 <= c.span[0] <= c.span[1] <= len(text) for c in clauses)


def test_an_empty_text_has_no_clauses():
    assert parse_text("999_empty.txt", "") == ([], [], [])
    assert parse_text("999_blank.txt", "\n \n\t\n") == ([], [], [])


def test_a_line_of_only_markup_is_recorded_as_skipped():
    text = "一、总体要求\n**\n<p></p>\n"
    clauses, headings, skipped = parse_text("999_markup.txt", text)
    spans = [c.span for c in clauses] + [h.span for h in headings] + list(skipped)
    for n in (2, 3):
        start, end = line_span(text, n)
        assert any(a <= start and end <= b for a, b in spans), f"line {n} is covered by nothing"
