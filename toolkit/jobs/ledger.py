"""Ledger-file jobs used by other jobs: check a file, write statuses back, create a new ledger."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from toolkit.core.check import CheckResult, check_ledger, check_tables, empty_ledger, resolve_today  # noqa: F401
from toolkit.core.errors import ToolkitError
from toolkit.core.layout import assign_new_layout
from toolkit.core.model import Ledger
from toolkit.excel.ledger_file import read_ledger_tables, require_writable_format, write_new_ledger


def check_file(path: str | Path, *, today: date | None = None) -> CheckResult:
    """Read and check a ledger workbook; nothing is written."""
    path = Path(path)
    return check_tables(read_ledger_tables(path), today=today, source=path.name, clock_today=date.today())


def update_status_file(path: str | Path, *, today: date | None = None, dry_run: bool = False, backup_dir=None):
    """Check the ledger and write statuses, check results and statistics back into it, losslessly.

    Returns (CheckResult, WriteResult). Refuses (ToolkitError) while the workbook is open.
    """
    from toolkit.excel.safe_write import write_safely

    path = Path(path)
    require_writable_format(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise ToolkitError(f"无法读取台账文件：{path}（{exc.strerror}）") from exc
    tables = read_ledger_tables(path)
    result = check_tables(tables, today=today, source=path.name, clock_today=date.today())
    try:
        written = write_safely(path, result.plan, dry_run=dry_run, backup_dir=backup_dir,
                               read_as=((stat.st_size, stat.st_mtime_ns), tables))
    except Exception as exc:  # the safe-write family carries Chinese messages
        if type(exc).__module__.startswith("toolkit."):
            raise ToolkitError(str(exc)) from exc
        raise
    return result, written


def new_ledger_workbook(path: str | Path, ledger: Ledger | None = None, *, today: date | None = None,
                        overwrite: bool = False) -> CheckResult:
    """Create a new ledger workbook (.xlsx, or .xlsm with buttons); never overwrites unless asked."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise ToolkitError(f"新台账的文件名应以 .xlsx 或 .xlsm 结尾：{path.name}")
    if path.exists() and not overwrite:
        raise ToolkitError(f"文件已存在，为防止覆盖员工数据，未做任何修改：{path}")
    if ledger is None:
        ledger = empty_ledger()
    assign_new_layout(ledger)
    result = check_ledger(ledger, today=today, clock_today=date.today())
    write_new_ledger(path, ledger, result.plan)
    return result
