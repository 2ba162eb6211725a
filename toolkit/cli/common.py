"""Console helpers shared by the command modules (``toolkit.cli`` and ``toolkit.cli.counties``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print a Chinese error to stderr and exit (2 by default: usage or unreadable input)."""
    console(stderr=True).print(f"[bold red]错误：[/]{message}")
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


def existing_file(path: Path) -> Path:
    """The path of an existing file, or exit 2 saying what is wrong."""
    if not path.exists():
        fail(f"找不到文件：{path}")
    if path.is_dir():
        fail(f"这是一个文件夹，不是台账文件：{path}")
    return path
