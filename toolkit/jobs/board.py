"""The board job: 督办看板, one self-contained HTML file beside the ledger."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from toolkit.core.errors import ToolkitError
from toolkit.jobs.check import checked
from toolkit.jobs.gcpause import bulk_job
from toolkit.jobs.paths import unique_path
from toolkit.jobs.result import JobResult
from toolkit.jobs.sources import LedgerSource


def default_board_name(today: date) -> str:
    return f"督办看板_{today.isoformat()}.html"


@bulk_job
def run_board(source: LedgerSource, *, today: date | None = None, out: str | Path | None = None) -> JobResult:
    """生成看板: the board of the ledger as one HTML file, generated even when the ledger has errors (it says so).

    Without ``out`` the file is 督办看板_<as-of>.html beside the ledger, or …(2).html when that
    exists; an explicit ``out`` must end in .html and is never overwritten (the same (2) rule).
    """
    from toolkit.board import render_board

    job = JobResult("board", "生成看板")
    result = checked(source, today)
    job.check, job.today, job.ledger = result, result.today, source.path
    if out is None:
        target = unique_path(source.folder / default_board_name(result.today))
    else:
        target = Path(out)
        if target.suffix.lower() not in (".html", ".htm"):
            raise ToolkitError(f"看板的文件名应以 .html 结尾：{target.name}")
        if target.is_dir():
            raise ToolkitError(f"--out 指向的是文件夹，请给出文件名，例如 {target / default_board_name(result.today)}")
        target = unique_path(target)
    page = render_board(result, source.tables, ledger_name=source.name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(target)
    except PermissionError as exc:
        raise ToolkitError(f"无法写入 {target}：没有写入权限，或文件正在被打开。") from exc
    except OSError as exc:
        raise ToolkitError(f"无法写入 {target}：{exc.strerror or exc}") from exc
    job.add_written(target, "督办看板")
    if result.report.errors:
        job.notes.append(f"台账有 {len(result.report.errors)} 处错误，看板中的数字可能不准确：请先校验台账并改正后重新生成。")
    return job
