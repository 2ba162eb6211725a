"""Ledger commands: check, status, init, launchers, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli.common import JsonOpt, LedgerArg, TodayOpt, console, parse_day, print_lines, run_job
from toolkit.cli.render import print_json, render_issues, render_status, result_json
from toolkit.jobs.result import JobResult
from toolkit.jobs.sources import FileLedger
from toolkit.jobs.summary import summary_lines


def check(
    ledger: LedgerArg,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
    write: Annotated[bool, typer.Option("--write", help="同时把校验结果写入台账（“校验结果”工作表和【自动】校验列），与“校验台账”按钮相同")] = False,
) -> None:
    """校验台账：列出每个问题所在的工作表、行、列和修改方法（默认不修改文件）。"""
    from toolkit.jobs.check import run_check

    day = parse_day(today)

    def render(job: JobResult) -> None:
        if as_json:
            payload = result_json(job.check)
            payload["refused"] = job.refused
            print_json(payload)
            return
        con = console()
        render_issues(con, job.check.report.sorted())
        print_lines(con, summary_lines(job))

    run_job("校验台账", lambda: run_check(FileLedger(ledger), today=day, write=write), render)


def status(
    ledger: LedgerArg,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只显示将要写入的变化，不修改文件")] = False,
) -> None:
    """计算整改状态并写回台账（状态、逾期天数、校验结果、统计），写前自动备份。"""
    from toolkit.jobs.check import run_status

    day = parse_day(today)

    def render(job: JobResult) -> None:
        if as_json:
            payload = result_json(job.check)
            w = next((x for x in job.written if x.what == "台账"), None)
            payload["write"] = {
                "written": w is not None,
                "dry_run": job.dry_run,
                "backup": str(w.backup) if w and w.backup else None,
                "refused": job.refused,
                "changes": [{"sheet": c.sheet, "cell": c.cell, "old": c.old, "new": c.new} for c in job.changes],
            }
            print_json(payload)
            return
        con = console()
        render_status(con, job.check)
        render_issues(con, job.check.report.sorted(), limit=30)
        print_lines(con, summary_lines(job, changes=40))

    run_job("更新状态", lambda: run_status(FileLedger(ledger), today=day, dry_run=dry_run), render)


def init(
    path: Annotated[Path, typer.Argument(help="新台账文件路径（.xlsx，或 .xlsm 带按钮）")],
    demo: Annotated[bool, typer.Option("--demo", help="填入示例数据（清远市公路事务中心 2025 年通报）")] = False,
    force: Annotated[bool, typer.Option("--force", help="文件已存在时覆盖")] = False,
) -> None:
    """新建台账工作簿：各工作表、下拉列表、日期校验、条件格式、统计图表。"""
    from toolkit.jobs.check import run_init

    run_job("新建台账", lambda: run_init(path, demo=demo, force=force),
            lambda job: print_lines(console(), summary_lines(job)))


def launchers(
    ledger: LedgerArg,
    python: Annotated[str | None, typer.Option("--python", help="python.exe 的完整路径（默认自动查找）")] = None,
) -> None:
    """为 WPS/不启用宏的用户在台账旁生成双击即可运行的 .cmd 启动器（每个按钮一个）。"""
    from toolkit.jobs.launchers import run_launchers

    run_job("生成启动器", lambda: run_launchers(ledger, python=python),
            lambda job: print_lines(console(), summary_lines(job)))


def demo(
    folder: Annotated[Path, typer.Argument(help="输出文件夹（默认 ./zhenggai-demo）")] = Path("zhenggai-demo"),
) -> None:
    """生成示例台账并完整运行一遍：校验、县区报送与汇总、状态写回、通报、提醒函，输出到指定文件夹。"""
    from toolkit.cli.render import render_consolidation
    from toolkit.jobs.demo import run_demo

    def render(job: JobResult) -> None:
        con = console()
        for step in job.details:
            con.rule(step.caption)
            if step.job == "consolidate":
                render_consolidation(con, step.details)
            elif step.job == "check":
                render_issues(con, step.check.report.sorted(), limit=20)
            elif step.job == "status":
                render_status(con, step.check)
            print_lines(con, summary_lines(step))

    run_job("示例", lambda: run_demo(folder), render)
