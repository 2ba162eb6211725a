"""County templates: one new workbook per county holding only that county's tasks (XlsxWriter).

Read-only columns are grey and locked (sheet protection without a password: the point is to
prevent slips, and the fingerprint in the hidden metadata catches any edit that gets through);
editable columns are white, unlocked, text-formatted (so ``=...`` typed there stays text) with a
dropdown for 完成情况 and a date rule for 完成日期. Instructions in Chinese sit above the header.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import xlsxwriter

from toolkit.core import schema as S
from toolkit.core.check import resolve_today
from toolkit.core.errors import ToolkitError
from toolkit.core.intake import load_ledger
from toolkit.core.model import Ledger, Table, Task
from toolkit.counties.identity import ensure_ledger_id
from toolkit.counties.metadata import (
    COLUMNS,
    DATA_SHEET,
    DEFAULT_RETURN_DAYS,
    HEADERS,
    MASTER_FIELDS,
    META_SHEET,
    READONLY_COLUMNS,
    MetaRow,
    TemplateMeta,
    china_now,
    issued_hash,
    master_values,
    parse_period,
    period_end,
    period_label,
    previous_period,
    readonly_hashes,
    readonly_table_hash,
    readonly_values,
)
from toolkit.excel.build import set_list_printing
from toolkit.excel.ledger_file import read_ledger_tables

GREY = "#E7E6E6"
# Default folder (beside the ledger) of the issued templates; the consolidation skips it in an inbox.
TEMPLATE_DIR_NAME = "县区报送表-下发"
EDIT_HEADER = "#FFF2CC"


@dataclass
class CountyTasks:
    """The tasks of one county, in ledger order."""

    county: str
    tasks: list[Task]


def county_tasks(ledger: Ledger) -> list[CountyTasks]:
    """Tasks by county (the 县区 sheet's names, exact match on 责任单位), signed-off tasks left out.

    Signed-off tasks (已销号) are closed for good: counties no longer report on them.
    """
    out: dict[str, list[Task]] = {c.name: [] for c in ledger.counties if c.name}
    for t in ledger.tasks:
        if t.unit in out and t.signed_off_on is None:
            out[t.unit].append(t)
    return [CountyTasks(c, ts) for c, ts in out.items() if ts]


def template_name(period: str, county: str) -> str:
    """File name of a county's template, e.g. ``2025-03_英德市_整改进展报送表.xlsx``."""
    return f"{period}_{county}_整改进展报送表.xlsx"


def load_master(ledger_path: str | Path) -> Ledger:
    """Read the master ledger (trusted: the staff's own file) into the model."""
    return read_master(ledger_path)[0]


def read_master(ledger_path: str | Path) -> tuple[Ledger, dict[str, Table]]:
    """The master ledger's model and the tables it was read from."""
    path = Path(ledger_path)
    tables = read_ledger_tables(path)
    ledger, issues = load_ledger(tables, source=path.name)
    if S.SHEET_TASKS not in ledger.layout.header_rows:
        first = next((i.message for i in issues if i.code in ("missing-sheet", "missing-header")), "")
        raise ToolkitError(f"台账“{path.name}”中找不到可用的任务清单，无法处理县区报送：{first}")
    return ledger, tables


def default_return_deadline(day: date) -> date:
    """The 报回截止日期 when none is given: the as-of date plus :data:`DEFAULT_RETURN_DAYS` days."""
    return day + timedelta(days=DEFAULT_RETURN_DAYS)


def make_county_templates(
    ledger_path: str | Path,
    *,
    period: str | None = None,
    out_dir: str | Path,
    today: date | None = None,
    now: datetime | None = None,
    return_deadline: date | None = None,
    ledger_id: str | None = None,
) -> list[Path]:
    """Write one template workbook per county that has open tasks; returns the paths written.

    ``period`` ('2025-03') defaults to the month before the as-of date: ``today``, else
    基本信息's 统计截止日期, else the clock. The issue time is ``now``, else the as-of date at
    the current China time of day. ``return_deadline`` defaults to the as-of date plus
    :data:`DEFAULT_RETURN_DAYS` days (:func:`default_return_deadline`).

    Templates carry the ledger's 台账编号. A ledger without one gets it first, written into the
    file at ``ledger_path`` by :func:`~toolkit.counties.identity.ensure_ledger_id` (lossless, with
    a backup); a caller that stored the id itself (e.g. into the workbook open in Excel) passes
    ``ledger_id`` and nothing is written into the ledger. Existing template files of the same
    name are replaced (they are the center's own output). Raises
    :class:`~toolkit.core.errors.ToolkitError` for an unreadable or unwritable ledger or ambiguous
    task ids.
    """
    ledger, tables = read_master(ledger_path)
    day = resolve_today(ledger, today, clock_today=china_now().date())
    try:
        period = parse_period(period) if period else previous_period(day)
    except ValueError as exc:
        raise ToolkitError(str(exc)) from None
    if now is None:
        # The as-of date (explicit, or 统计截止日期) is also the issue date: a back-dated run tells
        # one story, and the server's clock and time zone play no part in it.
        now = datetime.combine(day, china_now().time())
    issued_at = now.replace(microsecond=0)
    deadline = return_deadline or default_return_deadline(day)
    groups = county_tasks(ledger)
    if not groups:
        raise ToolkitError(
            "台账中没有责任单位为县区的未销号任务，无需生成报送表：如需县区报送，请在任务清单的“责任单位”中填写县区名称"
            "（与“县区”工作表中的名称一致）。"
        )
    _refuse_ambiguous_ids(ledger, groups)
    if ledger_id is None:
        ledger_id, _ = ensure_ledger_id(ledger_path, tables)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problems = {p.id: p.title for p in ledger.problems}
    written: list[Path] = []
    for group in groups:
        path = out / template_name(period, group.county)
        meta = build_meta(
            ledger,
            group,
            period=period,
            issued_at=issued_at,
            deadline=deadline,
            ledger_name=Path(ledger_path).name,
            problems=problems,
            ledger_id=ledger_id,
        )
        tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.xlsx")
        try:
            write_template(tmp, ledger, group, meta, problems)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        written.append(path)
    return written


def _refuse_ambiguous_ids(ledger: Ledger, groups: list[CountyTasks]) -> None:
    seen: dict[str, int] = {}
    for t in ledger.tasks:
        seen[t.id] = seen.get(t.id, 0) + 1
    for g in groups:
        for t in g.tasks:
            if not t.id or seen[t.id] > 1:
                what = f"任务编号“{t.id}”重复" if t.id else "任务编号为空"
                raise ToolkitError(
                    f"任务清单第{t.row}行{what}（责任单位 {g.county}），县区报回后无法对应到台账：请先修正任务编号再生成报送表。"
                )


def build_meta(
    ledger: Ledger,
    group: CountyTasks,
    *,
    period: str,
    issued_at: datetime,
    deadline: date,
    ledger_name: str,
    problems: dict[str, str],
    ledger_id: str,
) -> TemplateMeta:
    """The metadata of one county's template: layout, per-row hashes and the fingerprint."""
    meta = TemplateMeta(
        county=group.county,
        period=period,
        ledger_id=ledger_id,
        issued_at=issued_at,
        return_deadline=deadline,
        ledger_name=ledger_name,
        unit_name=ledger.settings.unit_name,
        inspection_round=ledger.settings.inspection_round,
    )
    table: list[list[Any]] = []
    for i, t in enumerate(group.tasks):
        ro = readonly_values(t, problems.get(t.problem_id, ""))
        table.append([ro[c.key] for c in READONLY_COLUMNS])
        row_hash, cells = readonly_hashes(t.id, ro)
        mv = master_values(t)
        issued = ",".join(issued_hash(k, mv[k]) for k in MASTER_FIELDS)
        meta.rows.append(MetaRow(t.id, meta.first_row + i, row_hash, ",".join(cells), issued))
    meta.readonly_all = readonly_table_hash(table)
    meta.fingerprint = meta.compute_fingerprint()
    return meta


def _instructions(ledger: Ledger, meta: TemplateMeta) -> list[str]:
    center = ledger.settings.unit_short or ledger.settings.unit_name or "市里"
    dl = meta.return_deadline
    return [
        f"报送期：{period_label(meta.period)}（填写截至{period_end(meta.period).isoformat()}的整改进展）；"
        f"请于 {dl.year}年{dl.month}月{dl.day}日前 将本表报回{center}。",
        "灰色列（任务编号、问题、整改措施、完成时限、延期时限）为下发内容，已锁定，请勿修改。",
        "请填写白色列：完成情况（下拉选择 未启动/推进中/已完成/长期坚持）；完成日期（选“已完成”时必填，写实际完成日期，"
        "如 2025-03-15，不能晚于今天）；整改进展（本期做了什么、取得什么效果）；佐证材料（文件名、文号或存放位置）；填报人；联系电话。",
        "不要增加、删除或调换行的顺序，不要修改工作表名称；本表含隐藏的校验信息，请直接在本文件上填写，不要复制到新文件或自制表格。",
        "保存为 Excel 工作簿（.xlsx）报回：不要另存为 .xls/.et/.ods，不要加密码，不要启用宏；"
        "文件名可以修改。每期只报送一份，如需更正，请在已报送的表上修改后重新报送。",
    ]


def _lines(text: str, width: int) -> int:
    """Wrapped lines a text needs in a column of ``width`` characters (CJK characters count double)."""
    if not text:
        return 1
    per_line = max(width - 1, 4)
    total = 0
    for para in text.split("\n"):
        units = sum(2 if ord(ch) > 0x2E7F else 1 for ch in para)
        total += max(1, math.ceil(units / per_line))
    return total


def write_template(
    path: Path, ledger: Ledger, group: CountyTasks, meta: TemplateMeta, problems: dict[str, str]
) -> Path:
    """Write one county's template workbook (new file; never re-saves anything)."""
    wb = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1, "text_wrap": True}
    f_ro = wb.add_format({**base, "bg_color": GREY, "font_color": "#404040", "locked": True})
    f_ro_date = wb.add_format(
        {
            **base,
            "bg_color": GREY,
            "font_color": "#404040",
            "locked": True,
            "num_format": "yyyy-mm-dd",
            "align": "center",
        }
    )
    f_ed_text = wb.add_format({**base, "locked": False, "num_format": "@"})
    f_ed_state = wb.add_format({**base, "locked": False, "align": "center"})
    f_ed_date = wb.add_format({**base, "locked": False, "num_format": "yyyy-mm-dd", "align": "center"})
    f_head_ro = wb.add_format({**base, "bold": True, "align": "center", "bg_color": "#BFBFBF"})
    f_head_ed = wb.add_format({**base, "bold": True, "align": "center", "bg_color": EDIT_HEADER})
    f_title = wb.add_format(
        {"font_name": "宋体", "font_size": 14, "bold": True, "align": "center", "valign": "vcenter"}
    )
    f_note = wb.add_format(
        {"font_name": "宋体", "font_size": 10, "text_wrap": True, "valign": "top", "font_color": "#1F3864"}
    )

    ws = wb.add_worksheet(meta.data_sheet)
    last_col = len(COLUMNS) - 1
    unit = ledger.settings.unit_name
    ws.merge_range(
        0, 0, 0, last_col, f"{unit}巡察整改进展报送表（{group.county}，{period_label(meta.period)}）", f_title
    )
    ws.set_row(0, 28)
    notes = _instructions(ledger, meta)
    total_width = sum(c.width for c in COLUMNS)
    for i, text in enumerate(notes):
        r0 = 1 + i
        ws.merge_range(r0, 0, r0, last_col, f"{i + 1}. {text}", f_note)
        ws.set_row(r0, 14 * _lines(text, total_width))
    hr0 = meta.header_row - 1
    for j, col in enumerate(COLUMNS):
        ws.write_string(hr0, j, col.header, f_head_ed if col.editable else f_head_ro)
        ws.set_column(j, j, col.width)
    ws.set_row(hr0, 30)
    for i, (t, rec) in enumerate(zip(group.tasks, meta.rows)):
        r0 = rec.row - 1
        ro = readonly_values(t, problems.get(t.problem_id, ""))
        mv = master_values(t)
        height = 1
        for j, col in enumerate(COLUMNS):
            if col.editable:
                value: Any = t.completed_on if col.key == "completed_on" else (mv[col.key] or None)
                fmt = {"state": f_ed_state, "completed_on": f_ed_date}.get(col.key, f_ed_text)
            else:
                value = ro[col.key]
                fmt = f_ro_date if isinstance(value, date) else f_ro
            if value is None or value == "":
                ws.write_blank(r0, j, None, fmt)
            elif isinstance(value, date):
                ws.write_datetime(r0, j, datetime(value.year, value.month, value.day), fmt)
            else:
                ws.write_string(r0, j, str(value), fmt)
                height = max(height, _lines(str(value), col.width))
        ws.set_row(r0, min(409, max(15, 13.5 * height)))
    first0, last0 = meta.first_row - 1, meta.first_row - 2 + len(meta.rows)
    letters = {c.key: j for j, c in enumerate(COLUMNS)}
    j = letters["state"]
    ws.data_validation(
        first0,
        j,
        last0,
        j,
        {
            "validate": "list",
            "source": list(S.STATES),
            "input_title": "完成情况",
            "input_message": "请从下拉列表选择",
            "error_title": "完成情况",
            "error_message": "只能选择：" + "/".join(S.STATES),
        },
    )
    j = letters["completed_on"]
    ws.data_validation(
        first0,
        j,
        last0,
        j,
        {
            "validate": "date",
            "criteria": "between",
            "minimum": date(2000, 1, 1),
            "maximum": "=TODAY()",
            "input_title": "完成日期",
            "input_message": "选“已完成”时必填，如 2025-03-15",
            "error_title": "完成日期",
            "error_message": "请填写实际完成日期（如 2025-03-15），不能晚于今天",
        },
    )
    j = letters["phone"]
    ws.data_validation(
        first0,
        j,
        last0,
        j,
        {"validate": "any", "input_title": "联系电话", "input_message": "手机或座机，如 0763-3363601"},
    )
    ws.freeze_panes(meta.first_row - 1, 1)
    ws.protect(
        "", {"format_columns": True, "format_rows": True, "select_locked_cells": True, "select_unlocked_cells": True}
    )
    set_list_printing(ws, hr0)
    ws.activate()

    ms = wb.add_worksheet(META_SHEET)
    for i, row in enumerate(meta.to_rows()):
        for j, v in enumerate(row):
            ms.write_string(i, j, v)
    ms.protect("")
    ms.very_hidden()
    wb.set_properties(
        {
            "title": f"{group.county}{period_label(meta.period)}整改进展报送表",
            "subject": unit,
            "comments": "由 zhenggai 生成；请勿删除或修改隐藏的校验信息",
        }
    )
    wb.close()
    return path


def read_template_meta(path: str | Path) -> TemplateMeta:
    """The hidden metadata of a template the toolkit wrote (trusted: the center's own output)."""
    from toolkit.counties.metadata import parse_meta
    from toolkit.excel.read import read_workbook

    return parse_meta(read_workbook(Path(path)))


__all__ = [
    "make_county_templates",
    "read_master",
    "read_template_meta",
    "TEMPLATE_DIR_NAME",
    "default_return_deadline",
    "county_tasks",
    "template_name",
    "load_master",
    "build_meta",
    "write_template",
    "HEADERS",
    "DATA_SHEET",
]
