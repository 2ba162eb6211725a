"""The five button jobs, with the settings a button click uses — shared by the Excel buttons and the launchers.

A button cannot take options, so each job runs with its defaults as resolved by the jobs layer
(as-of date, 报送期次, 县区报送文件夹, output beside the ledger never overwriting); 校验台账 also
writes its results into the workbook (校验结果 sheet, 【自动】校验 columns).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toolkit.jobs.result import JobResult
from toolkit.jobs.sources import LedgerSource

CAPTIONS = {
    "check": "校验台账",
    "status": "更新状态",
    "county-templates": "生成县区报送表",
    "consolidate": "汇总县区报送",
    "notice": "生成通报",
    "board": "生成看板",
}


def run_button_job(name: str, source: LedgerSource, *, progress: Callable[[int, int, str], Any] | None = None) -> JobResult:
    """Run the job of one button on ``source`` with the button's settings."""
    from toolkit.jobs.check import run_check, run_status
    from toolkit.jobs.counties import run_consolidate, run_county_templates
    from toolkit.jobs.documents import run_notice

    if name == "check":
        return run_check(source, write=True)
    if name == "status":
        return run_status(source)
    if name == "county-templates":
        return run_county_templates(source)
    if name == "consolidate":
        return run_consolidate(source, progress=progress)
    if name == "notice":
        return run_notice(source)
    if name == "board":
        from toolkit.jobs.board import run_board

        return run_board(source)
    raise ValueError(f"unknown button job {name!r}")
