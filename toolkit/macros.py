"""The Python side of the ledger's buttons: one short function per button, no arguments.

Each button of the 操作 sheet runs one VBA line, e.g.
``RunPython "import toolkit.macros as m; m.check_ledger()"`` (see :mod:`toolkit.excel.vba`).
A button function only connects to the calling workbook (``xlwings.Book.caller()``), runs the
button's job from the jobs layer on it (:func:`toolkit.jobs.buttons.run_button_job`, the same
job and settings the ``.cmd`` launchers use, and the same job functions as the ``zhenggai``
command) and shows the job's summary (:mod:`toolkit.jobs.summary`) in a message box. Every
policy — the as-of date, 报送期次, 县区报送文件夹, where output goes and that it never overwrites,
what to write — lives in the jobs layer.

The ledger is read from the open workbook, not from the saved file (staff may not have saved);
writes go into the open workbook (staff save it). Jobs that hand a *file* to another module
(county templates, consolidation) get a copy of the workbook as it is open (Excel's
``SaveCopyAs``, Windows only; elsewhere the saved file).

Any failure reaches staff as a Chinese message box, never as a Python traceback: a known
problem shows its own message; an internal error shows one line and the log file's path.

Nothing heavy is imported at module import (no xlwings, which imports pandas; no openpyxl,
docxtpl): ``python -c "import toolkit.macros"`` stays well under 0.3 s.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_ledger", "consolidate_counties", "make_board", "make_county_templates", "make_notice", "update_status",
           "APP_TITLE", "MAX_LISTED_ISSUES"]

APP_TITLE = "整改台账"
MAX_LISTED_ISSUES = 8


def check_ledger() -> None:
    """校验台账: check the open workbook; list the problems in 校验结果 and the 【自动】校验 columns."""
    _run("check")


def update_status() -> None:
    """更新状态: recompute statuses as of the as-of date and write statuses, check results and 统计."""
    _run("status")


def make_county_templates() -> None:
    """生成县区报送表: one submission workbook per county, in a folder beside the ledger."""
    _run("county-templates")


def consolidate_counties() -> None:
    """汇总县区报送: read the counties' returned workbooks from the inbox folder into the open ledger."""
    _run("consolidate")


def make_notice() -> None:
    """生成通报: write the progress notice (.docx) beside the ledger from the open workbook's data."""
    _run("notice")


def make_board() -> None:
    """生成看板: write the leaders' progress board (.html) beside the ledger from the open workbook's data."""
    _run("board")


def _caller() -> Any:
    try:
        import xlwings as xw

        return xw.Book.caller()
    except Exception as exc:  # noqa: BLE001 - no workbook to show a message in: say it on stderr
        # RunPython shows what Python wrote to stderr in a message box when the run fails.
        raise SystemExit(
            f"{APP_TITLE}：无法连接到调用按钮的 Excel 工作簿（{type(exc).__name__}: {exc}）。"
            "请在 Excel 中打开台账后点按钮；WPS 表格不支持按钮，请改用台账旁的 .cmd 文件。"
        ) from exc


def _status_bar(book: Any, text: str | bool) -> None:
    """Show progress in Excel's status bar (``False`` gives it back to Excel); a no-op where unsupported."""
    try:
        book.app.status_bar = text
    except Exception:  # noqa: BLE001 - xlwings Server/remote clients have no status bar
        pass


def _run(job: str) -> None:
    """Run one button: connect to the calling workbook, run its job, show the summary or the error."""
    from toolkit.jobs.buttons import CAPTIONS, run_button_job
    from toolkit.jobs.runner import execute
    from toolkit.jobs.sources import LiveLedger
    from toolkit.jobs.summary import summary_lines, verdict

    book = _caller()
    caption = CAPTIONS[job]
    source = LiveLedger(book)

    def progress(done: int, total: int, name: str) -> None:
        _status_bar(book, f"{caption}：正在校验第 {done}/{total} 份 {name}")

    try:
        outcome = execute(caption, lambda: run_button_job(job, source, progress=progress))
    finally:
        _status_bar(book, False)
        source.close()
    if outcome.result is not None:
        lines = summary_lines(outcome.result, issues=MAX_LISTED_ISSUES)
        if job == "check" and outcome.result.check is not None and outcome.result.check.report.issues:
            _show_check_sheet(book)
    else:
        lines = outcome.error_lines
    lines += ["", verdict(job, outcome.code)]
    mode = "info" if outcome.code <= 1 else "critical"
    book.app.alert("\n".join(lines), title=f"{APP_TITLE} · {caption}", mode=mode)


def _show_check_sheet(book: Any) -> None:
    from toolkit.core.schema import SHEET_CHECK

    try:
        book.sheets[SHEET_CHECK].activate()
    except Exception:  # noqa: BLE001 - showing the sheet is a courtesy; the results are written
        pass
