"""The notice (通报): content against the reference notice, variants through settings, escaping, lint."""

from __future__ import annotations

import copy
import io
import re
import zipfile
from datetime import date
from pathlib import Path

import docx
import jinja2
import pytest
from conftest import REFERENCE_NOTICE, require
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docxtpl import DocxTemplate

from toolkit.core.model import Ledger, NoticeParagraph, Problem, Settings, Task
from toolkit.notice import NoticeDataError, TemplateInvalid, lint_template, render_notice
from toolkit.notice.context import NOTICE_ITEM_FIELDS, NOTICE_VARIABLES, format_rate, notice_title_lines
from toolkit.notice.render import jinja_env
from toolkit.notice.template_build import (
    KIND_NOTICE,
    KIND_REMINDER,
    NOTICE_TEMPLATE_NAME,
    REMINDER_TEMPLATE_NAME,
    REPO_TEMPLATES,
    template_bytes,
)
from toolkit.notice.text import (
    chinese_number,
    clean_text,
    public_period,
    signature_indents,
    without_typed_item_ordinal,
    without_typed_ordinal,
)

REFERENCE = Path(__file__).resolve().parents[1] / "toolkit" / "data" / "reference_notice.txt"
TODAY = date(2025, 4, 7)
CN = "一二三四五六七八九十"


# --- the reference notice, parsed here without the toolkit ---------------------------------


def test_packaged_reference_notice_is_the_published_one():
    """toolkit/data's copy (used by the demo and these tests) equals ../shared/reference, byte for byte."""
    require("shared")
    assert REFERENCE.read_bytes() == REFERENCE_NOTICE.read_bytes()


def reference_lines() -> list[str]:
    """Non-empty lines of the published notice; the title's extraction artifact removed."""
    lines = [ln.replace("[bookmark: _GoBack]", "").strip() for ln in REFERENCE.read_text("utf-8").splitlines()]
    return [ln for ln in lines if ln]


REFERENCE_TITLE_WHOLE_WORDS = "中共清远市公路事务中心党组关于\n八届市委第四轮巡察整改进展情况的通报"


def reference_document() -> list[str]:
    """Paragraph texts the rendered notice must have: title (one paragraph, broken), blank line,
    body lines, blank line, signature, date.

    The title breaks after 关于, not inside 八届市委 as the published notice does (GB/T 9704 7.3.1:
    a break keeps words whole); 标题断行 reproduces the published break when wanted.
    """
    lines = reference_lines()
    title = REFERENCE_TITLE_WHOLE_WORDS
    assert title.replace("\n", "") == lines[0] + lines[1]
    body, signature, date_line = lines[2:-2], lines[-2], lines[-1]
    return [title, "", *body, "", signature, date_line]


def reference_section(lines: list[str], heading_prefix: str, next_prefix: str) -> list[str]:
    start = next(i for i, ln in enumerate(lines) if ln.startswith(heading_prefix))
    end = next(i for i, ln in enumerate(lines) if ln.startswith(next_prefix))
    return lines[start + 1 : end]


def render(ledger: Ledger, tmp_path: Path, name: str = "通报.docx", **kw):
    result = render_notice(ledger, today=TODAY, out_path=tmp_path / name, **kw)
    return result, docx.Document(str(result.docx))


def texts(document) -> list[str]:
    return [p.text for p in document.paragraphs]


def section2(document) -> list[tuple[str, str]]:
    paras = [(p.style.name, p.text) for p in document.paragraphs]
    start = next(i for i, (_, t) in enumerate(paras) if t == "二、巡察整改任务落实情况")
    end = next(i for i, (_, t) in enumerate(paras) if t == "三、下一步工作安排")
    return paras[start + 1 : end]


# --- reproducing the reference ----------------------------------------------------------------


def test_demo_notice_reproduces_reference_paragraph_by_paragraph(demo_ledger, tmp_path):
    result, document = render(demo_ledger, tmp_path)
    assert texts(document) == reference_document()
    assert result.paragraphs == len(reference_document())
    assert result.warnings == []


def test_section2_paragraphs_equal_reference_lines_with_heading_styles(demo_ledger, tmp_path):
    _, document = render(demo_ledger, tmp_path)
    expected_lines = reference_section(reference_lines(), "二、", "三、")
    got = section2(document)
    assert [t for _, t in got] == expected_lines
    for style, text in got:
        if re.match(rf"^（[{CN}]+）", text):
            assert style == "公文二级标题", text
        elif re.match(r"^\d+\.", text):
            assert style == "公文三级标题", text
        else:
            assert re.match(rf"^[{CN}]+是", text) and style == "公文正文", text


def test_numbering_runs_without_gaps(demo_ledger, tmp_path):
    _, document = render(demo_ledger, tmp_path)
    got = [t for _, t in section2(document)]
    problems = [int(m.group(1)) for t in got if (m := re.match(r"^(\d+)\.", t))]
    categories = [m.group(1) for t in got if (m := re.match(rf"^（([{CN}]+)）", t))]
    assert problems == list(range(1, 17))
    assert categories == ["一", "二", "三", "四"]
    measure_ordinals: list[list[str]] = []
    for t in got:
        if re.match(r"^\d+\.", t):
            measure_ordinals.append([])
        elif m := re.match(rf"^([{CN}]+)是", t):
            measure_ordinals[-1].append(m.group(1))
    for ordinals in measure_ordinals:
        assert ordinals == [chinese_number(n) for n in range(1, len(ordinals) + 1)]


def test_title_intro_and_fixed_parts_match_reference(demo_ledger, tmp_path):
    lines = reference_lines()
    _, document = render(demo_ledger, tmp_path)
    paras = document.paragraphs
    assert paras[0].style.name == "公文标题"
    assert paras[0].text == REFERENCE_TITLE_WHOLE_WORDS
    assert paras[0].text.replace("\n", "") == lines[0] + lines[1]
    assert paras[2].text == lines[2]  # intro
    assert paras[3].text == "一、中共清远市公路事务中心党组履行巡察整改主体责任情况" == lines[3]
    assert paras[-4].text == lines[-3]  # closing with public period and contacts
    assert "公开期限：2025年4月7日至5月6日。" in paras[-4].text
    assert (paras[-2].style.name, paras[-2].text) == ("公文落款", lines[-2])
    assert (paras[-1].style.name, paras[-1].text) == ("公文日期", lines[-1])


def test_title_break_keeps_words_whole_and_short_titles_stay_on_one_line():
    s = Settings(party_group="中共清远市公路事务中心党组", inspection_round="八届市委第四轮巡察")
    assert notice_title_lines(s) == ["中共清远市公路事务中心党组关于", "八届市委第四轮巡察整改进展情况的通报"]
    s = Settings(party_group="中共某局党组", inspection_round="巡察")
    assert notice_title_lines(s) == ["中共某局党组关于巡察整改进展情况的通报"]  # 19 characters fit
    s = Settings(party_group="中共某局党组", inspection_round="第二轮巡察")
    assert notice_title_lines(s) == ["中共某局党组关于第二轮巡察", "整改进展情况的通报"]
    s = Settings(party_group="中共清远市交通运输局党组", inspection_round="市委第三轮巡察")
    assert notice_title_lines(s) == ["中共清远市交通运输局党组关于", "市委第三轮巡察整改进展情况的通报"]


def test_title_never_breaks_inside_baijie_shiwei():
    """Regression: the title broke "…关于八届 / 市委第四轮…", splitting 八届市委."""
    for group in ("中共清远市公路事务中心党组", "中共清远市某某某某某局党组", "中共某局党组"):
        s = Settings(party_group=group, inspection_round="八届市委第四轮巡察")
        lines = notice_title_lines(s)
        assert not any(a.endswith("八届") and b.startswith("市委") for a, b in zip(lines, lines[1:]))


def test_title_break_setting_overrides_and_a_wrong_one_is_warned():
    s = Settings(party_group="中共清远市公路事务中心党组", inspection_round="八届市委第四轮巡察",
                 notice_title_break="中共清远市公路事务中心党组关于八届/市委第四轮巡察整改进展情况的通报")
    assert notice_title_lines(s) == ["中共清远市公路事务中心党组关于八届", "市委第四轮巡察整改进展情况的通报"]
    s.notice_title_break = "中共某党组关于/巡察的通报"
    warnings: list[str] = []
    assert notice_title_lines(s, warnings) == ["中共清远市公路事务中心党组关于", "八届市委第四轮巡察整改进展情况的通报"]
    assert warnings and "标题断行" in warnings[0] and "与通报标题不一致" in warnings[0]


# --- settings that change the document ------------------------------------------------------


def test_level_1_omits_categories_and_numbers_problems_as_second_level(demo_ledger, tmp_path):
    demo_ledger.settings.notice_levels = 1
    _, document = render(demo_ledger, tmp_path)
    ref = reference_section(reference_lines(), "二、", "三、")
    expected = []
    for line in ref:
        if re.match(rf"^（[{CN}]+）", line):
            continue
        if m := re.match(r"^(\d+)\.(.*)$", line):
            expected.append(("公文二级标题", f"（{chinese_number(int(m.group(1)))}）{m.group(2)}"))
        else:
            expected.append(("公文正文", line))
    assert section2(document) == expected


def test_level_3_writes_measures_as_numbered_paragraphs(demo_ledger, tmp_path):
    demo_ledger.settings.notice_levels = 3
    _, document = render(demo_ledger, tmp_path)
    expected = []
    for line in reference_section(reference_lines(), "二、", "三、"):
        if m := re.match(rf"^([{CN}]+)是(.*)$", line):
            n = CN.index(m.group(1)) + 1
            expected.append(f"（{n}）{m.group(2)}")
        else:
            expected.append(line)
    assert [t for _, t in section2(document)] == expected


def test_invalid_level_is_reported_in_chinese(demo_ledger, tmp_path):
    demo_ledger.settings.notice_levels = 4
    with pytest.raises(NoticeDataError, match="通报编号层级.*1、2 或 3"):
        render(demo_ledger, tmp_path)


def _problem_kind(ledger: Ledger, problem_id: str) -> str:
    """From the task states alone, without the status engine: "done" when every task is 已完成,
    "long_term" when every task is 已完成 or 长期坚持 and one is 长期坚持, else "open"."""
    states = {t.state for t in ledger.tasks if t.problem_id == problem_id}
    if states == {"已完成"}:
        return "done"
    if "长期坚持" in states and states <= {"已完成", "长期坚持"}:
        return "long_term"
    return "open"


def _problem_tally(ledger: Ledger) -> tuple[int, int, int]:
    """(done, long-term, open) problems."""
    kinds = [_problem_kind(ledger, p.id) for p in ledger.problems]
    return kinds.count("done"), kinds.count("long_term"), kinds.count("open")


LEAD = "截至2025年4月7日，市委第二巡察组反馈的16个问题中，"


@pytest.mark.parametrize(
    ("rule", "sentence"),
    [
        ("计为已完成", LEAD + "已完成整改9个（其中长期坚持2个）、正在整改7个，完成率56.3%。"),
        ("不计入", LEAD + "已完成整改7个、正在整改7个、长期坚持2个，完成率50%（长期坚持的问题不计入完成率）。"),
        ("计为未完成", LEAD + "已完成整改7个、正在整改9个（其中长期坚持2个），完成率43.8%。"),
    ],
)
def test_stats_sentence_follows_long_term_rule(demo_ledger, tmp_path, rule, sentence):
    s = demo_ledger.settings
    s.notice_stats_sentence = True
    s.long_term_rule = rule
    # The demo's 16 problems: 7 done, 2 long-term (problems 4 and 6), 7 open — every part of the sentence.
    assert _problem_tally(demo_ledger) == (7, 2, 7)
    _, document = render(demo_ledger, tmp_path)
    assert section2(document)[0] == ("公文正文", sentence)
    # Everything after the sentence is unchanged.
    assert [t for _, t in section2(document)[1:]] == reference_section(reference_lines(), "二、", "三、")


def test_stats_sentence_uses_configured_status_words(demo_ledger, tmp_path):
    s = demo_ledger.settings
    s.notice_stats_sentence = True
    s.word_done, s.word_open, s.word_long_term = "整改完成", "持续整改", "常态推进"
    _, document = render(demo_ledger, tmp_path)
    sentence = section2(document)[0][1]
    assert "整改完成" in sentence and "持续整改" in sentence and "常态推进" in sentence
    assert "已完成整改" not in sentence


def test_format_rate():
    assert format_rate(19 / 25) == "76%"
    assert format_rate(13 / 16) == "81.3%"
    assert format_rate(2 / 3) == "66.7%"
    assert format_rate(1.0) == "100%"


def test_problem_heading_format_with_status_word(demo_ledger, tmp_path):
    s = demo_ledger.settings
    s.notice_problem_heading = "关于“{title}”问题的整改（{status}）"
    _, document = render(demo_ledger, tmp_path)
    headings = [t for st, t in section2(document) if st == "公文三级标题"]
    word = {"done": "已完成整改", "long_term": "长期坚持", "open": "正在整改"}
    assert len(headings) == len(demo_ledger.problems) == 16
    for i, problem in enumerate(demo_ledger.problems, start=1):
        status_word = word[_problem_kind(demo_ledger, problem.id)]
        assert headings[i - 1] == f"{i}.关于“{problem.title}”问题的整改（{status_word}）"
    assert headings[3].endswith("问题的整改（长期坚持）")  # problem 4: one 长期坚持 task, the others done


def test_problem_heading_format_with_unknown_field_is_explained(demo_ledger, tmp_path):
    demo_ledger.settings.notice_problem_heading = "{titel}"
    with pytest.raises(NoticeDataError, match=r"\{titel\} 无法识别.*\{title\}"):
        render(demo_ledger, tmp_path)


def test_quoted_finding_follows_problem_heading(demo_ledger, tmp_path):
    demo_ledger.settings.notice_quote_finding = True
    demo_ledger.problems[0].finding = "理论学习不够深入，学用结合不紧密"
    result, document = render(demo_ledger, tmp_path)
    got = section2(document)
    assert got[1] == ("公文三级标题", "1.深入学习贯彻习近平新时代中国特色社会主义思想")
    assert got[2] == ("公文正文", "理论学习不够深入，学用结合不紧密。")
    assert got[3][1].startswith("一是贯彻落实“第一议题”制度")
    # Problems without a finding keep their layout and are listed in the warnings.
    assert len(got) == len(reference_section(reference_lines(), "二、", "三、")) + 1
    assert "问题2没有填写“反馈问题原文”，通报中未引用原文。" in result.warnings


def test_public_period_across_a_year_boundary(demo_ledger, tmp_path):
    assert public_period(date(2025, 4, 7), 30)[1] == "2025年4月7日至5月6日"
    assert public_period(date(2025, 12, 15), 30)[1] == "2025年12月15日至2026年1月13日"
    assert public_period(date(2025, 12, 2), 30)[1] == "2025年12月2日至12月31日"
    demo_ledger.settings.notice_date = date(2025, 12, 15)
    _, document = render(demo_ledger, tmp_path)
    closing = document.paragraphs[-4].text
    assert "公开期限：2025年12月15日至2026年1月13日。" in closing
    assert document.paragraphs[-1].text == "2025年12月15日"


def test_missing_notice_date_falls_back_to_today_with_warning(demo_ledger, tmp_path):
    demo_ledger.settings.notice_date = None
    result, document = render(demo_ledger, tmp_path)
    assert document.paragraphs[-1].text == "2025年4月7日"
    assert any("通报日期" in w for w in result.warnings)


def test_missing_settings_are_named(demo_ledger, tmp_path):
    demo_ledger.settings.party_group = ""
    demo_ledger.settings.feedback_date = None
    with pytest.raises(NoticeDataError, match="“党组名称”、“反馈日期”"):
        render(demo_ledger, tmp_path)


def test_contacts_only_list_what_is_filled_in(demo_ledger, tmp_path):
    demo_ledger.settings.address = ""
    demo_ledger.settings.email = ""
    _, document = render(demo_ledger, tmp_path)
    assert document.paragraphs[-4].text.endswith("公开期限：2025年4月7日至5月6日。联系方式：电话0763-3363601。")


# --- escaping and cleaning -----------------------------------------------------------------


def small_ledger(**settings) -> Ledger:
    base = dict(
        unit_name="清远市某某中心",
        unit_short="市某某中心",
        party_group="中共清远市某某中心党组",
        inspection_round="八届市委第四轮巡察",
        inspection_group="市委第二巡察组",
        inspection_start=date(2023, 9, 13),
        inspection_end=date(2023, 12, 27),
        feedback_date=date(2024, 4, 2),
        notice_date=date(2025, 4, 7),
    )
    base.update(settings)
    ledger = Ledger(settings=Settings(**base))
    ledger.notice_text = [
        NoticeParagraph("一", 0, "", "全面履行主体责任。"),
        NoticeParagraph("三", 0, "", "下一步继续整改。"),
    ]
    return ledger


def test_special_characters_survive_verbatim_and_excel_debris_is_cleaned(tmp_path):
    ledger = small_ledger(address="人民路<1>号 & 2号", email="a&b@example.cn")
    ledger.problems = [Problem("1", "关于“A&B”<方面>", "Title with \"quotes\" & 'apostrophes' <b>")]
    ledger.tasks = [
        Task(
            "1-1",
            "1",
            measure="修订《A&B<制度>》。",
            progress="完成率>90% & 覆盖率<100%；_x000D_\r\n第二行\r\n  第三行 \"引号\" 'single'",
        ),
        Task("1-2", "1", measure="整改措施\n没有句号", progress=""),
        Task("1-3", "1", measure="Excel line\r\nbreak", progress="_x000D_\n\a结束"),
    ]
    _, document = render(ledger, tmp_path)
    got = [t for _, t in section2(document)]
    assert got == [
        "（一）关于“A&B”<方面>",
        "1.Title with \"quotes\" & 'apostrophes' <b>",
        "一是修订《A&B<制度>》。完成率>90% & 覆盖率<100%；第二行第三行 \"引号\" 'single'。",
        "二是整改措施没有句号。",
        "三是Excel line break。结束。",
    ]
    assert "邮政地址：人民路<1>号 & 2号；电子邮箱a&b@example.cn。" in document.paragraphs[-4].text
    xml = zipfile.ZipFile(tmp_path / "通报.docx").read("word/document.xml").decode("utf-8")
    assert "&lt;b&gt;" in xml and "_x000D_" not in xml and "\r" not in xml
    assert "<w:br/>" not in xml.split("</w:p>", 1)[1]  # only the title carries a line break


def test_ordinals_staff_typed_are_dropped_where_the_notice_numbers_itself(tmp_path):
    """Categories, problems and measures whose text starts with an ordinal staff typed: the notice's own ordinal
    only (（一）党的领导方面, 1.学习贯彻不深入, 一是建立制度), never both; a cell holding a typed list stays whole."""
    ledger = small_ledger()
    ledger.problems = [Problem("1", "一、党的领导方面", "1.学习贯彻不深入"),
                       Problem("2", "一、党的领导方面", "（二）1.5万元专项资金未追回")]
    ledger.tasks = [Task("1-1", "1", measure="（1）建立学习制度", progress="已印发"),
                    Task("1-2", "1", measure="一是开展专题学习", progress=""),
                    Task("1-3", "1", measure="1.修订规则；2.开展检查", progress=""),
                    Task("2-1", "2", measure="第一，追回资金", progress="")]
    _, document = render(ledger, tmp_path)
    assert [t for _, t in section2(document)] == [
        "（一）党的领导方面",
        "1.学习贯彻不深入",
        "一是建立学习制度。已印发。",
        "二是开展专题学习。",
        "三是1.修订规则；2.开展检查。",
        "2.1.5万元专项资金未追回",
        "一是追回资金。",
    ]


@pytest.mark.parametrize(("typed", "heading", "item"), [
    ("一、党的领导方面", "党的领导方面", "党的领导方面"),
    ("十一．作风建设", "作风建设", "作风建设"),
    ("（一）学习不深入", "学习不深入", "学习不深入"),
    ("(3)学习不深入", "学习不深入", "学习不深入"),
    ("3、督查不到位", "督查不到位", "督查不到位"),
    ("1.学习贯彻不深入", "学习贯彻不深入", "学习贯彻不深入"),
    ("一是建立制度", "一是建立制度", "建立制度"),
    ("第一，建立制度", "第一，建立制度", "建立制度"),
    ("1.5万元未追回", "1.5万元未追回", "1.5万元未追回"),  # a number, not an ordinal
    ("（2023）12号文件", "（2023）12号文件", "（2023）12号文件"),
    ("2024年问题", "2024年问题", "2024年问题"),
    ("一、", "一、", "一、"),  # nothing but an ordinal
    ("1.建立制度；2.开展学习", "1.建立制度；2.开展学习", "1.建立制度；2.开展学习"),  # a list in one cell
    ("一是建立；二是开展", "一是建立；二是开展", "一是建立；二是开展"),
    ("（1）建立（2）开展", "（1）建立（2）开展", "（1）建立（2）开展"),
])
def test_typed_ordinal_rules(typed, heading, item):
    assert without_typed_ordinal(typed) == heading
    assert without_typed_item_ordinal(typed) == item


def test_clean_text_rules():
    assert clean_text("  　　一是加强学习。\r\n") == "一是加强学习。"
    assert clean_text("完成_x000D_\n情况") == "完成情况"
    assert clean_text("G358\r\nline") == "G358 line"
    assert clean_text("做好 2024年") == "做好 2024年"  # inner spaces are text
    assert clean_text("a\tb\x0bc\x07d") == "a b c d"  # \v and \a are breaks too
    assert clean_text("甲\x0b乙\x00丙") == "甲乙丙"
    assert clean_text("_x0041_") == "_x0041_"  # only control characters are decoded
    assert clean_text(None) == ""


def test_chinese_numbers():
    assert [chinese_number(n) for n in (1, 9, 10, 11, 16, 20, 21, 99, 100, 105, 110, 1000, 1010)] == [
        "一",
        "九",
        "十",
        "十一",
        "十六",
        "二十",
        "二十一",
        "九十九",
        "一百",
        "一百零五",
        "一百一十",
        "一千",
        "一千零一十",
    ]


def test_signature_and_date_indents_follow_gbt9704():
    # 13-character signature: right-indented 2; the date (7¼ wide with the CJK/digit gaps)
    # starts 2 characters right of the signature's start.
    assert signature_indents("中共清远市公路事务中心党组", "2025年4月7日") == (2.0, 5.75)
    # A signature shorter than the date: the date takes the 2-character right indent.
    sig, day = signature_indents("某局", "2025年12月31日")
    assert day == 2.0 and sig == pytest.approx(2 + 8.25 + 2 - 2)  # date 8¼ wide, signature 2


def test_section_paragraphs_with_unrecognised_part_are_warned(tmp_path):
    ledger = small_ledger()
    ledger.notice_text.append(NoticeParagraph("二", 1, "", "不该出现"))
    result, document = render(ledger, tmp_path)
    assert "不该出现" not in "".join(texts(document))
    assert any("“二”" in w for w in result.warnings)


def test_section1_items_run_in_and_section3_items_are_paragraphs(tmp_path):
    ledger = small_ledger()
    ledger.notice_text = [
        NoticeParagraph("一", 0, "", "党组高度重视"),
        NoticeParagraph("一", 2, "加强领导", "成立领导小组。"),
        NoticeParagraph("一", 1, "提高站位，迅速部署。", "召开会议。"),
        NoticeParagraph("三", 0, "", "下一步："),
        NoticeParagraph("三", 1, "担子不松", "继续整改"),
    ]
    _, document = render(ledger, tmp_path)
    t = texts(document)
    assert t[4] == "党组高度重视。一是提高站位，迅速部署。召开会议。二是加强领导。成立领导小组。"
    i = t.index("三、下一步工作安排")
    assert t[i + 1 : i + 3] == ["下一步：", "（一）担子不松。继续整改。"]


# --- templates and lint --------------------------------------------------------------------


def test_committed_templates_match_the_builder():
    for name, kind in ((NOTICE_TEMPLATE_NAME, KIND_NOTICE), (REMINDER_TEMPLATE_NAME, KIND_REMINDER)):
        committed = zipfile.ZipFile(REPO_TEMPLATES / name)
        fresh = zipfile.ZipFile(io.BytesIO(template_bytes(kind)))
        for part in (
            "word/document.xml",
            "word/styles.xml",
            "word/settings.xml",
            "word/footer1.xml",
            "word/footer2.xml",
            "word/fontTable.xml",
        ):
            assert committed.read(part) == fresh.read(part), f"{name}:{part} — run python -m toolkit.notice"


def test_committed_templates_lint_clean():
    assert lint_template(REPO_TEMPLATES / NOTICE_TEMPLATE_NAME) == []
    assert lint_template(REPO_TEMPLATES / REMINDER_TEMPLATE_NAME) == []


def lint_doc(tmp_path: Path, paragraphs: list, name: str = "t.docx") -> list:
    """Lint a document made of ``paragraphs`` (str, or a list of run texts, or raw XML)."""
    document = docx.Document()
    for item in paragraphs:
        if isinstance(item, str) and item.startswith("<w:p "):
            document.element.body.append(parse_xml(item))
        elif isinstance(item, list):
            p = document.add_paragraph()
            for run in item:
                p.add_run(run)
        else:
            document.add_paragraph(item)
    # Keep the body order: sectPr must stay last.
    body = document.element.body
    body.append(body.sectPr)
    path = tmp_path / name
    document.save(str(path))
    return lint_template(path, variables=NOTICE_VARIABLES, item_fields=NOTICE_ITEM_FIELDS)


def flat(problems) -> list[tuple]:
    return [(p.code, p.paragraph) for p in problems]


def test_lint_accepts_tags_split_across_plain_runs(tmp_path):
    # Word splits "{{ title }}" into runs after an edit; docxtpl joins them again.
    assert lint_doc(tmp_path, [["{{ ti", "tle }", "}"], "正文{{ intro }}"]) == []


def test_lint_finds_tag_split_by_tracked_change(tmp_path):
    split = (
        f"<w:p {nsdecls('w')}><w:r><w:t>{{{{ sig</w:t></w:r>"
        '<w:ins w:id="1" w:author="x" w:date="2025-01-01T00:00:00Z"><w:r><w:t>nat</w:t></w:r></w:ins>'
        "<w:r><w:t>ure }}</w:t></w:r></w:p>"
    )
    problems = lint_doc(tmp_path, ["{{ title }}", split])
    assert flat(problems) == [("split-tag", 2)]
    assert "修订（插入）" in problems[0].message and problems[0].excerpt == "{{ signature }}"


def test_lint_finds_broken_braces(tmp_path):
    problems = lint_doc(tmp_path, ["{{ title }}", "文字", "{ { intro }}"])
    assert flat(problems) == [("broken-tag", 3)]
    assert "中间不能有空格" in problems[0].message


def test_lint_finds_unknown_variable_and_field(tmp_path):
    problems = lint_doc(
        tmp_path,
        ["{{ title }}", "{{ titel }}", "{%p for item in body %}", "{{ item.txt }}", "{%p endfor %}"],
    )
    assert flat(problems) == [("unknown-variable", 2), ("unknown-field", 4)]
    assert problems[0].message.startswith("未知变量“titel”")
    assert "item.txt" in problems[1].message


def test_lint_finds_tag_across_two_paragraphs(tmp_path):
    problems = lint_doc(tmp_path, ["{{ title }}", "开头 {{ inspection", "_group }} 结尾", "{{ intro }}"])
    assert flat(problems) == [("tag-across-paragraphs", 2)]
    assert "从第2段开始，到第3段才结束" in problems[0].message


def test_lint_finds_text_a_paragraph_tag_would_delete(tmp_path):
    problems = lint_doc(tmp_path, ["{%p if stats_sentence %}这句会被删掉", "{{ stats_sentence }}", "{%p endif %}"])
    assert flat(problems) == [("deleted-text", 1)]
    assert "这句会被删掉" in problems[0].message


def test_lint_finds_two_paragraph_tags_in_one_paragraph(tmp_path):
    problems = lint_doc(tmp_path, ["{%p if stats_sentence %}{%p endif %}"])
    assert ("several-paragraph-tags", 1) in flat(problems)


def test_lint_finds_unclosed_tag_and_unbalanced_block(tmp_path):
    assert flat(lint_doc(tmp_path, ["{{ title }", "{{ intro }}"], "a.docx")) == [("unclosed-tag", 1)]
    problems = lint_doc(tmp_path, ["{%p for text in section1 %}", "{{ text }}"], "b.docx")
    assert flat(problems) == [("syntax-error", 2)]


def test_lint_reports_table_row_text_deleted_by_row_tag(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "{%tr for item in body %}"
    table.cell(0, 1).text = "说明文字"
    document.add_paragraph("{%tr endfor %}")
    path = tmp_path / "row.docx"
    document.save(str(path))
    problems = lint_template(path, variables=NOTICE_VARIABLES, item_fields=NOTICE_ITEM_FIELDS)
    assert ("deleted-text", 1) in flat(problems)
    assert "表格行" in problems[0].message


def test_render_refuses_a_template_with_problems(demo_ledger, tmp_path):
    document = docx.Document(str(REPO_TEMPLATES / NOTICE_TEMPLATE_NAME))
    document.add_paragraph("{{ unit_nmae }}", style="公文正文")
    body = document.element.body
    body.append(body.sectPr)
    bad = tmp_path / "bad.docx"
    document.save(str(bad))
    with pytest.raises(TemplateInvalid) as info:
        render(demo_ledger, tmp_path, template_path=bad)
    assert [p.code for p in info.value.problems] == ["unknown-variable"]
    assert "unit_nmae" in str(info.value)


def test_staff_edited_template_wording_is_used(demo_ledger, tmp_path):
    document = docx.Document(str(REPO_TEMPLATES / NOTICE_TEMPLATE_NAME))
    for p in document.paragraphs:
        if p.text == "三、下一步工作安排":
            p.runs[0].text = "三、下一步工作打算"
    edited = tmp_path / "edited.docx"
    document.save(str(edited))
    _, out = render(demo_ledger, tmp_path, template_path=edited)
    assert "三、下一步工作打算" in texts(out)


def test_strict_undefined_makes_missing_variables_errors(tmp_path):
    document = docx.Document()
    document.add_paragraph("{{ nothing_here }}")
    path = tmp_path / "u.docx"
    document.save(str(path))
    tpl = DocxTemplate(str(path))
    with pytest.raises(jinja2.UndefinedError):
        tpl.render({}, jinja_env=jinja_env(), autoescape=True)


def test_ledger_is_not_modified_by_rendering(demo_ledger, tmp_path):
    before = copy.deepcopy(demo_ledger)
    render(demo_ledger, tmp_path)
    assert demo_ledger == before


def test_clean_text_fast_path_changes_nothing_the_full_rules_would_change():
    """clean_text returns clean strings untouched (speed); it must agree with the full rules on any input."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from toolkit.notice import text as T

    alphabet = st.sampled_from(list("ab1 _x000D_\t\n\r\u3000\u00a0\ufeff\u200b\u2028\x7f\x85中文。"))

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.text(alphabet, max_size=12))
    def agree(s):
        full = T._EXCEL_ESCAPE.sub(T._decode_excel_escape, s)
        pieces = T._BREAKS.split(full)
        out = pieces[0]
        for piece in pieces[1:]:
            if out and piece and out[-1].isascii() and out[-1].isalnum() and piece[0].isascii() and piece[0].isalnum():
                out += " "
            out += piece
        expected = T._CONTROL.sub("", out.replace("\t", " ")).strip(T._STRIP)
        assert T.clean_text(s) == expected

    agree()
