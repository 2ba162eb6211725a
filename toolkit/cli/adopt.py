"""The ``adopt`` command: take an existing ledger as it is (接入台账)."""

from __future__ import annotations

from typing import Annotated

import typer

from toolkit.cli.common import LedgerArg, TodayOpt, console, parse_day, print_lines, run_job
from toolkit.cli.render import render_issues
from toolkit.jobs.result import JobResult
from toolkit.jobs.sources import FileLedger
from toolkit.jobs.summary import summary_lines


def adopt(
    ledger: LedgerArg,
    yes: Annotated[bool, typer.Option("--yes", help="确认写入：新增基本信息/台账映射/县区工作表和表格右侧的【自动】列（写前自动备份）")] = False,
    today: TodayOpt = None,
) -> None:
    """接入已有台账：显示识别出的台账格式（工作表、表头行、各列、问题与措施的分组），加 --yes 后补上工具所需的内容。"""
    from toolkit.jobs.adopt import run_adopt

    day = parse_day(today)

    def render(job: JobResult) -> None:
        con = console()
        render_issues(con, [i for i in job.check.report.sorted() if i.is_error], limit=30)
        print_lines(con, summary_lines(job))

    run_job("接入台账", lambda: run_adopt(FileLedger(ledger), write=yes, today=day), render)
