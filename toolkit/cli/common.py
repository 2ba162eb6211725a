"""Console helpers shared by the command modules: options, the rich console, running one job."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from toolkit.jobs.result import EXIT_ATTENTION, EXIT_INTERNAL, EXIT_OK, EXIT_UNUSABLE, JobResult
from toolkit.jobs.runner import execute

EXIT_INVALID = EXIT_ATTENTION
EXIT_USAGE = EXIT_UNUSABLE
__all__ = ["EXIT_OK", "EXIT_INVALID", "EXIT_USAGE", "EXIT_INTERNAL", "console", "fail", "parse_day", "run_job"]

TodayOpt = Annotated[
    str | None, typer.Option("--today", help="统计日期 YYYY-MM-DD（默认：基本信息中的统计截止日期，否则今天）")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="输出一个 JSON 对象（供程序读取）")]
LedgerArg = Annotated[Path, typer.Argument(help="台账文件（.xlsx/.xlsm）")]


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print a Chinese error to stderr and exit (2 by default: usage or unusable input)."""
    console(stderr=True).print(f"[bold red]错误：[/]{message}", markup=True)
    raise typer.Exit(code)


def parse_day(text: str | None, option: str = "--today") -> date | None:
    """A date option (YYYY-MM-DD or any form staff type), or exit 2 with how to write it."""
    if text is None:
        return None
    from toolkit.core.dates import parse_staff_date

    parsed = parse_staff_date(text)
    if parsed.kind != "date":
        fail(f"{option} 无法识别“{text}”，请写成 2025-04-07")
    return parsed.on


def run_job(caption: str, job: Callable[[], JobResult], render: Callable[[JobResult], None]) -> None:
    """Run one job, render its result (or its one-line Chinese error), and exit with the job's code."""
    outcome = execute(caption, job, argv=sys.argv[1:])
    if outcome.result is None:
        err = console(stderr=True)
        first, *rest = outcome.error_lines
        err.print(f"[bold red]错误：[/]{first}", markup=True)
        for line in rest:
            err.print(line, markup=False)
        raise typer.Exit(outcome.code)
    render(outcome.result)
    raise typer.Exit(outcome.code)


def print_lines(con: Console, lines: list[str]) -> None:
    for line in lines:
        con.print(line, markup=False)
