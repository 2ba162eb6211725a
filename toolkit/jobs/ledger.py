"""Ledger-file library functions: check a file, create a new ledger (writing statuses back: jobs.check)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from toolkit.core.check import CheckResult, check_ledger, empty_ledger
from toolkit.core.errors import ToolkitError
from toolkit.core.layout import assign_new_layout
from toolkit.core.model import Ledger
from toolkit.excel.ledger_file import write_new_ledger
from toolkit.jobs.gcpause import bulk_job


@bulk_job
def check_file(path: str | Path, *, today: date | None = None) -> CheckResult:
    """Read and check a ledger workbook; nothing is written."""
    from toolkit.jobs.sources import FileLedger

    return FileLedger(path).check(today)


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
