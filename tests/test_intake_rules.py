"""Intake rules for ledgers edited the way staff edit them: notes under tables, duplicate and missing
columns, renamed sheets, ambiguous headers. Each test reproduces one staff edit on a real workbook
(the demo ledger written by the builder, edited with openpyxl) or on plain tables."""

from __future__ import annotations

import string
from datetime import date

import openpyxl
import pytest
from conftest import TASK_HEADER, tables_from_rows, task_row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.core import schema as S
from toolkit.core.check import check_tables
from toolkit.core.intake import is_note_text, load_ledger
from toolkit.core.model import CellError, Table
from toolkit.core.plan import check_only_plan, computed_columns_blocked
from toolkit.core.validate import validate_ledger
from toolkit.demo.ledger import DEMO_AS_OF
from toolkit.excel.read import read_workbook
from toolkit.jobs import check_file

DEMO_TASKS, DEMO_PROBLEMS = 50, 16  # the demo ledger: tasks in 任务清单 rows 3–52, problems in 问题清单 rows 3–18
TODAY = date(2025, 4, 7)


def edited(path, edit):
    """Edit the workbook at ``path`` with openpyxl (as staff do in Excel), save, check it."""
    wb = openpyxl.load_workbook(path)
    edit(wb)
    wb.save(path)
    return check_file(path, today=DEMO_AS_OF)


def flat(result, keys=("sheet", "row", "column", "code", "severity")):
    return result.report.flatten(list(keys))


# ----------------------------------------------------------------------------- 1. notes under a table


def test_note_and_signature_rows_under_the_task_table_are_not_tasks(demo_file):
    def edit(wb):
        ws = wb["任务清单"]
        ws["A54"] = "注：1.完成时限填写具体日期；2.完成情况只能填写未启动/推进中/已完成/长期坚持。"
        ws["A55"] = "制表人：张三"
        ws["F55"] = "审核人：李四"
        ws["H55"] = date(2025, 4, 7)  # a date beside the signature: the row is still a note

    result = edited(demo_file, edit)
    assert len(result.ledger.tasks) == DEMO_TASKS
    assert result.status.stats.overall.total == DEMO_TASKS
    assert flat(result) == [["任务清单", 54, "A", "table-note", "warning"], ["任务清单", 55, "A", "table-note", "warning"]]
    assert result.report.issues[1].message == (
        "此行“制表人：张三”是表格注释，不作为整改任务读取，不计入统计。如果这其实是一项整改任务，请把注释文字移出本行并填写编号"
    )
    assert result.ledger.layout.skipped_rows["任务清单"] == [54, 55]


def test_merged_note_row_across_the_table_is_not_a_task_and_survives_a_status_run(demo_file):
    from toolkit.jobs import update_status_file

    def edit(wb):
        ws = wb["任务清单"]
        ws["A53"] = "填表说明：本表由各责任单位每月5日前更新"
        ws.merge_cells("A53:S53")  # across the 【自动】 columns too

    result = edited(demo_file, edit)
    assert flat(result) == [["任务清单", 53, "A", "table-note", "warning"]]
    assert len(result.ledger.tasks) == DEMO_TASKS
    update_status_file(demo_file, today=DEMO_AS_OF)
    ws = openpyxl.load_workbook(demo_file)["任务清单"]
    assert ws["A53"].value == "填表说明：本表由各责任单位每月5日前更新"
    assert "A53:S53" in {str(r) for r in ws.merged_cells.ranges}


def test_note_continuation_lines_at_the_end_are_part_of_the_note(demo_file):
    def edit(wb):
        ws = wb["任务清单"]
        ws["A54"] = "说明："
        ws["A55"] = "1.完成时限填写具体日期；"
        ws["A56"] = "2.完成情况只能填写四种之一。"

    result = edited(demo_file, edit)
    assert len(result.ledger.tasks) == DEMO_TASKS
    assert flat(result, ("row", "column", "code")) == [[54, "A", "table-note"], [55, "A", "table-note"],
                                                       [56, "A", "table-note"]]
    assert "位于表格注释“说明：”之后，视为注释的续行" in result.report.issues[1].message


def test_a_note_between_tasks_is_skipped_and_the_tasks_after_it_still_count(small_tables):
    rows = [task_row("1-1", 1), ["备注：以下为县区任务"], task_row("2-1", 2)]
    result = check_tables(small_tables(rows), today=TODAY)
    assert [t.id for t in result.ledger.tasks] == ["1-1", "2-1"]
    assert result.report.flatten() == [["任务清单", 3, "A", "table-note"]]


def test_a_single_text_row_after_a_note_but_before_tasks_is_a_task(small_tables):
    # Continuation lines are only recognised in the trailing block: here a task follows, so row 4 is data.
    rows = [["注：见附件"], ["1-1"], task_row("2-1", 2)]
    result = check_tables(small_tables(rows), today=TODAY)
    assert [t.id for t in result.ledger.tasks] == ["1-1", "2-1"]
    assert ["任务清单", 2, "A", "table-note"] in result.report.flatten()


def test_note_under_the_problem_table_is_not_a_problem(demo_file):
    result = edited(demo_file, lambda wb: wb["问题清单"].__setitem__("A19", "备注：问题编号与反馈意见一致"))
    assert len(result.ledger.problems) == DEMO_PROBLEMS
    assert result.status.stats.problems_overall.total == DEMO_PROBLEMS
    assert flat(result) == [["问题清单", 19, "A", "table-note", "warning"]]
    assert "不作为问题读取" in result.report.issues[0].message


def test_a_row_with_a_task_id_is_a_task_even_when_its_text_starts_like_a_note(small_tables):
    rows = [task_row("1-1", 1, measure="注：加强学习。"), task_row("2-1", 2)]
    result = check_tables(small_tables(rows), today=TODAY)
    assert [t.measure for t in result.ledger.tasks] == ["注：加强学习。", "加强学习。"]
    assert result.report.issues == []


@pytest.mark.parametrize("text", ["注：见附件", "注:见附件", "注 1：", "注１．", "说明：", "备注：无", "填表说明", "填报说明（略）",
                                  "制表人：张三", "审核人:李四", "制表日期：2025年4月7日", "联系电话：0763-1234567"])
def test_note_markers(text):
    assert is_note_text(text)


@pytest.mark.parametrize("text", ["注重学习", "说明书编制", "备注", "制度建设", "1-1", "审核", None, 3])
def test_not_note_markers(text):
    assert not is_note_text(text)


# ----------------------------------------------------------------------------- 2. duplicate columns


def test_duplicate_header_is_an_error_at_the_second_column_and_the_first_is_read(demo_file):
    def edit(wb):
        ws = wb["任务清单"]
        ws["T2"] = "完成情况"
        for r in range(3, 53):
            ws.cell(r, 20, "未启动")

    result = edited(demo_file, edit)
    assert flat(result) == [["任务清单", 2, "T", "duplicate-column", "error"]]
    assert result.report.issues[0].message == (
        "表头“完成情况”出现了两次（J列和 T列），本次按左边的 J列 读取，T列 的内容未被读取。"
        "请删除多余的一列，或把其中一列的表头改为其他名称"
    )
    assert {t.state for t in result.ledger.tasks} != {"未启动"}  # read from J
    assert result.ledger.layout.column("任务清单", "state") == "J"


def test_two_synonyms_of_one_field_are_an_error_naming_both(demo_file):
    def edit(wb):
        wb["任务清单"]["J2"] = "整改状态"
        wb["任务清单"]["T2"] = "状态"

    result = edited(demo_file, edit)
    assert flat(result) == [["任务清单", 2, "T", "duplicate-column", "error"]]
    assert result.report.issues[0].message.startswith("J列“整改状态”和 T列“状态”都表示“完成情况”，本次按左边的 J列 读取")


def test_canonical_header_beside_a_synonym_reads_the_canonical_one_with_a_warning(small_tables):
    header = ["序号", *TASK_HEADER]
    rows = [header, [1, *task_row("1-1", 1)], [2, *task_row("2-1", 2)]]
    result = check_tables(small_tables(**{"任务清单": rows}), today=TODAY)
    assert [t.id for t in result.ledger.tasks] == ["1-1", "2-1"]
    assert result.report.flatten(["row", "column", "code", "severity"]) == [[1, "A", "ignored-synonym-column", "warning"]]
    assert result.report.issues[0].message.startswith("A列“序号”也可表示“任务编号”，但本表已有“任务编号”列（B列），“任务编号”按 B列 读取")


# ----------------------------------------------------------------------------- 3. a sheet not found


def test_missing_sheet_lists_the_workbook_sheets_and_the_accepted_names(demo_file):
    result = edited(demo_file, lambda wb: setattr(wb["任务清单"], "title", "任务表"))
    assert flat(result) == [["任务清单", None, None, "missing-sheet", "error"]]  # no follow-on problem-without-tasks
    message = result.report.issues[0].message
    assert message.startswith("找不到工作表“任务清单”（也可命名为“整改任务清单”、“任务台账”、“整改台账”、“整改措施清单”）。"
                              "本工作簿中的工作表（不含工具生成的）有：“基本信息”、“问题清单”、“任务表”、")
    assert "如“任务表”就是任务清单，请把它改名为“任务清单”" in message
    assert "_lists" not in message and "校验结果" not in message
    assert result.ledger.layout.missing_sheets == ["任务清单"]


def test_missing_settings_sheet_lists_the_sheets_too(small_tables):
    tables = small_tables()
    tables["参数"] = tables.pop("基本信息")
    report = check_tables(tables, today=TODAY).report
    missing = next(i for i in report.issues if i.code == "missing-sheet")
    assert "也可命名为“设置”、“参数设置”、“基本设置”" in missing.message
    assert "本工作簿中的工作表（不含工具生成的）有：“问题清单”、“任务清单”、“责任清单”、“县区”、“参数”" in missing.message


# ----------------------------------------------------------------------------- 4./5. a required column missing


def test_renamed_state_column_is_reported_once_without_follow_on_errors(demo_file):
    result = edited(demo_file, lambda wb: wb["任务清单"].__setitem__("J2", "完成进度"))
    assert flat(result) == [["任务清单", 2, None, "missing-column", "error"]]
    assert result.report.issues[0].message == (
        "工作表“任务清单”第2行（表头）缺少“完成情况”列（也可用：整改状态、完成状态、状态）。"
        "表头中的“完成进度”（J列）如果就是该列，请把表头改为“完成情况”；在此之前，依赖该列的逐行检查不进行"
    )
    assert result.ledger.layout.missing_columns == {"任务清单": ["state"]}


def test_deleted_state_column_blocks_the_computed_columns(demo_file):
    result = edited(demo_file, lambda wb: wb["任务清单"].delete_cols(10))
    assert result.report.codes() == ["missing-column"]
    blocked = computed_columns_blocked(result.ledger)
    assert [(i.code, i.severity, i.location.sheet, i.location.row) for i in blocked] == [
        ("computed-columns-blocked", "warning", "任务清单", 2)]
    assert blocked[0].message == "任务清单缺少必需列“完成情况”，本次只写入校验结果，未写入整改状态和统计；补上该列后重新运行即可写入"


def test_computed_columns_are_not_blocked_on_a_complete_ledger(demo_file):
    result = check_file(demo_file, today=DEMO_AS_OF)
    assert computed_columns_blocked(result.ledger) == []


def test_missing_task_sheet_blocks_the_computed_columns(demo_file):
    result = edited(demo_file, lambda wb: setattr(wb["任务清单"], "title", "任务表"))
    assert [i.message for i in computed_columns_blocked(result.ledger)] == [
        "缺少工作表“任务清单”，本次只写入校验结果，未写入整改状态和统计；补上该工作表后重新运行即可写入"]


def test_missing_problem_id_in_tasks_gives_no_problem_without_tasks_errors(demo_file):
    result = edited(demo_file, lambda wb: wb["任务清单"].__setitem__("B2", "问题号"))
    assert result.report.codes() == ["missing-column"]
    assert "表头中的“问题号”（B列）如果就是该列" in result.report.issues[0].message


def test_missing_problem_id_in_problems_gives_no_unknown_problem_errors(demo_file):
    result = edited(demo_file, lambda wb: wb["问题清单"].__setitem__("A2", "问题号"))
    assert flat(result) == [["问题清单", 2, None, "missing-column", "error"]]
    assert computed_columns_blocked(result.ledger)[0].message.startswith("问题清单缺少必需列“问题编号”")


def test_header_not_found_counts_as_every_required_column_missing(small_tables):
    tables = small_tables(**{"任务清单": [["巡察整改任务清单"], ["甲", "乙"], task_row("1-1", 1)]})
    result = check_tables(tables, today=TODAY)
    assert ["任务清单", 1, "A", "missing-header"] in result.report.flatten()
    assert result.ledger.layout.missing_columns["任务清单"] == ["id", "problem_id", "measure", "unit", "deadline", "state"]
    assert "problem-without-tasks" not in result.report.codes()
    assert computed_columns_blocked(result.ledger)


def test_missing_completion_date_column_warns_once_instead_of_per_done_task(demo_file):
    result = edited(demo_file, lambda wb: wb["任务清单"].__setitem__("K2", "完成日"))
    assert flat(result) == [["任务清单", 2, None, "missing-optional-column", "warning"]]
    assert result.report.issues[0].message.startswith("任务清单没有“完成日期”列（也可用：完成时间、实际完成日期），35 项已完成的措施")
    assert computed_columns_blocked(result.ledger) == []  # optional: statuses are still written


# ----------------------------------------------------------------------------- 5b. check_only_plan


def test_check_only_plan_keeps_the_check_sheet_and_check_columns_only(demo_file):
    def edit(wb):
        wb["任务清单"]["J2"] = "完成进度"
        wb["任务清单"]["C5"] = None  # one row error: measure missing

    result = edited(demo_file, edit)
    plan = check_only_plan(result.plan, result.ledger)
    assert [sp.sheet for sp in plan.sheets] == ["任务清单", "问题清单", "校验结果"]
    tasks = plan.sheet("任务清单")
    assert tasks.owned_columns == ("S",) and {c.column for c in tasks.cells} == {"S"}
    assert (5, "S") in {(c.row, c.column) for c in tasks.cells if c.value}
    assert plan.sheet("问题清单").owned_columns == ("I",)
    assert plan.sheet("校验结果") is result.plan.sheet("校验结果")


def test_check_only_plan_written_leaves_the_status_columns_as_they_were(demo_file):
    from toolkit.excel.safe_write import write_safely

    before = openpyxl.load_workbook(demo_file)["任务清单"]
    statuses = [before.cell(r, 16).value for r in range(3, 53)]
    assert set(statuses) - {None}  # the builder wrote statuses
    result = edited(demo_file, lambda wb: wb["任务清单"].delete_cols(10))  # 完成情况 deleted: P→O … S→R
    write_safely(demo_file, check_only_plan(result.plan, result.ledger), backup_dir=demo_file.parent / "备份")
    wb = openpyxl.load_workbook(demo_file)
    assert [wb["任务清单"].cell(r, 15).value for r in range(3, 53)] == statuses  # 【自动】状态, now column O
    check = [[c.value for c in row] for row in wb["校验结果"].iter_rows(min_row=3)]
    assert [r[6] for r in check] == ["missing-column"]


def test_check_only_plan_keeps_a_check_column_the_plan_adds(small_tables):
    result = check_tables(small_tables([task_row("1-1", 1, unit=""), task_row("2-1", 2)]), today=TODAY)
    plan = check_only_plan(result.plan, result.ledger)
    tasks = plan.sheet("任务清单")
    letter = S.column_letter(len(TASK_HEADER) + 3)  # 状态, 逾期天数, 距到期 come first in the free columns
    assert tasks.owned_columns == (letter,)
    assert (1, letter, "【自动】校验") in {(c.row, c.column, c.value) for c in tasks.cells}
    assert plan.sheet("统计") is None


# ----------------------------------------------------------------------------- 6. other guesses made explicit


def test_header_row_chosen_among_two_candidates_is_named(small_tables):
    rows = [["任务编号", "问题编号"], TASK_HEADER, task_row("1-1", 1), task_row("2-1", 2)]
    result = check_tables(small_tables(**{"任务清单": rows}), today=TODAY)
    assert result.report.flatten(["row", "column", "code", "severity"]) == [[2, "A", "header-ambiguous", "warning"]]
    assert result.report.issues[0].message.startswith("第1行也含有列名，本次以识别出列名更多的第2行为表头")
    assert len(result.ledger.tasks) == 2


def test_repeated_header_row_inside_the_table_is_skipped_with_a_warning(demo_file):
    def edit(wb):
        ws = wb["任务清单"]
        ws.insert_rows(20)
        for j in range(1, 16):
            ws.cell(20, j, ws.cell(2, j).value)

    result = edited(demo_file, edit)
    assert len(result.ledger.tasks) == DEMO_TASKS
    assert flat(result) == [["任务清单", 20, "A", "repeated-header", "warning"]]


def test_blank_rows_inside_the_table_are_skipped_silently_and_later_rows_count(demo_file):
    def edit(wb):
        wb["任务清单"].insert_rows(20, 3)

    result = edited(demo_file, edit)
    assert len(result.ledger.tasks) == DEMO_TASKS
    assert result.report.issues == []
    assert result.ledger.tasks[-1].row == 55


def test_headers_with_remarks_fullwidth_characters_and_line_breaks_are_recognised(demo_file):
    def edit(wb):
        ws = wb["任务清单"]
        ws["H2"] = "完成时限\n（年月日）"
        ws["J2"] = "＊完成情况（下拉选择）"
        ws["A2"] = "任务　编号"  # an ideographic space

    result = edited(demo_file, edit)
    assert result.report.issues == []
    assert result.ledger.layout.columns["任务清单"]["deadline"] == "H"
    assert result.ledger.layout.columns["任务清单"]["state"] == "J"


def test_missing_setting_is_located_where_it_is_to_be_added(small_tables):
    from conftest import SETTINGS_ROWS

    settings = [r for r in SETTINGS_ROWS if r[0] != "反馈日期"]
    report = check_tables(small_tables(**{"基本信息": settings}), today=TODAY).report
    assert report.flatten() == [["基本信息", len(settings) + 1, "A", "setting-missing"]]


# ----------------------------------------------------------------------------- never raise


CELLS = st.one_of(
    st.none(),
    st.sampled_from([*TASK_HEADER, "问题方面", "问题标题", "姓名", "县区名称", "部分", "注：见附件", "制表人：张三", "说明：",
                     "已完成", "长期坚持", "2024年6月底", "2024-02-30", "", "  ", "【自动】校验", "一", "三"]),
    st.text(string.digits + "-．１注：", max_size=5),
    st.integers(-5, 100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(date(1900, 1, 1), date(2100, 1, 1)),
    st.booleans(),
    st.builds(CellError, st.sampled_from(["#REF!", "#N/A"])),
)
ROWS = st.lists(st.lists(CELLS, max_size=16), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks=ROWS, problems=ROWS, settings_rows=ROWS, first_row=st.integers(1, 4), first_col=st.integers(0, 3))
def test_intake_and_rules_never_raise_and_locate_every_issue(tasks, problems, settings_rows, first_row, first_col):
    tables = {name: Table(name, [list(r) for r in rows], first_row, first_col)
              for name, rows in (("任务清单", tasks), ("问题清单", problems), ("基本信息", settings_rows))}
    ledger, issues = load_ledger(tables, source="x.xlsx")
    issues += validate_ledger(ledger, today=TODAY)
    issues += computed_columns_blocked(ledger)
    for issue in issues:
        assert issue.location.sheet and issue.message and issue.code
        if issue.code != "missing-sheet" and issue.code != "computed-columns-blocked":
            assert issue.location.row, issue


def test_a_real_note_row_read_by_calamine_keeps_excel_coordinates(demo_file):
    edited(demo_file, lambda wb: wb["任务清单"].__setitem__("A60", "注：本表截至2025年4月7日"))
    table = read_workbook(demo_file)["任务清单"]
    ledger, issues = load_ledger(tables_from_rows({}) | {"任务清单": table}, source=demo_file.name)
    assert [(i.location.row, i.location.column, i.code) for i in issues if i.location.sheet == "任务清单"] == [
        (60, "A", "table-note")]


_ROW_KINDS = st.sampled_from(["task", "short", "blank", "note", "total", "header", "text"])


@settings(derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(_ROW_KINDS, max_size=12), drop=st.sampled_from([None, "延期时限", "佐证材料", "完成日期"]))
def test_records_as_tuples_equal_records_as_dicts(small_tables, kinds, drop):
    """_Sheet.values (tuples, used for problems and tasks) reads the same rows, values and warnings as _Sheet.rows."""
    from toolkit.core.intake import TASK_FIELDS, Ledger, _open_sheet, task_values

    rows = []
    for n, kind in enumerate(kinds):
        rows.append({
            "task": task_row(f"{n}-1", 1, extended=date(2024, 9, 30) if n % 2 else None),
            "short": [f"{n}-2", 1, "加强学习。"],  # a ragged row: the cells right of it are absent
            "blank": [],
            "note": ["注：以上为示例"],
            "total": ["合计", None, "3项"],
            "header": list(TASK_HEADER),
            "text": ["另有说明"],
        }[kind])
    header = [h for h in TASK_HEADER if h != drop]
    keep = [j for j, h in enumerate(TASK_HEADER) if h != drop]
    body = [[r[j] for j in keep if j < len(r)] for r in rows]
    tables = small_tables(body)
    tables["任务清单"].rows[0] = header

    def read(how):
        issues = []
        sheet = _open_sheet(Ledger(), tables, S.SHEET_TASKS, issues, required=True)
        got = ([(r, task_values(v)) for r, v in sheet.rows(issues)] if how == "dict"
               else list(sheet.values(issues, TASK_FIELDS)))
        return got, [(i.code, i.location.row, i.location.column) for i in issues]

    assert read("tuple") == read("dict")


# ----------------------------------------------------------------------------- column-number rows


@pytest.mark.parametrize("numbers", [list(range(1, 15)), [str(n) for n in range(1, 15)], [1, 2, 3]])
def test_a_column_number_row_under_the_header_is_not_a_task(small_tables, numbers):
    rows = [numbers, task_row("1-1", 1), task_row("2-1", 2)]
    result = check_tables(small_tables(rows), today=TODAY)
    assert [t.id for t in result.ledger.tasks] == ["1-1", "2-1"]
    assert result.report.flatten() == [["任务清单", 2, "A", "column-numbers"]]


@pytest.mark.parametrize("numbers", [[1, 2], [1, 3, 4, 5], [2, 3, 4], [1, 2, "3a", 4], [1.5, 2, 3]])
def test_rows_that_do_not_number_the_columns_are_read_as_before(small_tables, numbers):
    rows = [numbers, task_row("1-1", 1)]
    result = check_tables(small_tables(rows), today=TODAY)
    assert "column-numbers" not in {i.code for i in result.report.issues}
    assert len(result.ledger.tasks) == 2


def test_column_numbers_further_down_are_data(small_tables):
    rows = [task_row("1-1", 1), list(range(1, 15))]
    result = check_tables(small_tables(rows), today=TODAY)
    assert "column-numbers" not in {i.code for i in result.report.issues}
    assert len(result.ledger.tasks) == 2
