"""Adopting the staff's own ledger: one-sheet layouts (merged / repeated / blank below), `zhenggai adopt`,
and the monthly cycle on an adopted one-sheet ledger."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.core import layouts as L
from toolkit.core.check import check_tables
from toolkit.core.model import Table
from toolkit.demo.counties import fill_return
from toolkit.excel.read import read_workbook
from toolkit.jobs.adopt import run_adopt
from toolkit.jobs.check import run_status
from toolkit.jobs.counties import run_consolidate, run_county_templates
from toolkit.jobs.documents import run_notice
from toolkit.jobs.sources import FileLedger

TODAY = date(2025, 1, 10)
TITLE = "中共清远市测试局党组关于八届市委第四轮巡察反馈意见整改落实情况台账"
HEAD = ["序号", "问题类别", "存在问题", "整改措施", "责任领导", "责任单位", "责任人", "完成时限", "整改进展", "完成情况"]
# (category, problem, [(measure, unit, deadline, progress, state)])
PROBLEMS = [
    ("一、党的领导方面", "学习贯彻不深入", [("建立学习制度", "办公室", date(2024, 6, 30), "已制定制度", "已完成"),
                                     ("开展专题学习", "英德市", date(2025, 12, 31), "已学习两次", "推进中")]),
    ("一、党的领导方面", "决策程序不规范", [("修订议事规则", "办公室", "长期坚持", "持续执行", "长期坚持")]),
    ("二、作风建设方面", "督查不到位", [("完善督查机制", "清新区", date(2024, 3, 31), "", "未启动"),
                                  ("建立督查台账", "督查科", date(2025, 9, 30), "正在建立", "推进中"),
                                  ("按月通报进展", "清新区", date(2025, 12, 31), "", "推进中")]),
]
SHAPES = ("merged", "repeated", "blank")


def build_one_sheet(path: Path, shape: str = "merged", *, problems=PROBLEMS, title_rows: int = 1, seq: str = "problem",
                    order: list[int] | None = None, footer: bool = False, table: bool = False) -> Path:
    """A one-sheet 整改台账 as offices keep it. ``seq``: problem (1 merged), dotted (1.1), paren (（1）), none."""
    order = order or list(range(len(HEAD)))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "整改台账"
    ws.append([TITLE])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEAD))
    for _ in range(title_rows - 1):
        ws.append(["填报单位：办公室", None, None, None, None, None, "填报日期：2025年1月"])
    cols = [HEAD[j] for j in order]
    if seq == "none":
        cols = [c for c in cols if c != "序号"]
    ws.append(cols)
    header_row = ws.max_row
    r = header_row + 1
    for n, (cat, prob, measures) in enumerate(problems, 1):
        first = r
        for k, (measure, unit, deadline, progress, state) in enumerate(measures, 1):
            number = {"problem": n, "dotted": f"{n}.{k}", "paren": f"（{k}）"}.get(seq)
            show = k == 1 or shape == "repeated"
            values = [number if (show or seq != "problem") else None, cat if show else None, prob if show else None,
                      measure, "王局长", unit, "张三", deadline, progress, state]
            row = [values[j] for j in order]
            if seq == "none":
                row = [v for j, v in zip(order, row) if j != 0]
            ws.append(row)
            r += 1
        if shape == "merged" and r - first > 1:
            for field in ("序号", "问题类别", "存在问题") if seq == "problem" else ("问题类别", "存在问题"):
                if field in cols:
                    c = cols.index(field) + 1
                    ws.merge_cells(start_row=first, start_column=c, end_row=r - 1, end_column=c)
    if footer:
        ws.append(["合计", None, "3个问题", "6项措施"])
        ws.append([])
        ws.append(["制表人：李四", None, None, None, "审核人：王五"])
    if table:
        from openpyxl.worksheet.table import Table as XlTable

        last = openpyxl.utils.get_column_letter(len(cols))
        ws.add_table(XlTable(displayName="台账表", ref=f"A{header_row}:{last}{r - 1}"))
    wb.save(path)
    return path


def adopt_and_run_status(path: Path):  # noqa: ANN201 - (the status job's result, the ledger sheet as openpyxl reads it)
    """Adopt the ledger, fill the settings adopt could not find, write the statuses; the job and the sheet after it."""
    run_adopt(FileLedger(path), write=True, today=TODAY)
    fill_settings(path)
    status = run_status(FileLedger(path), today=TODAY)
    assert status.exit_code == 0, status.refused
    return status, openpyxl.load_workbook(path)["整改台账"]


def tables_of(path: Path) -> dict[str, Table]:
    return read_workbook(path)


def check(path: Path):
    return check_tables(tables_of(path), today=TODAY, source=path.name)


def fill_settings(path: Path) -> None:
    """Staff fill in the settings adopt could not find (openpyxl, as in Excel)."""
    wb = openpyxl.load_workbook(path)
    ws = wb["基本信息"]
    values = {"巡察组": "市委第二巡察组", "巡察开始日期": date(2023, 9, 13), "巡察结束日期": date(2023, 12, 27),
              "反馈日期": date(2024, 1, 2)}
    for row in ws.iter_rows(min_row=2):
        if row[0].value in values:
            row[1].value = values[row[0].value]
    wb.save(path)


# ------------------------------------------------------------------------------------------ detection


@pytest.mark.parametrize("shape", SHAPES)
def test_one_sheet_shapes_group_measures_under_their_problems(tmp_path, shape):
    result = check(build_one_sheet(tmp_path / f"{shape}.xlsx", shape))
    ledger = result.ledger
    assert ledger.layout.kind == L.ONE_SHEET
    assert [(p.id, p.category, p.title, p.row) for p in ledger.problems] == [
        ("1", "一、党的领导方面", "学习贯彻不深入", 3), ("2", "一、党的领导方面", "决策程序不规范", 5),
        ("3", "二、作风建设方面", "督查不到位", 6)]
    assert [(t.id, t.problem_id, t.row) for t in ledger.tasks] == [
        ("1-1", "1", 3), ("1-2", "1", 4), ("2-1", "2", 5), ("3-1", "3", 6), ("3-2", "3", 7), ("3-3", "3", 8)]
    assert result.valid, result.report.flatten()
    word = {"merged": "合并单元格3行", "repeated": "逐行重复3行", "blank": "下方留空3行"}[shape]
    assert any(word in line for line in ledger.layout.detection)
    assert "layout-detected" in {i.code for i in result.report.warnings}


def test_merged_problem_read_from_top_left_only_when_reader_does_not_spread(tmp_path):
    """The core spreads a merged range itself (a live workbook or another reader may give only the top-left)."""
    rows = [HEAD, [1, "甲方面", "问题甲", "措施一", "", "办公室", "", date(2025, 6, 30), "", "推进中"],
            [None, None, None, "措施二", "", "办公室", "", date(2025, 6, 30), "", "推进中"]]
    table = Table("整改台账", rows, merged=[(2, 0, 3, 0), (2, 1, 3, 1), (2, 2, 3, 2)])
    result = check_tables({"整改台账": table}, today=TODAY)
    assert [(t.id, t.problem_id) for t in result.ledger.tasks] == [("1-1", "1"), ("1-2", "1")]
    assert [p.category for p in result.ledger.problems] == ["甲方面"]


def test_two_adjacent_merged_problems_with_the_same_text_stay_two(tmp_path):
    rows = [HEAD] + [[None, "甲", "同一问题", f"措施{k}", "", "办公室", "", date(2025, 6, 30), "", "推进中"] for k in range(4)]
    rows[1][2] = rows[3][2] = "同一问题"
    table = Table("整改台账", rows, merged=[(2, 2, 3, 2), (4, 2, 5, 2)])
    result = check_tables({"整改台账": table}, today=TODAY)
    assert [t.problem_id for t in result.ledger.tasks] == ["1", "1", "2", "2"]


@pytest.mark.parametrize(("seq", "ids", "pids"), [
    ("dotted", ["1.1", "1.2", "2.1", "3.1", "3.2", "3.3"], ["1", "2", "3"]),
    ("paren", ["1-1", "1-2", "2-1", "3-1", "3-2", "3-3"], ["1", "2", "3"]),
    ("none", ["1-1", "1-2", "2-1", "3-1", "3-2", "3-3"], ["1", "2", "3"]),
])
def test_numbering_from_seq_or_generated(tmp_path, seq, ids, pids):
    result = check(build_one_sheet(tmp_path / "t.xlsx", "merged", seq=seq))
    assert [t.id for t in result.ledger.tasks] == ids
    assert [p.id for p in result.ledger.problems] == pids
    assert result.valid, result.report.flatten()


def test_seq_restarting_per_category_gives_generated_problem_ids(tmp_path):
    problems = [PROBLEMS[0], PROBLEMS[2]]
    path = build_one_sheet(tmp_path / "t.xlsx", "merged", problems=problems)
    wb = openpyxl.load_workbook(path)
    wb.active["A5"] = 1  # the second category restarts at 1
    wb.save(path)
    result = check(path)
    assert [p.id for p in result.ledger.problems] == ["1", "2"]
    assert any("有重复" in line for line in result.ledger.layout.detection)


def test_title_block_other_column_order_total_row_and_signature(tmp_path):
    order = [0, 2, 1, 3, 9, 8, 7, 6, 5, 4]
    path = build_one_sheet(tmp_path / "t.xlsx", "merged", title_rows=3, order=order, footer=True)
    result = check(path)
    assert len(result.ledger.tasks) == 6 and len(result.ledger.problems) == 3
    assert result.ledger.layout.header_rows["任务清单"] == 4
    codes = {i.code for i in result.report.warnings}
    assert {"total-row", "table-note"} <= codes
    assert result.valid, result.report.flatten()


def test_three_list_ledger_is_not_taken_for_one_sheet(tmp_path):
    from toolkit.demo.ledger import build_demo_ledger
    from toolkit.jobs.ledger import new_ledger_workbook

    path = tmp_path / "三张清单.xlsx"
    new_ledger_workbook(path, build_demo_ledger(), today=TODAY)
    assert check(path).ledger.layout.kind == L.THREE_LISTS


def test_missing_settings_say_what_they_are_needed_for(tmp_path):
    result = check(build_one_sheet(tmp_path / "t.xlsx"))
    st = result.ledger.settings
    assert (st.unit_name, st.party_group, st.inspection_round) == ("清远市测试局", "中共清远市测试局党组", "八届市委第四轮巡察")
    missing = {i.location.field: i.message for i in result.report.warnings if i.code == "setting-missing"}
    assert set(missing) == {"巡察组", "巡察开始日期", "巡察结束日期", "反馈日期"}
    assert missing["反馈日期"] == ("台账没有“基本信息”工作表，“反馈日期”暂为空：通报开头的反馈日期，以及核对完成时限是否早于反馈"
                                  "需要它。请运行 zhenggai adopt 台账 --yes 添加“基本信息”工作表后填写")


def test_mapping_sheet_overrides_detection(tmp_path):
    """Staff rename 存在问题 to something not recognised and say which column it is in 台账映射."""
    path = build_one_sheet(tmp_path / "t.xlsx", "merged")
    wb = openpyxl.load_workbook(path)
    wb.active["C2"] = "巡察指出的情况"
    m = wb.create_sheet(L.MAPPING_SHEET)
    m.append(["字段", "列"])
    m.append(["存在问题", "C"])
    m.append(["序号", "无"])
    wb.save(path)
    result = check(path)
    assert result.ledger.layout.kind == L.ONE_SHEET
    assert [p.title for p in result.ledger.problems] == ["学习贯彻不深入", "决策程序不规范", "督查不到位"]
    assert "layout-detected" not in {i.code for i in result.report.issues}
    assert result.ledger.layout.fields.get("seq") is None


# ---------------------------------------------------------------------------------------------- adopt


def test_adopt_without_yes_changes_nothing(tmp_path):
    path = build_one_sheet(tmp_path / "t.xlsx")
    before = path.read_bytes()
    job = run_adopt(FileLedger(path), today=TODAY)
    assert path.read_bytes() == before
    assert job.dry_run and job.changes
    assert any("合并单元格" in n for n in job.notes)


@pytest.mark.parametrize("shape", SHAPES)
def test_adopt_yes_adds_sheets_and_owned_columns_and_keeps_staff_cells(tmp_path, shape):
    path = build_one_sheet(tmp_path / "t.xlsx", shape)
    staff_before = tables_of(path)["整改台账"].rows
    job = run_adopt(FileLedger(path), write=True, today=TODAY)
    assert job.exit_code == 0 and job.written
    tables = tables_of(path)
    assert {"基本信息", L.MAPPING_SHEET, "县区", "校验结果", "统计"} <= set(tables)
    sheet = tables["整改台账"].rows
    assert [row[:10] for row in sheet] == [row[:10] for row in staff_before]
    assert sheet[1][10:16] == ["【自动】状态", "【自动】逾期天数", "【自动】距到期", "【自动】校验", "【自动】整改状态",
                               "【自动】措施完成"]
    labels = [ps.label for ps in job.check.status.problem_rows]
    assert [row[14] for row in sheet[2:8]] == [labels[0], None, labels[1], labels[2], None, None]
    assert labels[1] == "长期坚持"
    assert [row[15] for row in sheet[2:8]] == ["1/2", None, "0/1", "0/3", None, None]
    wb = openpyxl.load_workbook(path)
    assert set(map(str, wb["整改台账"].merged_cells.ranges)) == set(
        map(str, openpyxl.load_workbook(job.written[0].backup)["整改台账"].merged_cells.ranges))
    again = check(path)
    assert again.valid and "layout-detected" not in {i.code for i in again.report.issues}
    assert [c.name for c in again.ledger.counties] == ["英德市", "清新区"]
    status = run_status(FileLedger(path), today=TODAY)
    assert status.exit_code == 0


def test_adopt_extends_ctrl_t_table(tmp_path):
    path = build_one_sheet(tmp_path / "t.xlsx", "repeated", table=True)
    staff_before = tables_of(path)["整改台账"].rows
    done = CliRunner().invoke(app, ["adopt", str(path), "--today", "2025-01-10", "--yes"])
    assert done.exit_code == 0, done.output
    rows = tables_of(path)["整改台账"].rows
    assert rows[1][10] == "【自动】状态"
    assert [row[:10] for row in rows] == [row[:10] for row in staff_before]
    # The table now covers the owned columns, named exactly as their headers.
    ws = openpyxl.load_workbook(path)["整改台账"]
    table = ws.tables["台账表"]
    headers = [v for v in rows[1] if v not in (None, "")]
    assert len(headers) > 10 and all(h.startswith("【自动】") for h in headers[10:])
    assert table.ref == f"A2:{openpyxl.utils.get_column_letter(len(headers))}8"
    assert [c.name for c in table.tableColumns] == headers
    assert table.autoFilter.ref == table.ref
    assert run_status(FileLedger(path), today=TODAY).exit_code == 0


def test_adopted_table_header_restyled_by_staff_is_kept_not_refused(tmp_path):
    path = build_one_sheet(tmp_path / "t.xlsx", "repeated", table=True)
    run_adopt(FileLedger(path), write=True, today=TODAY)
    wb = openpyxl.load_workbook(path)
    ws = wb["整改台账"]
    ws["K2"].font = openpyxl.styles.Font(italic=True, color="FF0000")
    wb.save(path)
    job = run_status(FileLedger(path), today=TODAY)
    assert job.exit_code == 0 and not job.refused
    again = run_adopt(FileLedger(path), write=True, today=TODAY)
    assert not again.refused
    ws = openpyxl.load_workbook(path)["整改台账"]
    assert ws["K2"].value == "【自动】状态" and ws["K2"].font.italic
    assert ws.tables["台账表"].ref.startswith("A2:")


def test_adopt_command(tmp_path):
    path = build_one_sheet(tmp_path / "t.xlsx")
    runner = CliRunner()
    shown = runner.invoke(app, ["adopt", str(path), "--today", "2025-01-10"])
    assert shown.exit_code == 0, shown.output
    assert "一表式整改台账" in shown.output and "--yes" in shown.output
    done = runner.invoke(app, ["adopt", str(path), "--today", "2025-01-10", "--yes"])
    assert done.exit_code == 0, done.output
    assert "基本信息" in tables_of(path)


# -------------------------------------------------------------------------------------- monthly cycle


def adopt_and_consolidate(path: Path) -> list[list]:
    """Adopt, fill the settings, issue the county templates, let 清新区 report measure 3-1 done and consolidate: the
    ledger sheet's rows after that."""
    run_adopt(FileLedger(path), write=True, today=TODAY)
    fill_settings(path)
    assert check(path).valid
    tmp_path = path.parent
    job = run_county_templates(FileLedger(path), today=TODAY, period="2024-12", now=datetime(2025, 1, 10, 9))
    assert job.exit_code == 0, job.refused
    templates = {p.name.split("_")[1]: p for p in (tmp_path / "县区报送表-下发").glob("*.xlsx")}
    assert set(templates) == {"英德市", "清新区"}
    inbox = tmp_path / "县区报送表-收回"
    inbox.mkdir()
    fill_return(templates["清新区"], inbox / "清新区.xlsx",
                {"3-1": {"state": "已完成", "completed_on": -2, "evidence": "督查机制文件", "progress": "已印发督查机制"}},
                filler=("李四", "0763-1"), today=TODAY)
    consolidated = run_consolidate(FileLedger(path), today=TODAY, period="2024-12", now=datetime(2025, 1, 10, 10))
    assert consolidated.written, consolidated.refused
    return tables_of(path)["整改台账"].rows


@pytest.mark.parametrize("shape", SHAPES)
def test_monthly_cycle_on_adopted_one_sheet_ledger(tmp_path, shape):
    path = build_one_sheet(tmp_path / "台账.xlsx", shape)
    rows = adopt_and_consolidate(path)
    assert rows[5][9] == "已完成" and rows[5][8] == "已印发督查机制"
    result = check(path)
    task = next(t for t in result.ledger.tasks if t.id == "3-1")
    assert task.state == "已完成" and task.row == 6
    status = run_status(FileLedger(path), today=TODAY)
    assert status.check.status.stats.overall.done == 2
    notice = run_notice(FileLedger(path), today=TODAY, out=tmp_path / "通报.docx")
    text = [p.text for p in Document(str(tmp_path / "通报.docx")).paragraphs]
    assert notice.written
    joined = "\n".join(text)
    assert joined.index("学习贯彻不深入") < joined.index("建立学习制度") < joined.index("决策程序不规范")
    assert joined.index("督查不到位") < joined.index("完善督查机制")


# -------------------------------------------------------------------------------- the same in both forms


def three_list_tables(problems) -> dict[str, Table]:
    p_rows = [["问题编号", "问题方面", "问题标题"]]
    t_rows = [["任务编号", "问题编号", "整改措施", "责任领导", "责任单位", "责任人", "完成时限", "整改进展", "完成情况"]]
    for n, (cat, prob, measures) in enumerate(problems, 1):
        p_rows.append([str(n), cat, prob])
        for k, (measure, unit, deadline, progress, state) in enumerate(measures, 1):
            t_rows.append([f"{n}-{k}", str(n), measure, "王局长", unit, "张三", deadline, progress, state])
    return {"问题清单": Table("问题清单", p_rows), "任务清单": Table("任务清单", t_rows)}


def one_sheet_table(problems, shape: str) -> dict[str, Table]:
    rows: list[list] = [HEAD]
    merged = []
    for n, (cat, prob, measures) in enumerate(problems, 1):
        first = len(rows) + 1
        for k, (measure, unit, deadline, progress, state) in enumerate(measures, 1):
            show = k == 1 or shape == "repeated"
            rows.append([n if show else None, cat if show else None, prob if show else None, measure, "王局长", unit,
                         "张三", deadline, progress, state])
        if shape == "merged" and len(measures) > 1:
            merged += [(first, c, len(rows), c) for c in range(3)]
    return {"整改台账": Table("整改台账", rows, merged=merged)}


_measure = st.tuples(
    st.sampled_from(["措施甲", "措施乙", "措施丙"]),
    st.sampled_from(["办公室", "英德市", "清新区"]),
    st.sampled_from([date(2024, 6, 30), date(2025, 1, 15), date(2025, 12, 31), "长期坚持"]),
    st.sampled_from(["", "进展"]),
    st.sampled_from(["已完成", "推进中", "未启动", "长期坚持"]),
)
_problems = st.lists(
    st.tuples(st.sampled_from(["甲方面", "乙方面"]), st.text("问题题目", min_size=1, max_size=4),
              st.lists(_measure, min_size=1, max_size=4)),
    min_size=1, max_size=6,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problems=_problems, shape=st.sampled_from(SHAPES))
def test_three_lists_and_one_sheet_give_identical_statuses_and_statistics(problems, shape):
    # Distinct titles per problem: a repeated title is one problem in the one-sheet form by design.
    problems = [(c, f"{t}{n}", ms) for n, (c, t, ms) in enumerate(problems)]
    three = check_tables(three_list_tables(problems), today=TODAY)
    one = check_tables(one_sheet_table(problems, shape), today=TODAY)
    assert [(t.id, t.problem_id, t.state) for t in one.ledger.tasks] == \
        [(t.id, t.problem_id, t.state) for t in three.ledger.tasks]
    assert_same_statuses_and_statistics(one, three)


def assert_same_statuses_and_statistics(one, three) -> None:
    """Every task and problem status, and every tally of 统计, equal in the two forms of a ledger."""
    assert [r.code for r in one.status.rows] == [r.code for r in three.status.rows]
    assert [r.code for r in one.status.problem_rows] == [r.code for r in three.status.problem_rows]
    assert one.status.stats.overall == three.status.stats.overall
    assert one.status.stats.problems_overall == three.status.stats.problems_overall
    assert one.status.stats.by_category == three.status.stats.by_category
    assert one.status.stats.by_unit == three.status.stats.by_unit


# ------------------------------------------------------------------------ category heading rows (one sheet)

HEAD_NO_CATEGORY = [h for h in HEAD if h != "问题类别"]


def titled_sheet(head: list[str]):  # noqa: ANN201 - (Workbook, Worksheet)
    """A new workbook whose sheet 整改台账 has the title row (merged across the table) and the header row ``head``."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "整改台账"
    ws.append([TITLE])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(head))
    ws.append(head)
    return wb, ws


def build_with_headings(path: Path, shape: str = "merged", heading: str = "merged") -> Path:
    """A one-sheet ledger without a 问题类别 column whose categories are heading rows above their problems, as many
    offices keep it. ``heading``: merged (一、… merged across the table), column (一、… in 序号 only) or ordinal
    (一 in 序号, the category in 存在问题)."""
    wb, ws = titled_sheet(HEAD_NO_CATEGORY)
    category = None
    for n, (cat, prob, measures) in enumerate(PROBLEMS, 1):
        if cat != category:
            category = cat
            number, _, words = cat.partition("、")
            ws.append([number, words] if heading == "ordinal" else [cat])
            if heading == "merged":
                ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row,
                               end_column=len(HEAD_NO_CATEGORY))
        first = ws.max_row + 1
        for k, (measure, unit, deadline, progress, state) in enumerate(measures, 1):
            show = k == 1 or shape == "repeated"
            ws.append([n if show else None, prob if show else None, measure, "王局长", unit, "张三", deadline,
                       progress, state])
        if shape == "merged" and len(measures) > 1:
            for c in (1, 2):
                ws.merge_cells(start_row=first, start_column=c, end_row=ws.max_row, end_column=c)
    wb.save(path)
    return path


@pytest.mark.parametrize("heading", ["merged", "column", "ordinal"])
@pytest.mark.parametrize("shape", SHAPES)
def test_category_heading_rows_name_the_category_of_the_problems_below(tmp_path, shape, heading):
    result = check(build_with_headings(tmp_path / f"{shape}_{heading}.xlsx", shape, heading))
    ledger = result.ledger
    one, two = ("党的领导方面", "作风建设方面") if heading == "ordinal" else ("一、党的领导方面", "二、作风建设方面")
    # Heading rows 3 and 7; the problems and measures are those of the ledger with a 问题类别 column, one row lower.
    assert [(p.id, p.category, p.title, p.row) for p in ledger.problems] == [
        ("1", one, "学习贯彻不深入", 4), ("2", one, "决策程序不规范", 6), ("3", two, "督查不到位", 8)]
    assert [(t.id, t.problem_id, t.row) for t in ledger.tasks] == [
        ("1-1", "1", 4), ("1-2", "1", 5), ("2-1", "2", 6), ("3-1", "3", 8), ("3-2", "3", 9), ("3-3", "3", 10)]
    assert result.valid, result.report.flatten()
    headings = [i for i in result.report.warnings if i.code == "category-heading"]
    assert [(i.location.row, i.location.column) for i in headings] == [(3, "A"), (7, "A")]
    assert f"归入类别“{one}”" in headings[0].message
    codes = {i.code for i in result.report.issues}
    assert "missing-category-column" not in codes and "missing-value" not in codes
    assert any(line.startswith("类别：取自2个类别标题行（第3、7行）") for line in ledger.layout.detection)
    # The same statuses and statistics as the ledger that has the column (by category too).
    with_column = check(build_one_sheet(tmp_path / "column.xlsx", shape))
    assert [r.code for r in result.status.rows] == [r.code for r in with_column.status.rows]
    assert result.status.stats.overall == with_column.status.stats.overall
    assert list(result.status.stats.by_category.values()) == list(with_column.status.stats.by_category.values())


def test_rows_that_only_look_like_headings_stay_records(tmp_path):
    """A problem with its measure on the row is no heading, whatever its 序号; a title alone under 存在问题 is a
    problem (its missing cells are reported), not a heading; a 问题类别 column filled wins over a heading."""
    rows = [HEAD,
            ["一、党的领导方面"],  # a heading (序号 column, alone)
            ["一", "一、", "学习贯彻不深入方面", "建立学习制度", "王局长", "办公室", "张三", date(2024, 6, 30), "", "已完成"],
            [None, None, "决策程序不规范方面"],  # a title alone, right of the first field column
            ["二、作风建设方面"]]
    rows.append([3, "自有类别", "督查不到位", "完善督查机制", "王局长", "办公室", "张三", date(2024, 6, 30), "", "推进中"])
    result = check_tables({"整改台账": Table("整改台账", rows)}, today=TODAY)
    ledger = result.ledger
    assert [(p.category, p.title, p.row) for p in ledger.problems] == [
        ("一、", "学习贯彻不深入方面", 3), ("一、", "决策程序不规范方面", 4), ("自有类别", "督查不到位", 6)]
    assert [i.location.row for i in result.report.warnings if i.code == "category-heading"] == [2, 5]
    assert {(i.code, i.location.row) for i in result.report.errors} >= {("missing-value", 4)}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problems=_problems, shape=st.sampled_from(SHAPES))
def test_three_lists_and_one_sheet_with_heading_rows_give_identical_statistics(problems, shape):
    """Invariant: the categories given by heading rows count as the 问题类别 column does (the same tallies per
    category, whatever the order of the problems and however their measures are laid out)."""
    problems = [(c, f"{t}{n}", ms) for n, (c, t, ms) in enumerate(problems)]
    three = check_tables(three_list_tables(problems), today=TODAY)
    rows: list[list] = [[h for h in HEAD if h != "问题类别"]]
    merged = []
    category = None
    for n, (cat, prob, measures) in enumerate(problems, 1):
        if cat != category:
            category = cat
            rows.append([cat] + [cat] * (len(rows[0]) - 1))  # a heading merged across the table, as spread
            merged.append((len(rows), 0, len(rows), len(rows[0]) - 1))
        first = len(rows) + 1
        for k, (measure, unit, deadline, progress, state) in enumerate(measures, 1):
            show = k == 1 or shape == "repeated"
            rows.append([n if show else None, prob if show else None, measure, "王局长", unit, "张三", deadline,
                         progress, state])
        if shape == "merged" and len(measures) > 1:
            merged += [(first, c, len(rows), c) for c in range(2)]
    one = check_tables({"整改台账": Table("整改台账", rows, merged=merged)}, today=TODAY)
    assert [(p.id, p.category) for p in one.ledger.problems] == [(p.id, p.category) for p in three.ledger.problems]
    assert [r.code for r in one.status.rows] == [r.code for r in three.status.rows]
    assert one.status.stats.overall == three.status.stats.overall
    assert one.status.stats.problems_overall == three.status.stats.problems_overall
    assert one.status.stats.by_category == three.status.stats.by_category


def test_adopted_ledger_with_heading_rows_keeps_them_and_the_notice_numbers_categories_once(tmp_path):
    path = build_with_headings(tmp_path / "台账.xlsx", "merged", "merged")
    status, ws = adopt_and_run_status(path)
    assert "A3:I3" in {str(r) for r in ws.merged_cells.ranges} and ws["A3"].value == "一、党的领导方面"
    assert "A7:I7" in {str(r) for r in ws.merged_cells.ranges} and ws["A7"].value == "二、作风建设方面"
    header = [c.value for c in ws[2]]
    state_col = header.index("【自动】状态") + 1
    assert ws.cell(3, state_col).value is None and ws.cell(7, state_col).value is None  # nothing on the headings
    assert ws.cell(4, state_col).value and ws.cell(10, state_col).value
    run_notice(FileLedger(path), today=TODAY, out=tmp_path / "通报.docx")
    text = [p.text for p in Document(str(tmp_path / "通报.docx")).paragraphs]
    assert "（一）党的领导方面" in text and "（二）作风建设方面" in text
    assert not any("（一）一、" in t for t in text)


# -------------------------------------------------------------------------------------- two-row headers

def build_two_row_header(path: Path, vertical: bool, lower_wider: bool = False) -> Path:
    """A one-sheet ledger whose header takes two rows: 责任 over 责任领导/责任单位/责任人, 整改情况 over
    整改进展/完成情况. ``vertical``: the one-row headers merged down over both rows (as Excel users often do);
    else written in the upper row only. ``lower_wider``: 完成时限 moves to the lower row too (then the lower row
    names more fields than the upper one)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "整改台账"
    ws.append([TITLE])
    ws.merge_cells("A1:J1")
    ws.append(["序号", "问题类别", "存在问题", "整改措施", "责任", None, None,
               "时限" if lower_wider else "完成时限", "整改情况", None])
    ws.append([None, None, None, None, "责任领导", "责任单位", "责任人", "完成时限" if lower_wider else None,
               "整改进展", "完成情况"])
    ws.merge_cells("E2:G2")
    ws.merge_cells("I2:J2")
    if vertical:
        for c in ("A", "B", "C", "D") + (() if lower_wider else ("H",)):
            ws.merge_cells(f"{c}2:{c}3")
    for n, (cat, prob, measures) in enumerate(PROBLEMS, 1):
        for measure, unit, deadline, progress, state in measures:
            ws.append([n, cat, prob, measure, "王局长", unit, "张三", deadline, progress, state])
    wb.save(path)
    return path


@pytest.mark.parametrize("vertical", [True, False])
@pytest.mark.parametrize("lower_wider", [False, True])
def test_two_row_header_reads_every_column(tmp_path, vertical, lower_wider):
    result = check(build_two_row_header(tmp_path / "two.xlsx", vertical, lower_wider))
    ledger = result.ledger
    assert ledger.layout.kind == L.ONE_SHEET
    assert ledger.layout.fields == {"seq": "A", "category": "B", "title": "C", "measure": "D", "leader": "E",
                                    "unit": "F", "person": "G", "deadline": "H", "progress": "I", "state": "J"}
    assert ledger.layout.header_rows["任务清单"] == 3
    assert [(p.id, p.title) for p in ledger.problems] == [("1", "学习贯彻不深入"), ("2", "决策程序不规范"),
                                                         ("3", "督查不到位")]
    assert [(t.row, t.unit, t.state) for t in ledger.tasks][:2] == [(4, "办公室", "已完成"), (5, "英德市", "推进中")]
    assert result.valid, result.report.flatten()
    if not vertical:  # the pair was recognised (with merges spread down, the lower row alone names every field)
        assert any("第2–3行为表头（两行表头）" in line for line in ledger.layout.detection)


def test_a_row_below_the_header_that_holds_data_is_never_a_second_header(tmp_path):
    """The lower row of a pair names a field in every filled cell: a first data row of short words is data."""
    rows = [HEAD, ["1", "党的领导方面", "学习", "整改措施", "王局长", "办公室", "张三", date(2024, 6, 30), "", "已完成"]]
    result = check_tables({"整改台账": Table("整改台账", rows)}, today=TODAY)
    assert result.ledger.layout.header_rows["任务清单"] == 1
    assert [(t.measure, t.row) for t in result.ledger.tasks] == [("整改措施", 2)]


def test_adopted_two_row_header_ledger_gets_its_columns_in_the_lower_row(tmp_path):
    path = build_two_row_header(tmp_path / "台账.xlsx", vertical=False)
    status, ws = adopt_and_run_status(path)
    lower = [c.value for c in ws[3]]
    assert "【自动】状态" in lower and "E2:G2" in {str(r) for r in ws.merged_cells.ranges}
    again = check(path)
    assert [(t.id, t.state) for t in again.ledger.tasks] == [(t.id, t.state) for t in status.check.ledger.tasks]
    assert again.ledger.layout.fields["unit"] == "F"


# ------------------------------------------------------------------- problems on title rows above their measures

TITLE_SEQS = {"cn": (["一", "二", "三"], lambda n, k: k), "int": ([1, 2, 3], lambda n, k: f"（{k}）"),
              "dotted": ([1, 2, 3], lambda n, k: f"{n}.{k}"), "none": ([None] * 3, lambda n, k: None)}


def build_with_title_rows(path: Path, seq: str = "cn", merged: bool = False, problems=PROBLEMS,
                          category: bool = True) -> Path:
    """A one-sheet ledger whose problems stand on rows of their own (序号, 问题类别, 存在问题), their measures on the
    rows below (存在问题 blank, or merged down from the title row when ``merged``). Without ``category`` there is
    no 问题类别 column: a title row 一 | 学习贯彻不深入 then has the shape of a category heading row."""
    numbers, measure_number = TITLE_SEQS[seq]
    head = HEAD if category else HEAD_NO_CATEGORY
    title_col = head.index("存在问题") + 1
    wb, ws = titled_sheet(head)
    for n, (cat, prob, measures) in enumerate(problems, 1):
        ws.append([numbers[n - 1], cat, prob] if category else [numbers[n - 1], prob])
        first = ws.max_row
        for k, (measure, unit, deadline, progress, state) in enumerate(measures, 1):
            row = [measure_number(n, k), None, None, measure, "王局长", unit, "张三", deadline, progress, state]
            ws.append(row if category else row[:1] + row[2:])
        if merged:
            ws.merge_cells(start_row=first, start_column=title_col, end_row=ws.max_row, end_column=title_col)
    wb.save(path)
    return path


@pytest.mark.parametrize("category", [True, False])
@pytest.mark.parametrize("merged", [False, True])
@pytest.mark.parametrize("seq", list(TITLE_SEQS))
def test_problems_on_title_rows_take_the_measures_below_them(tmp_path, seq, merged, category):
    result = check(build_with_title_rows(tmp_path / f"{seq}.xlsx", seq, merged, category=category))
    ledger = result.ledger
    pids = {"cn": ["一", "二", "三"]}.get(seq, ["1", "2", "3"])
    one, two = ("一、党的领导方面", "二、作风建设方面") if category else ("", "")
    # Title rows 3, 6 and 8; the measures below them.
    assert [(p.id, p.category, p.title, p.row) for p in ledger.problems] == [
        (pids[0], one, "学习贯彻不深入", 3), (pids[1], one, "决策程序不规范", 6), (pids[2], two, "督查不到位", 8)]
    tids = ([f"{n}.{k}" for n, k in ((1, 1), (1, 2), (2, 1), (3, 1), (3, 2), (3, 3))] if seq == "dotted" else
            [f"{pids[n - 1]}-{k}" for n, k in ((1, 1), (1, 2), (2, 1), (3, 1), (3, 2), (3, 3))])
    assert [(t.id, t.problem_id, t.measure, t.row) for t in ledger.tasks] == [
        (tids[0], pids[0], "建立学习制度", 4), (tids[1], pids[0], "开展专题学习", 5), (tids[2], pids[1], "修订议事规则", 7),
        (tids[3], pids[2], "完善督查机制", 9), (tids[4], pids[2], "建立督查台账", 10), (tids[5], pids[2], "按月通报进展", 11)]
    assert result.valid, result.report.flatten()
    codes = {i.code for i in result.report.issues}
    assert "category-heading" not in codes and "missing-value" not in codes
    assert any("问题标题行3行" in line for line in ledger.layout.detection)
    # The same statuses and statistics as the ledger whose problems are merged over their measures.
    merged_form = check(build_one_sheet(tmp_path / "merged.xlsx", "merged"))
    assert [r.code for r in result.status.rows] == [r.code for r in merged_form.status.rows]
    assert [r.code for r in result.status.problem_rows] == [r.code for r in merged_form.status.problem_rows]
    assert result.status.stats.overall == merged_form.status.stats.overall
    assert result.status.stats.by_unit == merged_form.status.stats.by_unit
    if category:
        assert result.status.stats.by_category == merged_form.status.stats.by_category


def test_rows_that_only_resemble_title_rows_stay_what_they_were(tmp_path):
    """Not a title row: a problem row with a measure field of its own (a measure with its text missing: reported
    at the cell); a title alone with a category heading right below it; a heading above a problem row."""
    head = [h for h in HEAD if h != "问题类别"]
    rows = [head,
            ["一", "党的领导方面"],  # a heading: the row below is a problem of its own
            [1, "学习贯彻不深入", "建立学习制度", "王局长", "办公室", "张三", date(2024, 6, 30), "", "已完成"],
            [2, "决策程序不规范", None, None, "办公室", None, date(2025, 6, 30), "", "推进中"],  # no measure text
            [None, None, "修订议事规则", "王局长", "办公室", "张三", date(2025, 6, 30), "", "推进中"],
            [3, "督查不到位"],  # a title alone, a heading right below: not a title row
            ["二", "作风建设方面"],
            [4, "作风不实", "完善督查机制", "王局长", "清新区", "张三", date(2024, 3, 31), "", "未启动"]]
    result = check_tables({"整改台账": Table("整改台账", rows)}, today=TODAY)
    ledger = result.ledger
    assert [(p.title, p.category, p.row) for p in ledger.problems] == [
        ("学习贯彻不深入", "党的领导方面", 3), ("决策程序不规范", "党的领导方面", 4), ("督查不到位", "党的领导方面", 6),
        ("作风不实", "作风建设方面", 8)]
    assert [t.row for t in ledger.tasks] == [3, 4, 5, 6, 8]
    assert [i.location.row for i in result.report.warnings if i.code == "category-heading"] == [2, 7]
    assert ("missing-value", 4) in {(i.code, i.location.row) for i in result.report.errors}
    assert not any("问题标题行" in line for line in ledger.layout.detection)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problems=_problems, merged=st.booleans(), seq=st.sampled_from(list(TITLE_SEQS)))
def test_three_lists_and_title_rows_give_identical_statuses_and_statistics(problems, merged, seq):
    """Invariant: a problem on a title row above its measures counts as the same problem in the three lists."""
    problems = [(c, f"{t}{n}", ms) for n, (c, t, ms) in enumerate(problems)]
    three = check_tables(three_list_tables(problems), today=TODAY)
    rows: list[list] = [HEAD]
    spans = []
    for n, (cat, prob, measures) in enumerate(problems, 1):
        rows.append([{"cn": "一二三四五六"[n - 1], "none": None}.get(seq, n), cat, prob])
        first = len(rows)
        for k, (measure, unit, deadline, progress, state) in enumerate(measures, 1):
            number = {"dotted": f"{n}.{k}", "int": f"（{k}）", "cn": k}.get(seq)
            rows.append([number, None, prob if merged else None, measure, "王局长", unit, "张三", deadline, progress,
                         state])  # a merged 存在问题 as the reader spreads it
        if merged:
            spans.append((first, 2, len(rows), 2))
    one = check_tables({"整改台账": Table("整改台账", rows, merged=spans)}, today=TODAY)
    assert [p.row for p in one.ledger.problems] == [r for r, row in enumerate(rows, 1) if row[3:] == []]
    assert [(p.category, p.title) for p in one.ledger.problems] == [(p.category, p.title) for p in three.ledger.problems]
    assert [t.state for t in one.ledger.tasks] == [t.state for t in three.ledger.tasks]
    assert_same_statuses_and_statistics(one, three)


def test_adopted_ledger_with_title_rows_gets_problem_statuses_on_them(tmp_path):
    path = build_with_title_rows(tmp_path / "台账.xlsx", "cn", merged=True)
    status, ws = adopt_and_run_status(path)
    header = [c.value for c in ws[2]]
    task_state, problem_state = header.index("【自动】状态") + 1, header.index("【自动】整改状态") + 1
    assert [ws.cell(r, problem_state).value for r in (3, 6, 8)] == [
        p.label for p in status.check.status.problem_rows]
    assert all(ws.cell(r, task_state).value is None for r in (3, 6, 8))  # title rows are no measures
    assert all(ws.cell(r, task_state).value for r in (4, 5, 7, 9, 10, 11))
    assert all(ws.cell(r, problem_state).value is None for r in (4, 5, 7, 9, 10, 11))
    assert "C3:C5" in {str(r) for r in ws.merged_cells.ranges} and ws["A3"].value == "一"
    again = check(path)
    assert [(t.id, t.row) for t in again.ledger.tasks] == [(t.id, t.row) for t in status.check.ledger.tasks]
    run_notice(FileLedger(path), today=TODAY, out=tmp_path / "通报.docx")
    joined = "\n".join(p.text for p in Document(str(tmp_path / "通报.docx")).paragraphs)
    assert joined.index("学习贯彻不深入") < joined.index("建立学习制度") < joined.index("决策程序不规范")


def test_monthly_cycle_on_a_ledger_with_title_rows(tmp_path):
    """County templates and consolidation find the measures below the title rows; the title rows stay as typed."""
    path = build_with_title_rows(tmp_path / "台账.xlsx", "int", merged=False)
    rows = adopt_and_consolidate(path)
    assert rows[8][9] == "已完成" and rows[8][8] == "已印发督查机制"  # row 9: the first measure of problem 3
    assert rows[7][:3] == [3, "二、作风建设方面", "督查不到位"] and rows[7][3:10] == [None] * 7  # its title row
    result = check(path)
    assert next(t for t in result.ledger.tasks if t.id == "3-1").row == 9
    assert result.status.problem_rows[2].done_tasks == 1


# ------------------------------------------------------- category heading rows in a three-list 问题清单

def with_heading_rows(tables: dict[str, Table], *, keep_column: bool) -> dict[str, Table]:
    """The three lists with 问题清单's categories moved onto heading rows above their problems (merged across the
    table, as spread), the 问题方面 column left blank (``keep_column``) or removed."""
    header, *rows = tables["问题清单"].rows
    out: list[list] = [header if keep_column else [header[0], *header[2:]]]
    merged, category = [], None
    for row in rows:
        if row[1] != category:
            category = row[1]
            out.append([category] * len(out[0]))
            merged.append((len(out), 0, len(out), len(out[0]) - 1))
        out.append([row[0], "", *row[2:]] if keep_column else [row[0], *row[2:]])
    return {**tables, "问题清单": Table("问题清单", out, merged=merged)}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problems=_problems, keep_column=st.booleans())
def test_three_list_problem_sheet_with_heading_rows_counts_as_with_the_column(problems, keep_column):
    """Invariant: categories on heading rows of 问题清单 give the same problems, statuses and tallies per category as
    the 问题方面 column filled in; every heading is said at its cell, no missing column or value is reported."""
    problems = [(c, f"{t}{n}", ms) for n, (c, t, ms) in enumerate(problems)]
    three = three_list_tables(problems)
    filled = check_tables(three, today=TODAY)
    headed = check_tables(with_heading_rows(three, keep_column=keep_column), today=TODAY)
    assert [(p.id, p.category, p.title) for p in headed.ledger.problems] == \
        [(p.id, p.category, p.title) for p in filled.ledger.problems]
    assert_same_statuses_and_statistics(headed, filled)
    runs = sum(1 for n, p in enumerate(problems) if n == 0 or p[0] != problems[n - 1][0])
    warned = [i for i in headed.report.warnings if i.code == "category-heading"]
    assert len(warned) == runs and all("不作为问题读取" in i.message and "问题方面" in i.message for i in warned)
    codes = {i.code for i in headed.report.issues} - {i.code for i in filled.report.issues}
    assert codes == {"category-heading"}


def test_three_list_problem_filled_category_wins_over_the_heading_above_it():
    tables = with_heading_rows(three_list_tables(PROBLEMS), keep_column=True)
    tables["问题清单"].rows[-1][1] = "自有方面"  # the last problem's own 问题方面
    result = check_tables(tables, today=TODAY)
    assert [p.category for p in result.ledger.problems] == ["一、党的领导方面", "一、党的领导方面", "自有方面"]


def test_status_on_a_three_list_ledger_with_heading_rows_writes_nothing_on_them(tmp_path):
    """The demo ledger's 问题清单 with its categories moved onto heading rows merged across the whole table, the
    【自动】 columns included: the same statuses on the problems, nothing on the headings, the merges kept."""
    from toolkit.demo.ledger import build_demo_ledger
    from toolkit.jobs.ledger import new_ledger_workbook

    today = date(2025, 4, 7)
    path = tmp_path / "台账.xlsx"
    new_ledger_workbook(path, build_demo_ledger(), today=today)
    before = run_status(FileLedger(path), today=today).check.status.problem_rows
    wb = openpyxl.load_workbook(path)
    ws = wb["问题清单"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    starts = [n for n, row in enumerate(rows) if n == 0 or row[1] != rows[n - 1][1]]
    heads = []
    for k, n in enumerate(starts):  # top down: each insert shifts the rows below it by one
        ws.insert_rows(3 + n + k)
        ws.cell(3 + n + k, 1).value = rows[n][1]
        heads.append(3 + n + k)
    for r in range(3, ws.max_row + 1):
        if r not in heads:
            ws.cell(r, 2).value = None
    for r in heads:
        ws.merge_cells(f"A{r}:I{r}")
    wb.save(path)
    job = run_status(FileLedger(path), today=today)
    assert job.exit_code == 0, job.refused
    assert [(p.code, p.label) for p in job.check.status.problem_rows] == [(p.code, p.label) for p in before]
    ws = openpyxl.load_workbook(path)["问题清单"]
    status_col = [c.value for c in ws[2]].index("【自动】整改状态") + 1
    assert all(ws.cell(r, status_col).value is None for r in heads)
    assert [ws.cell(r, status_col).value for r in range(3, ws.max_row + 1) if r not in heads] == [
        p.label for p in before]
    assert {f"A{r}:I{r}" for r in heads} <= {str(m) for m in ws.merged_cells.ranges}


@settings(max_examples=300, deadline=None)
@given(first=st.text(st.characters(max_codepoint=127), min_size=1, max_size=8),
       second=st.sampled_from([None, "党的领导方面", "abc", "一", "方面"]))
def test_an_ascii_first_text_is_never_a_heading(first, second):
    """Intake asks no ASCII first cell whether its row is a category heading (a problem id such as P01): the rule
    never takes one (layouts.heading_category on the row's texts, first text first)."""
    text = "".join(first.split())
    assume(text)
    assert L.heading_category([text] + ([second] if second else [])) is None
