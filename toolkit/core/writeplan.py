"""Checked ledger → :class:`~toolkit.core.plan.WritePlan`: the owned columns and sheets, as plain data.

Pure: the same plan is applied to a saved file by the patcher and to an open workbook by xlwings.
Nothing time-dependent other than ``today`` goes into it, so a second run with the same inputs
produces the same plan and changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, partial
from itertools import chain, repeat

from toolkit.core import schema as S
from toolkit.core.model import Ledger
from toolkit.core.plan import CellStyle, CellWrite, Formula, SheetPlan, WritePlan
from toolkit.core.report import Issue, Report
from toolkit.core.status import (
    DONE_LATE,
    LABELS,
    OVERDUE,
    PROBLEM_COLOURS,
    STATUS_COLOURS,
    Counts,
    LedgerStatus,
    due_in_text,
)

HEADER_STYLE = CellStyle(fill="D9D9D9", bold=True, align="center", wrap=True)
OWNED_HEADER_STYLE = CellStyle(fill="BFBFBF", bold=True, align="center", wrap=True)
TITLE_STYLE = CellStyle(bold=True)
ERROR_STYLE = CellStyle(fill="FFC7CE", font_color="9C0006")
WARNING_STYLE = CellStyle(fill="FFEB9C", font_color="9C5700")
PERCENT = CellStyle(num_format="0.0%")
DATE_STYLE = CellStyle(num_format="yyyy-mm-dd")


@dataclass(frozen=True)
class StatsLayout:
    """Blocks of the 统计 sheet; charts made at ``init`` point at the category and county blocks.

    Each block reserves its default number of rows (so the usual layout never moves) and grows
    when a ledger has more groups: every category, unit and county is listed, none cut off.
    """

    overall_header: int = 4  # rows 5 (措施) and 6 (问题)
    category_header: int = 8
    category_rows: int = 10
    unit_header: int = 20
    unit_rows: int = 40
    county_header: int = 62
    county_rows: int = 20
    overdue_header: int = 84

    def first(self, header: int) -> int:
        return header + 1


STATS = StatsLayout()


def stats_layout(n_categories: int, n_units: int, n_counties: int) -> StatsLayout:
    """The 统计 layout for this many groups: the default one while every block fits its reserve."""
    d = STATS
    cat_rows = max(d.category_rows, n_categories)
    unit_header = d.category_header + cat_rows + 2
    unit_rows = max(d.unit_rows, n_units)
    county_header = unit_header + unit_rows + 2
    county_rows = max(d.county_rows, n_counties)
    return StatsLayout(d.overall_header, d.category_header, cat_rows, unit_header, unit_rows, county_header,
                       county_rows, county_header + county_rows + 2)


STATS_COLUMNS = ("名称", "措施总数", "已完成", "其中逾期完成", "其中已销号", "正在推进", "其中临期", "其中逾期",
                 "长期坚持", "完成率", "其中时限待核")
MONTHLY_COLUMNS = ("月份", "截止日期", "措施总数", "已完成", "正在推进", "其中逾期", "长期坚持", "完成率")
CHECK_COLUMNS = ("序号", "级别", "工作表", "单元格", "字段", "问题及修改方法", "代码")
@cache
def status_style(code: str) -> CellStyle:
    fill, font = STATUS_COLOURS[code]
    return CellStyle(fill=fill, font_color=font, align="center")


def _owned_letters(ledger: Ledger, canonical: str, cells: list[CellWrite], *, skip: tuple[str, ...] = (),
                   free: int | None = None) -> dict[str, str]:
    """Letter of every owned column of a staff sheet; missing ones get a header in the next free column.

    ``skip``: owned keys not written (a one-sheet ledger's problem columns leave 校验 to the task columns);
    ``free``: the first free column when another plan of the same sheet already took some.
    """
    header_row = ledger.layout.header_rows[canonical]
    letters: dict[str, str] = {}
    if free is None:
        free = ledger.layout.next_free_column.get(canonical, 0)
    existing = ledger.layout.columns.get(canonical, {})
    for col in S.SHEET_OWNED[canonical]:
        if col.key in skip:
            continue
        letter = existing.get("owned:" + col.key)
        if letter is None:
            letter = S.column_letter(free)
            free += 1
        letters[col.key] = letter
        cells.append(CellWrite(header_row, letter, col.header, OWNED_HEADER_STYLE))
    return letters


def _issues_by_row(report: Report, sheet: str) -> dict[int, list[Issue]]:
    by_row: dict[int, list[Issue]] = defaultdict(list)
    for issue in report.issues:
        if issue.location.sheet == sheet and issue.location.row:
            by_row[issue.location.row].append(issue)
    return by_row


def _check_cell(row: int, letter: str, issues: list[Issue]) -> CellWrite:
    """The 【自动】校验 cell of one row: its issues as text, red for errors, yellow for warnings."""
    if not issues:  # most rows: an empty cell, no style
        return CellWrite(row, letter, None, None)
    style = ERROR_STYLE if any(i.is_error for i in issues) else WARNING_STYLE if issues else None
    return CellWrite(row, letter, _issue_text(issues) or None, style)


def _issue_text(issues: Iterable[Issue]) -> str:
    return "；".join(f"{i.location.column or ''}{'错误' if i.is_error else '警告'}：{i.message}" for i in issues)


def plan_task_sheet(ledger: Ledger, status: LedgerStatus, report: Report) -> SheetPlan | None:
    if S.SHEET_TASKS not in ledger.layout.header_rows:
        return None
    cells: list[CellWrite] = []
    letters = _owned_letters(ledger, S.SHEET_TASKS, cells)
    sheet = ledger.layout.sheet(S.SHEET_TASKS)
    by_row = _issues_by_row(report, sheet)
    status_col, overdue_col, due_col, check_col = (letters["status"], letters["days_overdue"], letters["due_in"],
                                                   letters["check"])
    # Every row gets its own status, repeated ids included (their check cell says so). Four cells per row in
    # this order: status, days overdue, due in, check; built column by column, then interleaved.
    rows = [t.row for t in ledger.tasks]
    sts = status.rows
    styles = {code: status_style(code) for code in {st.code for st in sts}}
    status_cells = map(_cell, zip(rows, repeat(status_col), [st.label for st in sts], [styles[st.code] for st in sts]))
    late_codes = (OVERDUE, DONE_LATE)
    overdue = [(st.days_overdue or None) if st.code in late_codes else None for st in sts]
    overdue_cells = map(_cell, zip(rows, repeat(overdue_col), overdue, repeat(None)))
    due_cells = map(_cell, zip(rows, repeat(due_col), map(due_in_text, sts), repeat(None)))
    check_cells = [_check_cell(row, check_col, issues) if (issues := by_row.get(row)) else _cell((row, check_col, None, None))
                   for row in rows]
    cells.extend(chain.from_iterable(zip(status_cells, overdue_cells, due_cells, check_cells)))
    first = ledger.layout.header_rows[S.SHEET_TASKS] + 1
    return SheetPlan(sheet, cells, owned_columns=tuple(letters.values()), clear_from_row=first)


def plan_problem_sheet(ledger: Ledger, status: LedgerStatus, report: Report) -> SheetPlan | None:
    if S.SHEET_PROBLEMS not in ledger.layout.header_rows:
        return None
    cells: list[CellWrite] = []
    letters = _owned_letters(ledger, S.SHEET_PROBLEMS, cells)
    sheet = ledger.layout.sheet(S.SHEET_PROBLEMS)
    by_row = _issues_by_row(report, sheet)
    _problem_cells(ledger, status, letters, cells)
    for p in ledger.problems:
        cells.append(_check_cell(p.row, letters["check"], by_row.get(p.row, [])))
    first = ledger.layout.header_rows[S.SHEET_PROBLEMS] + 1
    return SheetPlan(sheet, cells, owned_columns=tuple(letters.values()), clear_from_row=first)


@cache
def problem_style(code: str) -> CellStyle:
    fill, font = PROBLEM_COLOURS[code]
    return CellStyle(fill=fill, font_color=font, align="center")


CENTERED = CellStyle(align="center")

# CellWrite without its Python-level __new__ (a named tuple's): the same tuple, for the loops over every row.
_cell = partial(tuple.__new__, CellWrite)


def _problem_cells(ledger: Ledger, status: LedgerStatus, letters: dict[str, str], cells: list[CellWrite]) -> None:
    status_col, progress_col = letters["status"], letters["progress"]
    append = cells.append
    for p, ps in zip(ledger.problems, status.problem_rows):
        append(_cell((p.row, status_col, ps.label, problem_style(ps.code))))
        append(_cell((p.row, progress_col, f"{ps.done_tasks}/{ps.total_tasks}", CENTERED)))


def plan_one_sheet(ledger: Ledger, status: LedgerStatus, report: Report) -> SheetPlan | None:
    """A one-sheet ledger's owned columns: the task columns on every measure row, then 【自动】整改状态 and
    【自动】措施完成 on each problem's first row (one plan: the sheet is both 问题清单 and 任务清单)."""
    plan = plan_task_sheet(ledger, status, report)
    if plan is None:
        return None
    layout = ledger.layout
    taken = [S.column_index(c) for c in plan.owned_columns]
    free = max([layout.next_free_column.get(S.SHEET_TASKS, 0), *(j + 1 for j in taken)])
    letters = _owned_letters(ledger, S.SHEET_PROBLEMS, plan.cells, skip=("check",), free=free)
    _problem_cells(ledger, status, letters, plan.cells)
    plan.owned_columns = (*plan.owned_columns, *letters.values())
    return plan


def _sheet_link(sheet: str, cell: str) -> str:
    return f"#'{sheet}'!{cell}"


def plan_check_sheet(ledger: Ledger, report: Report, *, today) -> SheetPlan:
    cells: list[CellWrite] = []
    n_err, n_warn = len(report.errors), len(report.warnings)
    title = f"校验结果（截至{today.isoformat()}）：错误{n_err}条，警告{n_warn}条" if report.issues else \
        f"校验结果（截至{today.isoformat()}）：未发现问题"
    cells.append(CellWrite(1, "A", title, TITLE_STYLE))
    for j, h in enumerate(CHECK_COLUMNS):
        cells.append(CellWrite(2, S.column_letter(j), h, HEADER_STYLE))
    for n, issue in enumerate(report.sorted(), start=1):
        r = n + 2
        loc = issue.location
        style = ERROR_STYLE if issue.is_error else WARNING_STYLE
        cells.append(CellWrite(r, "A", n))
        cells.append(CellWrite(r, "B", "错误" if issue.is_error else "警告", style))
        cells.append(CellWrite(r, "C", loc.sheet or None))
        if loc.sheet and loc.row and loc.column:
            ref = f"{loc.column}{loc.row}"
            target = _sheet_link(loc.sheet, ref).replace('"', '""')
            cells.append(CellWrite(r, "D", Formula(f'HYPERLINK("{target}","{ref}")', ref),
                                   CellStyle(font_color="0563C1")))
        else:
            cells.append(CellWrite(r, "D", loc.cell or None))
        cells.append(CellWrite(r, "E", loc.field or None))
        cells.append(CellWrite(r, "F", issue.message, CellStyle(wrap=True)))
        cells.append(CellWrite(r, "G", issue.code))
    widths = {"A": 6, "B": 6, "C": 10, "D": 8, "E": 12, "F": 80, "G": 22}
    return SheetPlan(S.SHEET_CHECK, cells, owned_sheet=True, clear_from_row=1, column_widths=widths)


def _counts_row(row: int, name: str, c: Counts, basic: bool = False) -> list[CellWrite]:
    values = (name, c.total, c.done, c.done_late, c.signed_off, c.open, c.due_soon, c.overdue, c.long_term)
    out = [CellWrite(row, S.column_letter(j), v) for j, v in enumerate(values)]
    out.append(CellWrite(row, "J", c.rate, PERCENT))
    out.append(CellWrite(row, "K", c.unclear))  # after 完成率: the charts made at init read A–J
    if basic:  # 基本完成 (only in ledgers that use it: the charts sit right of K)
        out.append(CellWrite(row, "L", c.basic_done))
    return out


def _block(cells: list[CellWrite], header: int, title: str, rows: list[tuple[str, Counts]], first_col: str = "名称",
           basic: bool = False):
    cells.append(CellWrite(header - 1, "A", title, TITLE_STYLE)) if header > 1 else None
    for j, h in enumerate((first_col, *STATS_COLUMNS[1:], *(("基本完成",) if basic else ()))):
        cells.append(CellWrite(header, S.column_letter(j), h, HEADER_STYLE))
    for i, (name, counts) in enumerate(rows):
        cells.extend(_counts_row(header + 1 + i, name, counts, basic))


def plan_stats_sheet(ledger: Ledger, status: LedgerStatus, *, today) -> SheetPlan:
    cells: list[CellWrite] = []
    st = status.stats
    rule = ledger.settings.long_term_rule
    cells.append(CellWrite(1, "A", f"{ledger.settings.unit_name or '巡察'}整改进展统计", CellStyle(bold=True)))
    basic = st.overall.basic_done > 0  # 基本完成 used: its own column and its rule in the caption
    basic_note = f"，基本完成{ledger.settings.basic_done_rule}（L列）" if basic else ""
    cells.append(CellWrite(2, "A", f"统计截止：{today.isoformat()}；完成率口径：已完成÷总数，长期坚持{rule}{basic_note}"))
    cells.append(CellWrite(2, "L", "右侧图表随每次“更新状态”自动刷新", CellStyle(font_color="7F7F7F")))
    layout = stats_layout_for(ledger, status)
    _block(cells, layout.overall_header, "总体情况", [("整改措施", st.overall), ("反馈问题", st.problems_overall)],
           "项目", basic)
    _block(cells, layout.category_header, "按问题方面", list(st.by_category.items()), "问题方面", basic)
    units = sorted(st.by_unit.items(), key=lambda kv: (-kv[1].total, kv[0]))
    _block(cells, layout.unit_header, "按责任单位", units, "责任单位", basic)
    _block(cells, layout.county_header, "按县（市、区）", list(st.by_county.items()), "县（市、区）", basic)
    header = layout.overdue_header
    cells.append(CellWrite(header - 1, "A", f"逾期任务清单（{len(st.overdue)}项）", TITLE_STYLE))
    for j, h in enumerate(("任务编号", "问题编号", "整改措施", "责任单位", "责任人", "时限", "逾期天数")):
        cells.append(CellWrite(header, S.column_letter(j), h, HEADER_STYLE))
    for i, key in enumerate(st.overdue):
        t, ts = status.task_by_key[key], status.tasks[key]
        r = header + 1 + i
        for j, v in enumerate((t.id, t.problem_id, t.measure, t.unit, t.person, ts.deadline, ts.days_overdue)):
            style = DATE_STYLE if j == 5 else status_style(OVERDUE) if j == 6 else None
            cells.append(CellWrite(r, S.column_letter(j), v, style))
    widths = {"A": 34, **{S.column_letter(j): 10 for j in range(1, 11)}, "C": 30}
    return SheetPlan(S.SHEET_STATS, cells, owned_sheet=True, clear_from_row=1, column_widths=widths)


def stats_layout_for(ledger: Ledger, status: LedgerStatus | None = None) -> StatsLayout:
    """The 统计 layout of this ledger (its categories, units and counties)."""
    if status is not None:
        st = status.stats
        return stats_layout(len(st.by_category), len(st.by_unit), len(st.by_county))
    known = {p.id for p in ledger.problems}
    unlinked = any(t.problem_id not in known for t in ledger.tasks)
    units = {t.unit for t in ledger.tasks}
    return stats_layout(len(ledger.categories()) + unlinked, len(units), len(ledger.county_names()))


def build_write_plan(ledger: Ledger, status: LedgerStatus, report: Report, *, today) -> WritePlan:
    """Everything the toolkit writes back after a check+status run."""
    staff = [plan_one_sheet(ledger, status, report)] if ledger.layout.one_sheet else [
        plan_task_sheet(ledger, status, report), plan_problem_sheet(ledger, status, report)]
    sheets = [
        *staff,
        plan_check_sheet(ledger, report, today=today),
        plan_stats_sheet(ledger, status, today=today),
    ]
    return WritePlan([s for s in sheets if s is not None])


__all__ = ["build_write_plan", "STATS", "STATS_COLUMNS", "stats_layout", "stats_layout_for", "MONTHLY_COLUMNS",
           "CHECK_COLUMNS", "LABELS"]
