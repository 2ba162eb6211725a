"""The library's front door: one call per job, used by the CLI and the Excel buttons alike."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from toolkit.core.intake import load_ledger
from toolkit.core.layout import assign_new_layout
from toolkit.core.model import Ledger, Table
from toolkit.core.plan import WritePlan
from toolkit.core.report import Report
from toolkit.core.status import LedgerStatus, evaluate_ledger
from toolkit.core.validate import validate_ledger
from toolkit.core.writeplan import build_write_plan

LEDGER_SHEETS = None  # read every sheet: synonyms mean we cannot know the names in advance


class ToolkitError(Exception):
    """A job could not run; the message (Chinese) says why and what to do."""


@dataclass
class CheckResult:
    ledger: Ledger
    report: Report
    status: LedgerStatus
    today: date
    plan: WritePlan = field(default_factory=WritePlan)

    @property
    def valid(self) -> bool:
        return self.report.valid


def resolve_today(ledger: Ledger, today: date | None, *, clock_today: date | None = None) -> date:
    """The as-of date: given explicitly, else 基本信息's 统计截止日期, else the clock's today."""
    if today is not None:
        return today
    if ledger.settings.as_of is not None:
        return ledger.settings.as_of
    return clock_today or date.today()


def check_tables(tables: dict[str, Table], *, today: date | None = None, source: str = "") -> CheckResult:
    """Intake, validation, statuses and the write plan for tables read by any adapter."""
    ledger, issues = load_ledger(tables, source=source)
    return check_ledger(ledger, today=today, intake_issues=issues)


def check_ledger(ledger: Ledger, *, today: date | None = None, intake_issues=()) -> CheckResult:
    day = resolve_today(ledger, today)
    report = Report(list(intake_issues))
    report.extend(validate_ledger(ledger, today=day))
    status = evaluate_ledger(ledger, today=day)
    report.extend(calendar_warnings(ledger, status))
    plan = build_write_plan(ledger, status, report, today=day)
    return CheckResult(ledger, report, status, day, plan)


def calendar_warnings(ledger: Ledger, status: LedgerStatus) -> list:
    """A warning per task whose working-day count had to fall back to Mon–Fri (year not in the calendar)."""
    from toolkit.core.report import WARNING, Issue, Location
    from toolkit.core.schema import SHEET_TASKS

    out = []
    for t in ledger.tasks:
        st = status.tasks.get(t.id)
        if st is not None and not st.calendar_exact:
            out.append(Issue(
                "calendar-unknown-year",
                f"节假日日历没有 {st.deadline.year if st.deadline else ''} 年的数据，临期按周一至周五计算；"
                "请升级 chinesecalendar（pip install -U chinesecalendar）或将“预警按工作日计算”改为“否”",
                Location(ledger.source, ledger.layout.sheet(SHEET_TASKS), t.row,
                         ledger.layout.column(SHEET_TASKS, "deadline"), "完成时限"),
                WARNING,
            ))
    return out


def read_ledger_tables(path: str | Path) -> dict[str, Table]:
    """Read a ledger workbook (trusted: the staff's own file) into tables."""
    from toolkit.excel.untrusted import precheck
    from toolkit.excel.read import UnreadableWorkbook, read_workbook

    try:
        # Even the staff's own file gets the structural pre-check (a few ms for a normal ledger):
        # one stray cell at XFD1048576 would otherwise make the reader abort the whole process.
        # Its limits are wider than for county files: only what would exhaust memory is refused.
        precheck(path, max_rows=1_048_576, max_cols=16_384, max_cells=20_000_000)
        return read_workbook(path)
    except UnreadableWorkbook as exc:
        raise ToolkitError(str(exc)) from exc


def check_file(path: str | Path, *, today: date | None = None) -> CheckResult:
    """Read and check a ledger workbook; nothing is written."""
    path = Path(path)
    return check_tables(read_ledger_tables(path), today=today, source=path.name)


def update_status_file(path: str | Path, *, today: date | None = None, dry_run: bool = False, backup_dir=None):
    """Check the ledger and write statuses, check results and statistics back into it, losslessly.

    Returns (CheckResult, WriteResult). Refuses (ToolkitError) while the workbook is open.
    """
    from toolkit.excel.safe_write import write_safely

    path = Path(path)
    _require_writable_format(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise ToolkitError(f"无法读取台账文件：{path}（{exc.strerror}）") from exc
    tables = read_ledger_tables(path)
    result = check_tables(tables, today=today, source=path.name)
    try:
        written = write_safely(path, result.plan, dry_run=dry_run, backup_dir=backup_dir,
                               read_as=((stat.st_size, stat.st_mtime_ns), tables))
    except Exception as exc:  # the safe-write family carries Chinese messages
        if type(exc).__module__.startswith("toolkit."):
            raise ToolkitError(str(exc)) from exc
        raise
    return result, written


WRITABLE_FORMATS = {"xlsx", "xlsm"}
FORMAT_NAMES = {"xls": "旧版 Excel 97-2003 工作簿（.xls）", "xlsb": "Excel 二进制工作簿（.xlsb）",
                "ods": "OpenDocument 表格（.ods，WPS/LibreOffice 常用）"}


def _require_writable_format(path: Path) -> None:
    """Write-back works on .xlsx/.xlsm only; say which format this is and how to convert it."""
    from toolkit.excel.read import UnreadableWorkbook, detect_format

    try:
        kind = detect_format(path)
    except UnreadableWorkbook as exc:
        raise ToolkitError(str(exc)) from exc
    if kind not in WRITABLE_FORMATS:
        raise ToolkitError(
            f"“{path.name}”是{FORMAT_NAMES.get(kind, kind)}，工具只能把结果写回 .xlsx/.xlsm 工作簿（不会改动本文件）。"
            "请在 Excel 或 WPS 中“另存为”Excel 工作簿（.xlsx）后，对新文件运行；校验（zhenggai check）可以直接读取本文件。"
        )


def new_ledger_workbook(path: str | Path, ledger: Ledger | None = None, *, today: date | None = None,
                        overwrite: bool = False) -> CheckResult:
    """Create a new ledger workbook (.xlsx, or .xlsm with buttons) with XlsxWriter.

    ``ledger`` None → an empty ledger with the Qingyuan counties listed. Refuses to overwrite an
    existing file unless asked: an existing workbook is staff data.
    """
    from toolkit.excel.build import write_ledger_workbook

    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise ToolkitError(f"新台账的文件名应以 .xlsx 或 .xlsm 结尾：{path.name}")
    if path.exists() and not overwrite:
        raise ToolkitError(f"文件已存在，为防止覆盖员工数据，未做任何修改：{path}")
    if ledger is None:
        ledger = empty_ledger()
    assign_new_layout(ledger)
    result = check_ledger(ledger, today=today)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        write_ledger_workbook(tmp, ledger, result.plan)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return result


def empty_ledger() -> Ledger:
    from toolkit.core.model import County
    from toolkit.core.schema import QINGYUAN_COUNTIES

    ledger = Ledger(source="新台账")
    ledger.counties = [County(c) for c in QINGYUAN_COUNTIES]
    return ledger
