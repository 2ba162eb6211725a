"""County commands: county-templates, consolidate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from toolkit.cli.common import LedgerArg, TodayOpt, console, parse_day, print_lines, run_job
from toolkit.cli.render import render_consolidation
from toolkit.jobs.result import JobResult
from toolkit.jobs.sources import FileLedger
from toolkit.jobs.summary import summary_lines

PeriodOpt = Annotated[str | None, typer.Option("--period", help="报送期 YYYY-MM（默认：基本信息的“报送期次”，否则统计日期的上一个月）")]


def county_templates(
    ledger: LedgerArg,
    period: PeriodOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="输出文件夹（默认：台账旁的“县区报送表-下发”）")] = None,
    today: TodayOpt = None,
    deadline: Annotated[
        str | None, typer.Option("--deadline", help="报回截止日期 YYYY-MM-DD（默认：统计日期起第7天）")
    ] = None,
) -> None:
    """为每个县区生成本期整改进展报送表（只含该县区的任务，灰色列锁定，含隐藏校验信息）。"""
    from toolkit.jobs.counties import run_county_templates

    day, due = parse_day(today, "--today"), parse_day(deadline, "--deadline")
    run_job("生成县区报送表",
            lambda: run_county_templates(FileLedger(ledger), today=day, period=period, out=out, deadline=due),
            lambda job: print_lines(console(), summary_lines(job)))


def consolidate(
    ledger: LedgerArg,
    inbox: Annotated[
        Path | None, typer.Argument(help="存放县区报回文件的文件夹（默认：基本信息的“县区报送文件夹”，否则台账旁的“县区报送表-收回”）")
    ] = None,
    period: PeriodOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只显示将要导入的修改，不写入台账，也不生成报告")] = False,
    today: TodayOpt = None,
    deadline: Annotated[str | None, typer.Option("--deadline", help="报回截止日期 YYYY-MM-DD")] = None,
    report_dir: Annotated[
        Path | None, typer.Option("--report-dir", help="汇总报告文件夹（默认：台账旁的“县区报送汇总”）")
    ] = None,
) -> None:
    """汇总县区报回的报送表：逐个校验，合格的导入台账（一次写入、自动备份），生成汇总报告。"""
    from toolkit.jobs.counties import run_consolidate

    day, due = parse_day(today, "--today"), parse_day(deadline, "--deadline")
    con = console()

    def job() -> JobResult:
        with Progress(TextColumn("[bold]校验报送文件"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.description}"), TimeElapsedColumn(), console=con, transient=True) as bar:
            task = bar.add_task("", total=None)

            def step(done: int, total: int, name: str) -> None:
                bar.update(task, completed=done, total=total, description=name)

            return run_consolidate(FileLedger(ledger), inbox=inbox, today=day, period=period, deadline=due,
                                   dry_run=dry_run, report_dir=report_dir, progress=step)

    def render(result: JobResult) -> None:
        render_consolidation(con, result.details)
        print_lines(con, summary_lines(result, changes=40))

    run_job("汇总县区报送", job, render)


# Kept for callers of the old names.
county_templates_cmd = county_templates
consolidate_cmd = consolidate
