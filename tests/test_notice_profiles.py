"""House-style profiles, 基本完成 and the consistency lint of the notice's numbers."""

from __future__ import annotations

import re
from datetime import date

import docx
import pytest
from conftest import PEOPLE_ROWS, PROBLEM_ROWS, SETTINGS_ROWS, TASK_HEADER, tables_from_rows

from toolkit.core.check import check_tables
from toolkit.core.status import evaluate_ledger
from toolkit.notice import NoticeDataError, lint_template, render_notice
from toolkit.notice.context import stats_sentence
from toolkit.notice.profiles import apply_profile
from toolkit.notice.template_build import build_notice_document
from toolkit.notice.verify import verify_notice_file

TODAY = date(2025, 4, 7)
STYLES = ("公文一级标题", "公文二级标题", "公文三级标题", "公文正文")


def render(ledger, tmp_path, name="通报.docx", **kw):
    result = render_notice(ledger, today=TODAY, out_path=tmp_path / name, **kw)
    return result, docx.Document(str(result.docx))


def structure(document) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in document.paragraphs]


def expected_section2(ledger, *, levels: int, heading: str, label: str) -> list[tuple[str, str]]:
    """Section 二 rebuilt from the ledger in plain Python: (style, text) per paragraph."""
    out, n = [], 0
    tasks = ledger.tasks_by_problem()
    for c_no, category in enumerate(ledger.categories(), start=1):
        if levels > 1:
            out.append(("公文二级标题", f"（{'一二三四五六七八九十'[c_no - 1]}）{category}"))
        for p in (p for p in ledger.problems if p.category == category):
            n += 1
            head = heading.format(title=p.title)
            out.append(("公文三级标题", f"{n}.{head}") if levels > 1 else ("公文二级标题", f"（{_cn(n)}）{head}"))
            if label and tasks[p.id]:
                out.append(("公文正文", label))
            for k, _ in enumerate(tasks[p.id], start=1):
                out.append(("公文正文", f"{_cn(k)}是"))
    return out


def _cn(n: int) -> str:
    digits = "零一二三四五六七八九"
    return digits[n] if n < 10 else "十" + (digits[n % 10] if n % 10 else "") if n < 20 else digits[n // 10] + "十" + (
        digits[n % 10] if n % 10 else "")


def section2_shape(document) -> list[tuple[str, str]]:
    paras = structure(document)
    start = next(i for i, (_, t) in enumerate(paras) if t == "二、巡察整改任务落实情况")
    end = next(i for i, (_, t) in enumerate(paras) if t == "三、下一步工作安排")
    out = []
    for style, text in paras[start + 1 : end]:
        if text.startswith("截至"):
            continue
        m = re.match(r"^([一二三四五六七八九十]+是)", text)
        out.append((style, m.group(1) if style == "公文正文" and m else text))
    return out


@pytest.mark.parametrize(
    ("profile", "levels", "heading", "label", "stats_at", "verb"),
    [
        ("reference", 2, "{title}", "", None, "予以公布"),
        ("stats-first", 2, "关于“{title}”问题的整改情况", "整改落实情况：", "intro", "予以通报"),
        ("flat", 1, "{title}", "", "section1", "予以公布"),
        ("统计先行", 2, "关于“{title}”问题的整改情况", "整改落实情况：", "intro", "予以通报"),
    ],
)
def test_each_built_in_profile_renders_its_structure(demo_ledger, tmp_path, profile, levels, heading, label, stats_at,
                                                     verb):
    result, document = render(demo_ledger, tmp_path, profile=profile)
    assert result.number_problems == []
    assert section2_shape(document) == expected_section2(demo_ledger, levels=levels, heading=heading, label=label)
    paras = structure(document)
    intro = paras[2][1]
    assert intro.endswith(f"现将巡察整改进展情况{verb}。")
    sentences = [i for i, (_, t) in enumerate(paras) if "反馈的16个问题中" in t]
    if stats_at is None:
        assert sentences == []
    elif stats_at == "intro":
        assert sentences == [2] and "；制定的50项整改措施中，" in intro
    else:
        h1 = [i for i, (s, _) in enumerate(paras) if s == "公文一级标题"]
        assert len(sentences) == 1 and h1[0] < sentences[0] < h1[1]


def test_ledger_setting_overrides_the_profile(demo_ledger, tmp_path):
    demo_ledger.settings.notice_publish_verb = "向社会公开"
    demo_ledger.settings.cells["notice_publish_verb"] = (30, "B")
    _, document = render(demo_ledger, tmp_path, profile="stats-first")
    assert document.paragraphs[2].text.endswith("现将巡察整改进展情况向社会公开。")
    assert "整改落实情况：" in [p.text for p in document.paragraphs]


def test_unknown_profile_is_explained(demo_ledger, tmp_path):
    with pytest.raises(NoticeDataError, match="通报样式“fancy”不存在，可选：参考样式（reference）"):
        render(demo_ledger, tmp_path, profile="fancy")


def test_old_stats_switch_still_places_the_sentence_at_section_2(demo_ledger):
    demo_ledger.settings.notice_stats_sentence = True
    assert apply_profile(demo_ledger.settings).notice_stats_position == "第二部分开头"


def rows_ledger(extra_settings: list[list], states: list[str]):
    """A workbook-shaped ledger (tables) with one problem per task and the given 完成情况 values."""
    problems = [PROBLEM_ROWS[0]] + [[f"P{i}", "关于作风建设方面", f"问题{i}", "李国强", "办公室"] for i in range(len(states))]
    tasks = [TASK_HEADER] + [
        [f"T{i}", f"P{i}", "措施。", "", "李国强", "办公室", "周丽", date(2025, 12, 31), None, state,
         date(2025, 3, 1) if state == "已完成" else None, "佐证" if state == "已完成" else "", None, ""]
        for i, state in enumerate(states)
    ]
    sheets = {"基本信息": [*SETTINGS_ROWS, *extra_settings], "问题清单": problems, "任务清单": tasks,
              "责任清单": [list(r) for r in PEOPLE_ROWS]}
    return check_tables(tables_from_rows(sheets), today=TODAY)


def test_basic_done_is_counted_on_its_own_and_out_of_the_rate_numerator():
    result = rows_ledger([], ["已完成"] * 6 + ["基本完成"] * 2 + ["推进中"] * 2)
    o = result.status.stats.overall
    assert (o.total, o.done, o.basic_done, o.open, o.long_term) == (10, 6, 2, 2, 0)
    assert o.parts_add_up() and o.rate == 0.6
    assert not [i for i in result.report.issues if i.code == "unknown-state"]
    sentence = stats_sentence(result.ledger.settings, result.status, today=TODAY)
    assert "已完成整改6个、基本完成2个、正在整改2个，完成率60%" in sentence


def test_basic_done_counted_as_done_by_the_setting():
    result = rows_ledger([["基本完成计入方式", "计为已完成"]], ["已完成"] * 6 + ["基本完成"] * 2 + ["推进中"] * 2)
    o = result.status.stats.overall
    assert (o.done, o.basic_done) == (6, 2) and o.rate == 0.8
    sentence = stats_sentence(result.ledger.settings, result.status, today=TODAY)
    assert "已完成整改8个（其中基本完成2个）、正在整改2个，完成率80%" in sentence


def test_basic_done_shows_in_the_stats_sheet_and_json():
    from toolkit.cli.render import result_json

    result = rows_ledger([], ["已完成", "基本完成", "推进中"])
    grid = result.plan.as_grid()["统计"]
    header = next(r for (r, col), (v, _) in grid.items() if col == "A" and v == "项目")
    assert grid[(header, "L")][0] == "基本完成" and grid[(header + 1, "L")][0] == 1
    assert "基本完成单列，不计入完成率" in grid[(2, "A")][0]
    assert result_json(result)["stats"]["overall"]["basic_done"] == 1


def test_stats_sheet_has_no_basic_done_column_when_unused():
    result = rows_ledger([], ["已完成", "推进中"])
    assert not [k for k, (v, _) in result.plan.as_grid()["统计"].items() if v == "基本完成"]


def test_profile_settings_are_read_from_the_ledger(tmp_path):
    result = rows_ledger([["通报样式", "简明层级"], ["统计句位置", "开头段落"], ["措施前标注", "整改情况："]],
                         ["已完成", "推进中"])
    s = apply_profile(result.ledger.settings)
    assert (s.notice_profile, s.notice_levels, s.notice_stats_position, s.notice_measures_label) == (
        "简明层级", 1, "开头段落", "整改情况：")


def test_bad_profile_setting_is_reported_at_its_cell():
    result = rows_ledger([["通报样式", "花哨"]], ["已完成"])
    issue = next(i for i in result.report.issues if i.location.field == "通报样式")
    assert issue.code == "setting-bad" and "参考样式、统计先行、简明层级" in issue.message


# --- the consistency lint ---------------------------------------------------------------------------


def _edit(path, old: str, new: str) -> None:
    document = docx.Document(str(path))
    for p in document.paragraphs:
        for run in p.runs:
            if old in run.text:
                run.text = run.text.replace(old, new)
                document.save(str(path))
                return
    raise AssertionError(f"{old} not found")


def test_lint_catches_a_count_changed_by_hand_in_the_docx(demo_ledger, tmp_path):
    result, _ = render(demo_ledger, tmp_path, profile="stats-first")
    assert verify_notice_file(result.docx, demo_ledger, today=TODAY, profile="stats-first") == []
    _edit(result.docx, "反馈的16个问题中", "反馈的17个问题中")
    found = verify_notice_file(result.docx, demo_ledger, today=TODAY, profile="stats-first")
    codes = {(p.code, p.paragraph) for p in found}
    assert ("wrong-count", 3) in codes and ("changed-number", 3) in codes
    assert any("问题总数“17个”与台账不一致：问题清单有16个问题" in p.message for p in found)


def test_lint_catches_a_figure_changed_in_a_progress_narrative(demo_ledger, tmp_path):
    result, _ = render(demo_ledger, tmp_path)
    _edit(result.docx, "2024年召开的23次党组会议", "2024年召开的25次党组会议")
    (problem,) = verify_notice_file(result.docx, demo_ledger, today=TODAY)
    assert problem.code == "changed-number" and "“25”应为“23”" in problem.message
    assert problem.excerpt.startswith("一是贯彻落实")


def test_lint_catches_a_changed_public_period_and_date(demo_ledger, tmp_path):
    result, _ = render(demo_ledger, tmp_path)
    _edit(result.docx, "至5月6日", "至5月16日")
    found = verify_notice_file(result.docx, demo_ledger, today=TODAY)
    assert any(p.code == "wrong-date" and "应为2025年4月7日至2025年5月6日" in p.message for p in found)


def test_every_render_checks_its_figures_and_finds_a_hard_coded_number(demo_ledger, tmp_path):
    document = build_notice_document()
    document.add_paragraph("截至2025年3月1日，反馈的20个问题中，已完成整改3个，完成率15%。", style="公文正文")
    template = tmp_path / "tpl.docx"
    document.core_properties.keywords = "toolkit:notice"
    document.save(str(template))
    problems = lint_template(template)
    assert [(p.code, p.severity) for p in problems] == [("hard-coded-number", "warning")]
    assert "“2025”、“3”、“1”、“20”、“15%”" in problems[0].message
    result, _ = render(demo_ledger, tmp_path, template_path=template)
    codes = sorted(p.code for p in result.number_problems)
    assert codes == ["unknown-date", "wrong-count", "wrong-count", "wrong-count", "wrong-rate"]  # total, done, open missing
    assert any(w.startswith("数字核对：通报第") for w in result.warnings)


def test_status_rows_feed_the_lint_not_the_sentence(demo_ledger):
    """The lint's counts come from the status rows, so a sentence built wrongly cannot agree with itself."""
    from toolkit.notice.consistency import check_figures

    status = evaluate_ledger(demo_ledger, today=TODAY)
    s = apply_profile(demo_ledger.settings, "stats-first")
    wrong = stats_sentence(s, status, today=TODAY).replace("正在整改7个", "正在整改6个")
    found = check_figures([("公文正文", wrong)], demo_ledger, s, status, today=TODAY)
    assert [p.code for p in found] == ["wrong-count"] and "台账为7个" in found[0].message


# --- public and 党内 editions ------------------------------------------------------------------------


def withhold(ledger, problem_ids=("5",), task_ids=("1-2",)):
    for p in ledger.problems:
        p.public = p.id not in problem_ids
    for t in ledger.tasks:
        t.public = t.id not in task_ids
    return ledger


@pytest.mark.parametrize("profile", ["reference", "stats-first", "flat"])
def test_public_edition_omits_withheld_items_and_keeps_totals(demo_ledger, tmp_path, profile):
    withhold(demo_ledger)
    status = evaluate_ledger(demo_ledger, today=TODAY)
    public, pdoc = render(demo_ledger, tmp_path, "公开.docx", profile=profile, edition="public")
    internal, idoc = render(demo_ledger, tmp_path, "党内.docx", profile=profile, edition="internal")
    assert public.number_problems == [] and internal.number_problems == []
    ptexts, itexts = [p.text for p in pdoc.paragraphs], [p.text for p in idoc.paragraphs]
    p5 = next(p for p in demo_ledger.problems if p.id == "5")
    t12 = next(t for t in demo_ledger.tasks if t.id == "1-2")
    assert any(p5.title in x for x in itexts) and not any(p5.title in x for x in ptexts)
    assert any(t12.measure in x for x in itexts) and not any(t12.measure in x for x in ptexts)
    word = {"done": "已完成整改", "long_term": "长期坚持"}.get(status.problems["5"].code, "正在整改")
    assert f"另有1个问题按规定不予公开（其中{word}1个）。" in ptexts
    assert "另有1项整改措施按规定不予公开。" in ptexts
    # Problem headings: the internal edition has all 16, the public one 15 plus the withheld count.
    heading = "公文三级标题" if profile != "flat" else "公文二级标题"
    count = lambda d: sum(1 for p in d.paragraphs if p.style.name == heading and not p.text.endswith("方面"))  # noqa: E731
    assert count(idoc) == 16 and count(pdoc) == 15
    # Statistics (where shown) count every problem in both editions.
    if profile != "reference":
        assert any("反馈的16个问题中" in x for x in ptexts) and any("反馈的16个问题中" in x for x in itexts)


def test_edition_defaults_to_the_setting_and_unknown_edition_is_explained(demo_ledger, tmp_path):
    withhold(demo_ledger)
    demo_ledger.settings.notice_edition = "党内版"
    _, document = render(demo_ledger, tmp_path)
    assert not any("不予公开" in p.text for p in document.paragraphs)
    with pytest.raises(NoticeDataError, match="通报版本“secret”不存在"):
        render(demo_ledger, tmp_path, "x.docx", edition="secret")


def test_public_flags_are_read_from_the_ledger():
    result = rows_ledger([], ["已完成", "推进中"])
    assert all(p.public for p in result.ledger.problems)
    problems = [PROBLEM_ROWS[0] + ["是否公开"], [1, "关于作风建设方面", "问题1", "李国强", "办公室", "否"],
                [2, "关于作风建设方面", "问题2", "李国强", "办公室", ""]]
    tasks = [TASK_HEADER + ["是否公开"],
             ["1-1", 1, "措施。", "", "李国强", "办公室", "周丽", date(2025, 12, 31), None, "推进中", None, "", None, "", "不公开"],
             ["2-1", 2, "措施。", "", "李国强", "办公室", "周丽", date(2025, 12, 31), None, "推进中", None, "", None, "", "也许"]]
    sheets = {"基本信息": SETTINGS_ROWS, "问题清单": problems, "任务清单": tasks, "责任清单": [list(r) for r in PEOPLE_ROWS]}
    result = check_tables(tables_from_rows(sheets), today=TODAY)
    assert [p.public for p in result.ledger.problems] == [False, True]
    assert [t.public for t in result.ledger.tasks] == [False, True]
    (issue,) = [i for i in result.report.issues if i.code == "bad-public-flag"]
    assert (issue.location.sheet, issue.location.row, issue.location.column) == ("任务清单", 3, "O")
    assert "是否公开应填“是”或“否”（留空表示公开），现为“也许”" == issue.message


# --- 问责与成效 ---------------------------------------------------------------------------------------


OUTCOME_ROWS = [["类别", "项目", "数量", "单位"], ["问责", "政务处分", 1, "人"], ["问责", "组织处理", 2, "人"],
                ["问责", "诫勉", 0, "人"], ["成效", "建立完善制度", 12, "项"], ["成效", "挽回经济损失", 35.6, "万元"]]


def test_outcomes_sheet_flows_into_the_sentence_with_zero_counts(demo_ledger, tmp_path):
    result = rows_ledger([], ["已完成"])
    assert result.ledger.outcomes == []
    sheets_result = check_tables(tables_from_rows({
        "基本信息": SETTINGS_ROWS, "问题清单": PROBLEM_ROWS[:2], "任务清单": [TASK_HEADER],
        "问责与成效": OUTCOME_ROWS}), today=TODAY)
    outcomes = sheets_result.ledger.outcomes
    assert [(o.kind, o.item, o.amount, o.unit) for o in outcomes][:2] == [("问责", "政务处分", 1, "人"), ("问责", "组织处理", 2, "人")]
    demo_ledger.outcomes = outcomes
    r, document = render(demo_ledger, tmp_path, profile="stats-first")
    intro = document.paragraphs[2].text
    assert "；问责处理3人（其中政务处分1人、组织处理2人、诫勉0人），建立完善制度12项，挽回经济损失35.6万元。" in intro
    assert r.number_problems == []
    # Reference profile with 通报显示问责与成效=是 and no statistics: its own paragraph at the start of section 二.
    demo_ledger.settings.notice_accountability = True
    _, document = render(demo_ledger, tmp_path, "b.docx")
    texts = [p.text for p in document.paragraphs]
    i = texts.index("二、巡察整改任务落实情况")
    assert texts[i + 1] == "巡察整改中，问责处理3人（其中政务处分1人、组织处理2人、诫勉0人），建立完善制度12项，挽回经济损失35.6万元。"


def test_lint_catches_a_changed_outcome_figure(demo_ledger, tmp_path):
    from toolkit.core.model import Outcome

    demo_ledger.outcomes = [Outcome("问责", "政务处分", 1, "人", 2), Outcome("问责", "组织处理", 2, "人", 3)]
    result, _ = render(demo_ledger, tmp_path, profile="flat")
    _edit(result.docx, "组织处理2人", "组织处理4人")
    found = verify_notice_file(result.docx, demo_ledger, today=TODAY, profile="flat")
    assert any("“组织处理4”与“问责与成效”工作表第3行（2）不一致" in p.message for p in found)


# --- the command line -------------------------------------------------------------------------------


def test_cli_profile_edition_and_verify(demo_file, tmp_path):
    from typer.testing import CliRunner

    from toolkit.cli import app

    runner = CliRunner()
    out = tmp_path / "通报.docx"
    res = runner.invoke(app, ["notice", str(demo_file), "--out", str(out), "--profile", "stats-first",
                              "--edition", "internal", "--today", "2025-04-07"])
    assert res.exit_code == 0, res.output
    assert "现将巡察整改进展情况予以通报。" in docx.Document(str(out)).paragraphs[2].text
    res = runner.invoke(app, ["notice", str(demo_file), "--verify", str(out), "--profile", "stats-first",
                              "--today", "2025-04-07"])
    assert res.exit_code == 0 and "中的数字与台账一致" in res.output
    _edit(out, "反馈的16个问题中", "反馈的15个问题中")
    res = runner.invoke(app, ["notice", str(demo_file), "--verify", str(out), "--profile", "stats-first",
                              "--today", "2025-04-07"])
    assert res.exit_code == 1 and "问题总数“15个”与台账不一致" in res.output
    res = runner.invoke(app, ["notice", str(demo_file), "--profile", "nope", "--today", "2025-04-07"])
    assert res.exit_code == 2 and "通报样式“nope”不存在" in res.output
