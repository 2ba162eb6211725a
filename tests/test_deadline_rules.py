"""Deadlines and statuses: one regression test per fixed wrong figure (docs/rules/deadlines-and-statuses.md)."""

from __future__ import annotations

import copy
import re
import zipfile
from datetime import date, datetime

import openpyxl
import pytest
from conftest import COUNTY_TODAY, TASK_HEADER, task_row
from typer.testing import CliRunner

from toolkit import jobs as api
from toolkit.cli import app
from toolkit.core.check import check_ledger, check_tables
from toolkit.core.dates import parse_staff_date
from toolkit.core.model import Deadline, Problem, Task
from toolkit.core.status import due_in_text
from toolkit.demo.ledger import DEMO_AS_OF, build_demo_ledger
from toolkit.notice.context import build_notice_context, build_reminder_contexts

_DEMO = build_demo_ledger()


def demo():
    return copy.deepcopy(_DEMO)


def owned_letter(result, sheet_key: str, header: str) -> str:
    """Letter of an owned (【自动】) column in the write plan of ``result``."""
    plan = result.plan.sheet(result.ledger.layout.sheet(sheet_key))
    header_row = result.ledger.layout.header_rows[sheet_key]
    return next(c.column for c in plan.cells if c.row == header_row and c.value == header)


def plan_value(result, sheet_key: str, header: str, row: int):
    grid = result.plan.as_grid()[result.ledger.layout.sheet(sheet_key)]
    return grid.get((row, owned_letter(result, sheet_key, header)), (None, None))[0]


def stats_rows(result) -> dict[str, list]:
    """统计 sheet plan → {name in column A: [values B…K]} (later blocks win on equal names)."""
    grid = result.plan.as_grid()["统计"]
    rows: dict[int, dict[str, object]] = {}
    for (r, col), (v, _) in grid.items():
        rows.setdefault(r, {})[col] = v
    return {cells["A"]: [cells.get(c) for c in "BCDEFGHIJK"] for r, cells in sorted(rows.items())
            if isinstance(cells.get("A"), str) and "B" in cells and not isinstance(cells.get("B"), str)}


def by_code(result, code: str) -> list:
    return [i for i in result.report.issues if i.code == code]


# --- 1. repeated task ids ---------------------------------------------------------------------


def test_duplicate_task_id_rows_each_get_their_own_status_and_are_counted(small_tables):
    tables = small_tables([
        task_row("1-1", 1, deadline=date(2024, 6, 30), state="推进中"),
        task_row("1-1", 2, deadline=date(2024, 6, 30), state="已完成", done=date(2024, 6, 1), evidence="纪要"),
    ])
    result = check_tables(tables, today=date(2024, 7, 10))
    first, second = result.ledger.tasks
    assert (result.status.of(first).label, result.status.of(second).label) == ("逾期", "按期完成")
    o = result.status.stats.overall
    assert (o.total, o.done, o.overdue) == (2, 1, 1)
    assert [(ps.problem_id, ps.label) for ps in result.status.problem_rows] == [("1", "逾期"), ("2", "已完成")]
    assert [i.location.cell for i in by_code(result, "duplicate-id")] == ["A3"]  # still an error at the cell
    assert plan_value(result, "任务清单", "【自动】状态", 2) == "逾期"
    assert plan_value(result, "任务清单", "【自动】状态", 3) == "按期完成"


def test_duplicate_task_id_in_a_workbook_file_writes_both_statuses(tmp_path):
    path = tmp_path / "台账.xlsx"
    api.new_ledger_workbook(path, demo(), today=DEMO_AS_OF)
    wb = openpyxl.load_workbook(path)
    ws = wb["任务清单"]
    header = next(r for r in range(1, 6) if ws.cell(r, 1).value == "任务编号")
    cols = {ws.cell(header, c).value: c for c in range(1, ws.max_column + 1)}
    rows = {ws.cell(r, 1).value: r for r in range(header + 1, ws.max_row + 1)}
    # 7-1 is overdue on the demo date; give the done task 1-1's row the id 7-1 as well.
    ws.cell(rows["1-1"], cols["任务编号"]).value = "7-1"
    wb.save(path)
    own = next(s.label for t, s in zip(_DEMO.tasks, check_ledger(demo(), today=DEMO_AS_OF).status.rows) if t.id == "1-1")
    assert own != "逾期"
    result, _ = api.update_status_file(path, today=DEMO_AS_OF)
    ws = openpyxl.load_workbook(path)["任务清单"]
    status_col = next(c for c in range(1, ws.max_column + 1) if ws.cell(header, c).value == "【自动】状态")
    assert ws.cell(rows["7-1"], status_col).value == "逾期"
    assert ws.cell(rows["1-1"], status_col).value == own  # its own status, not 7-1's
    before = check_ledger(demo(), today=DEMO_AS_OF).status.stats.overall
    after = result.status.stats.overall
    assert (after.total, after.overdue, after.long_term + after.done) == (50, before.overdue, before.long_term + before.done)
    assert "duplicate-id" in result.report.codes()


# --- 2. one days-left rule --------------------------------------------------------------------


def test_saturday_deadline_on_friday_is_one_day_left_everywhere(small_tables, tmp_path):
    friday, saturday = date(2025, 4, 11), date(2025, 4, 12)
    result = check_tables(small_tables([task_row("1-1", 1, deadline=saturday), task_row("2-1", 2)]), today=friday)
    st = result.status.of(result.ledger.tasks[0])
    assert (st.label, st.days_left, st.working_days_left) == ("临期", 1, 0)
    assert due_in_text(st) == "剩1天"
    assert plan_value(result, "任务清单", "【自动】距到期", 2) == "剩1天"  # was 今天到期
    [ctx] = [c for c in build_reminder_contexts(result.ledger, result.status, today=friday) if c.unit == "办公室"]
    assert next(r.status for r in ctx.rows if r.id == "1-1") == "临期（剩1天）"
    # The CLI renders the same text.
    ledger = demo()
    ledger.tasks[0].state, ledger.tasks[0].completed_on, ledger.tasks[0].signed_off_on = "推进中", None, None
    ledger.tasks[0].deadline = Deadline(saturday)
    path = tmp_path / "台账.xlsx"
    api.new_ledger_workbook(path, ledger, today=friday)
    out = CliRunner().invoke(app, ["status", str(path), "--today", friday.isoformat(), "--dry-run"],
                             env={"COLUMNS": "240"}).stdout
    line = next(x for x in out.splitlines() if "2025-04-12" in x)
    assert "│ 剩1天 " in line and "今天到期" not in line


def test_due_today_and_overdue_texts():
    task = Task("1", "1", "m", deadline=Deadline(date(2025, 4, 7)), state="推进中")
    from toolkit.core.model import Settings
    from toolkit.core.status import task_status

    s = Settings(warning_days=3, working_days=True)
    assert due_in_text(task_status(task, today=date(2025, 4, 7), settings=s)) == "今天到期"
    assert due_in_text(task_status(task, today=date(2025, 4, 9), settings=s)) == "已逾期2天"


# --- 3. year-less dates -----------------------------------------------------------------------


def test_yearless_deadline_gets_its_year_from_the_feedback_date_with_a_warning(small_tables):
    tables = small_tables([task_row("1-1", 1, deadline="12月底"), task_row("2-1", 2, deadline="6月底")])
    result = check_tables(tables, today=date(2025, 4, 7))
    assert [t.deadline.on for t in result.ledger.tasks] == [date(2024, 12, 31), date(2024, 6, 30)]
    assumed = by_code(result, "date-assumed")
    assert [(i.location.cell, i.severity) for i in assumed] == [("H2", "warning"), ("H3", "warning")]
    assert assumed[1].message == "完成时限：“6月底”未写年份，按2024年6月30日计算；请写明年份"


def test_yearless_date_without_feedback_date_uses_the_as_of_year_never_the_clock(small_tables):
    from conftest import SETTINGS_ROWS

    settings = [r for r in SETTINGS_ROWS if r[0] != "反馈日期"] + [["统计截止日期", date(2031, 3, 1)]]
    tables = small_tables([task_row("1-1", 1, deadline="6月底"), task_row("2-1", 2)], 基本信息=settings)
    result = check_tables(tables)
    assert result.ledger.tasks[0].deadline.on == date(2031, 6, 30)
    settings = [r for r in SETTINGS_ROWS if r[0] != "反馈日期"]
    result = check_tables(small_tables([task_row("1-1", 1, deadline="6月底"), task_row("2-1", 2)],
                                       基本信息=settings), today=date(2025, 1, 1))
    [bad] = [i for i in by_code(result, "bad-date") if i.location.cell == "H2"]
    assert "补上年份" in bad.message


def test_yearless_completion_date_reads_the_same_in_ledger_and_county_return(issued, tmp_path):
    from toolkit.counties.consolidate import consolidate_folder
    from toolkit.demo.counties import fill_return, stamp_saved_time

    master, templates = issued
    ledger = demo()
    assert parse_staff_date("5月20日", reference=ledger.settings.feedback_date).on == date(2024, 5, 20)
    inbox = tmp_path / "收件"
    inbox.mkdir()
    m = tmp_path / "台账.xlsx"
    m.write_bytes(master.read_bytes())
    dest = inbox / "连州市报送.xlsx"
    fill_return(templates["连州市"], dest, {"1-3": {"state": "已完成", "completed_on": "5月20日", "evidence": "纪要"}},
                filler=("张三", "0763-1234567"), today=COUNTY_TODAY)
    stamp_saved_time(dest, datetime(2025, 4, 4, 10, 0))
    [f] = consolidate_folder(m, inbox, report_dir=tmp_path / "报告", today=COUNTY_TODAY,
                             now=datetime(2025, 4, 7, 10, 0), dry_run=True).files
    [change] = [c for c in f.changes if c.key == "completed_on"]
    assert change.value == date(2024, 5, 20)  # the ledger's rule (反馈日期), not the return period's
    [warn] = [i for i in f.issues if i.code == "date-assumed"]
    assert warn.message == "完成日期：“5月20日”未写年份，按2024年5月20日计算；请写明年份"
    assert warn.severity == "warning" and warn.location.column is not None


# --- 4. "前" ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2024年6月前", "6月前"])
def test_before_a_month_means_the_last_day_of_the_month_before_with_or_without_year(text):
    parsed = parse_staff_date(text, reference=date(2024, 4, 2), allow_words=True)
    assert parsed.on == date(2024, 5, 31)
    assert "（6月1日之前）" in parsed.note and "如指6月底，请写“2024年6月底”" in parsed.note


def test_before_january_without_year_is_the_end_of_the_year_before():
    parsed = parse_staff_date("1月前", reference=date(2024, 4, 2), allow_words=True)
    assert parsed.on == date(2024, 12, 31)
    assert parsed.note.endswith("如指1月底，请写“2025年1月底”")


# --- 5. unreadable deadline → 时限待核 ----------------------------------------------------------


@pytest.mark.parametrize("deadline", ["尽快", "45473", None])
def test_unreadable_deadline_is_deadline_unclear_not_on_track(small_tables, deadline):
    result = check_tables(small_tables([task_row("1-1", 1, deadline=deadline), task_row("2-1", 2)]),
                          today=date(2024, 5, 1))
    st = result.status.of(result.ledger.tasks[0])
    assert (st.code, st.label) == ("deadline_unclear", "时限待核")
    o = result.status.stats.overall
    assert (o.total, o.open, o.on_track, o.unclear) == (2, 2, 1, 1) and o.parts_add_up()
    assert [(ps.problem_id, ps.label) for ps in result.status.problem_rows] == [("1", "时限待核"), ("2", "正在整改")]
    assert stats_rows(result)["整改措施"][-1] == 1 and stats_rows(result)["反馈问题"][-1] == 1
    assert plan_value(result, "任务清单", "【自动】状态", 2) == "时限待核"
    assert result.status.stats.unclear == ["1-1"]
    [ctx] = build_reminder_contexts(result.ledger, result.status, today=date(2024, 5, 1))
    assert (ctx.unit, [r.status for r in ctx.rows]) == ("办公室", ["时限待核（请明确完成时限）"])
    assert "1项完成时限未明确" in ctx.variables["opening"]


def test_deadline_unclear_in_json_and_notice(small_tables, demo_ledger):
    demo_ledger.tasks[-1].deadline = Deadline(None, "invalid", "尽快")
    demo_ledger.tasks[-1].state = "推进中"
    result = check_ledger(demo_ledger, today=DEMO_AS_OF)
    from toolkit.cli.render import result_json

    payload = result_json(result)
    assert payload["stats"]["overall"]["unclear"] == 1
    assert payload["tasks"][-1]["status"] == "时限待核"
    ctx = build_notice_context(demo_ledger, result.status, today=DEMO_AS_OF)
    assert any("时限待核" in w for w in ctx.warnings)


# --- 6. 长期 on a task not started ----------------------------------------------------------------


def test_long_term_deadline_on_unstarted_task_is_not_long_term(small_tables):
    tables = small_tables([task_row("1-1", 1, deadline="长期", state="未启动"),
                           task_row("2-1", 2, deadline="长期", state="推进中")])
    result = check_tables(tables, today=date(2024, 5, 1))
    a, b = (result.status.of(t) for t in result.ledger.tasks)
    assert (a.label, b.label) == ("按期推进", "长期坚持")
    o = result.status.stats.overall
    assert (o.long_term, o.open, o.done) == (1, 1, 0)
    [warn] = by_code(result, "long-term-not-started")
    assert (warn.location.cell, warn.severity) == ("H2", "warning")
    assert warn.message.startswith("完成时限为“长期”，但完成情况是“未启动”：尚未启动的措施不计为长期坚持")


# --- 7. problem labels and 统计 agree -------------------------------------------------------------


def test_problem_due_soon_is_counted_as_due_soon_in_stats(small_tables):
    result = check_tables(small_tables([task_row("1-1", 1, deadline=date(2024, 5, 6)),
                                        task_row("2-1", 2, deadline=date(2024, 9, 30))]), today=date(2024, 5, 1))
    assert plan_value(result, "问题清单", "【自动】整改状态", 2) == "临期"
    p = result.status.stats.problems_overall
    assert (p.open, p.due_soon, p.on_track) == (2, 1, 1)
    row = stats_rows(result)["反馈问题"]
    assert (row[4], row[5]) == (2, 1)  # 正在推进, 其中临期


# --- 8. 统计 lists everything; charts stay valid ------------------------------------------------------


def test_stats_lists_every_category_and_unit(demo_ledger, tmp_path):
    for n in range(12):
        demo_ledger.problems.append(Problem(f"C{n}", f"第{n}个方面", f"问题{n}"))
        for k in range(4):
            demo_ledger.tasks.append(Task(f"C{n}-{k}", f"C{n}", "措施。", unit=f"单位{n}-{k}",
                                          deadline=Deadline(date(2025, 9, 30)), state="推进中"))
    result = check_ledger(demo_ledger, today=DEMO_AS_OF)
    names = stats_rows(result)
    assert all(c in names for c in demo_ledger.categories())  # 16 categories, not 10
    assert all(t.unit in names for t in demo_ledger.tasks)  # 48 + demo units, not 40
    assert all(c.name in names for c in demo_ledger.counties)
    path = tmp_path / "大台账.xlsx"
    api.new_ledger_workbook(path, demo_ledger, today=DEMO_AS_OF)
    charts = _chart_ranges(path)
    ws = openpyxl.load_workbook(path)["统计"]
    cat_first, cat_last = charts[0]
    assert [ws[f"A{r}"].value for r in range(cat_first, cat_last + 1)] == demo_ledger.categories()
    county_first, county_last = charts[1]
    assert [ws[f"A{r}"].value for r in range(county_first, county_last + 1)] == [c.name for c in demo_ledger.counties]


def test_demo_charts_start_at_the_first_category(demo_file):
    (first, last), (cfirst, clast) = _chart_ranges(demo_file)[:2]
    ws = openpyxl.load_workbook(demo_file)["统计"]
    assert [ws[f"A{r}"].value for r in range(first, last + 1)] == _DEMO.categories()
    assert [ws[f"A{r}"].value for r in range(cfirst, clast + 1)] == [c.name for c in _DEMO.counties]


def _chart_ranges(path) -> list[tuple[int, int]]:
    """(first, last) rows of each chart's category range on 统计, in chart order."""
    out = []
    with zipfile.ZipFile(path) as z:
        for name in sorted(n for n in z.namelist() if re.match(r"xl/charts/chart\d+\.xml$", n)):
            xml = z.read(name).decode()
            m = re.search(r"<c:cat>.*?<c:f>'?统计'?!\$A\$(\d+):\$A\$(\d+)</c:f>", xml, re.S)
            if m:
                out.append((int(m.group(1)), int(m.group(2))))
    return out


# --- 9. implausible as-of dates and far deadlines ----------------------------------------------


@pytest.mark.parametrize("today", [date(1999, 1, 1), date(2099, 1, 1)])
def test_as_of_decades_away_is_an_error(demo_ledger, today):
    result = check_ledger(demo_ledger, today=today)
    [issue] = by_code(result, "as-of-implausible")
    assert issue.is_error and not result.valid
    assert issue.message.startswith(f"统计日期 {today.isoformat()} 与巡察反馈日期（2024-04-02）")


def test_as_of_near_the_round_is_accepted(demo_ledger):
    for today in (date(2024, 1, 1), DEMO_AS_OF, date(2027, 12, 31)):
        assert not by_code(check_ledger(demo_ledger, today=today), "as-of-implausible")


def test_as_of_from_settings_cell_is_located_there(small_tables):
    from conftest import SETTINGS_ROWS

    tables = small_tables(基本信息=[*SETTINGS_ROWS, ["统计截止日期", date(2099, 1, 1)]])
    [issue] = by_code(check_tables(tables), "as-of-implausible")
    assert (issue.location.sheet, issue.location.cell) == ("基本信息", f"B{len(SETTINGS_ROWS) + 1}")


def test_as_of_without_feedback_date_is_checked_against_the_deadlines(small_tables):
    from conftest import SETTINGS_ROWS

    settings = [r for r in SETTINGS_ROWS if r[0] != "反馈日期"]
    result = check_tables(small_tables(基本信息=settings), today=date(2099, 1, 1))
    assert "台账中的完成时限（2024-06-30至2024-06-30）" in by_code(result, "as-of-implausible")[0].message


def test_deadline_in_2099_is_a_warning_at_the_cell(small_tables):
    result = check_tables(small_tables([task_row("1-1", 1, deadline=date(2099, 6, 30)), task_row("2-1", 2)]),
                          today=date(2024, 5, 1))
    [far] = by_code(result, "deadline-far")
    assert (far.location.cell, far.severity) == ("H2", "warning")
    assert far.message.startswith("完成时限 2099-06-30 距反馈日期 2024-04-02 超过5年，请核对年份")
    assert not by_code(result, "as-of-implausible")


# --- 10. holiday calendar warning once per year ---------------------------------------------------


def test_holiday_calendar_warning_once_per_year_with_count(small_tables):
    from conftest import SETTINGS_ROWS

    settings = [[k, date(2027, 1, 5) if k == "反馈日期" else v] for k, v in SETTINGS_ROWS]
    tasks = [task_row("1-1", 1, deadline=date(2031, 3, 3)), task_row("1-2", 1, deadline=date(2031, 5, 5)),
             task_row("2-1", 2, deadline=date(2031, 6, 6)), task_row("2-2", 2, deadline=date(2032, 6, 6))]
    result = check_tables(small_tables(tasks, 基本信息=settings), today=date(2031, 3, 1))
    issues = by_code(result, "calendar-unknown-year")
    assert [(i.location.cell, i.message[:22]) for i in issues] == [
        ("H2", "节假日日历没有 2031 年的数据，3项措施"),
        ("H5", "节假日日历没有 2032 年的数据，1项措施"),
    ]
    assert TASK_HEADER[7] == "完成时限"
