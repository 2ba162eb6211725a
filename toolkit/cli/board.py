"""The board command: 督办看板 as one HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli.common import LedgerArg, TodayOpt, console, parse_day, print_lines, run_job
from toolkit.jobs.sources import FileLedger
from toolkit.jobs.summary import summary_lines


def board(
    ledger: LedgerArg,
    out: Annotated[Path | None, typer.Option("--out", help="输出的 .html（默认：台账旁的 督办看板_日期.html；已存在时另起新名，不覆盖）")] = None,
    today: TodayOpt = None,
) -> None:
    """生成督办看板：一个可离线打开的网页（.html），含总体情况、红黄蓝预警、分类完成率、逾期和临期清单、月度走势。"""
    from toolkit.jobs.board import run_board

    day = parse_day(today)
    run_job("生成看板", lambda: run_board(FileLedger(ledger), today=day, out=out),
            lambda job: print_lines(console(), summary_lines(job)))
