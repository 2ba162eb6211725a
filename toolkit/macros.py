"""The Python side of the ledger's buttons: one short function per button, no arguments.

Each button of the 操作 sheet runs one VBA line, e.g.
``RunPython "import toolkit.macros as m; m.check_ledger()"`` (see :mod:`toolkit.excel.vba.project`).
Each function here takes the calling workbook (``xlwings.Book.caller()``), reads it in bulk
(:func:`toolkit.excel.live.read_book`), runs the same core as the ``zhenggai`` command
(:func:`toolkit.core.check.check_tables`), writes the result back through xlwings
(:func:`toolkit.excel.live.apply_plan`) and shows a Chinese summary in a message box
(``book.app.alert``). Any failure reaches staff as a Chinese message box, never as a Python
traceback: a known problem (unreadable ledger, missing setting, a file open in Word…) shows
its own message; an unexpected error shows a short notice and the traceback goes to a log
file whose path the message gives.

Decisions
---------
* The ledger is read from the open workbook, not from the saved file: staff may not have
  saved. Jobs that hand a *file* to another module (county templates, consolidation) get a
  copy of the workbook as it is open (Excel's ``SaveCopyAs``, Windows only; elsewhere the
  saved file), so unsaved edits count there too. The notice is rendered from the in-memory
  ledger directly.
* 校验台账 writes only the check results: the 校验结果 sheet and the ``【自动】校验`` columns
  (the CLI's ``check`` writes nothing, but staff need to see the results in the workbook);
  更新状态 writes the whole plan (statuses, check results, 统计), like ``zhenggai status``.
* 汇总县区报送: a VBA one-liner cannot prompt, and xlwings offers no folder dialog, so the inbox
  folder is the setting **县区报送文件夹** in 基本信息 (label in one cell, the path in the cell
  to its right; a relative path counts from the ledger's folder), by default the folder
  ``县区报送表-收回`` beside the ledger (the command takes the folder as an argument).
  :func:`toolkit.counties.consolidate.consolidate_folder` runs on a copy of the open workbook
  with ``dry_run=True`` (Excel holds the open workbook, so it cannot be written as a file),
  reporting progress in Excel's status bar; its plan — staff cells of the changed rows, statuses, 统计,
  县区, 变更记录, 月度进展 — is applied to the open workbook through xlwings, and the report
  workbook is written to ``县区报送汇总`` beside the ledger, as the command does.
* 生成县区报送表 writes into the folder ``县区报送表-下发`` beside the ledger, as the command does.
* 生成通报 writes ``通报_<日期>.docx`` beside the ledger like ``zhenggai notice``, but never
  overwrites an existing file (staff often edit the generated notice): ``通报_<日期>(2).docx``…
  Like the command it renders even when the ledger has errors, and says how many.
* The reporting period is the setting **报送期次** in 基本信息 when filled (``2025-03``,
  ``2025年3月``…), else the counties module's default: the month before the as-of date.
* Buttons write into the open workbook; the file on disk changes when staff save it (the
  messages say so).
* The as-of date is the same as the CLI's default: 基本信息's 统计截止日期, else today.

Nothing heavy is imported at module import (no xlwings, which imports pandas; no openpyxl,
docxtpl): ``python -c "import toolkit.macros"`` stays well under 0.3 s.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolkit.core.check import CheckResult
    from toolkit.core.model import Table
    from toolkit.core.plan import WritePlan

__all__ = [
    "ButtonError",
    "check_ledger",
    "consolidate_counties",
    "make_county_templates",
    "make_notice",
    "update_status",
    "check_only_plan",
    "check_summary",
    "consolidation_summary",
    "inbox_folder",
    "status_summary",
    "unique_path",
    "COUNTY_TEMPLATE_DIR",
    "DEFAULT_INBOX",
    "INBOX_SETTING",
    "PERIOD_SETTING",
]

APP_TITLE = "整改台账"
INBOX_SETTING = "县区报送文件夹"
PERIOD_SETTING = "报送期次"
DEFAULT_INBOX = "县区报送表-收回"
COUNTY_TEMPLATE_DIR = "县区报送表-下发"  # as zhenggai county-templates
LOG_NAME = "zhenggai-按钮错误.log"
MAX_LISTED_ISSUES = 8


class ButtonError(Exception):
    """A button cannot do its job; ``str(exc)`` (Chinese) tells staff why and what to do."""


# ============================================================================ the buttons


def check_ledger() -> None:
    """校验台账: check the open workbook; list the problems in 校验结果 and the 【自动】校验 columns."""
    _run("校验台账", _check_ledger)


def update_status() -> None:
    """更新状态: recompute statuses as of the as-of date and write statuses, check results and 统计."""
    _run("更新状态", _update_status)


def make_county_templates() -> None:
    """生成县区报送表: one submission workbook per county, in a folder beside the ledger."""
    _run("生成县区报送表", _make_county_templates)


def consolidate_counties() -> None:
    """汇总县区报送: read the counties' returned workbooks from the inbox folder into the open ledger."""
    _run("汇总县区报送", _consolidate_counties)


def make_notice() -> None:
    """生成通报: write the progress notice (.docx) beside the ledger from the open workbook's data."""
    _run("生成通报", _make_notice)


# ============================================================================ plumbing


class _Session:
    """The calling workbook and what one button run learns about it (read once, then cached)."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self._tables: dict[str, Table] | None = None
        self._temp: list[tempfile.TemporaryDirectory] = []

    @property
    def source(self) -> str:
        """The workbook's file name, as the CLI names it in messages."""
        return Path(self.book.name).name

    @property
    def tables(self) -> dict[str, Table]:
        if self._tables is None:
            from toolkit.excel.live import read_book

            self._tables = read_book(self.book)
        return self._tables

    def check(self) -> CheckResult:
        """The core on the open workbook's tables: the same call as the CLI's, with the same as-of date."""
        from toolkit.core.check import check_tables

        return check_tables(self.tables, source=self.source)

    def apply(self, plan: WritePlan) -> int:
        """Write ``plan`` into the open workbook in bulk (tables as read before any write)."""
        from toolkit.excel.live import apply_plan

        return apply_plan(self.book, plan, tables=self.tables)

    @property
    def path(self) -> Path:
        """The saved workbook on disk (ButtonError when it has never been saved to a local folder)."""
        try:
            full = str(self.book.fullname)
        except Exception as exc:  # noqa: BLE001 - xlwings cannot map a OneDrive/SharePoint URL
            raise ButtonError(
                "无法确定台账在本机的保存位置（可能保存在 OneDrive 或 SharePoint 上）。"
                "请把台账另存到本机文件夹后再点按钮。"
            ) from exc
        if "://" in full:
            raise ButtonError(
                "台账保存在网络位置（OneDrive/SharePoint），按钮无法使用。请把台账另存到本机文件夹后再点按钮。"
            )
        path = Path(full)
        if not path.is_absolute() or not path.is_file():
            raise ButtonError("工作簿还没有保存到文件夹中：请先“文件 → 另存为”保存台账（.xlsm），再点按钮。")
        return path

    def snapshot(self) -> Path:
        """A file with the workbook as it is open now (unsaved edits included where Excel can save a copy)."""
        path = self.path
        if sys.platform == "win32" and _engine(self.book) == "excel":
            folder = tempfile.TemporaryDirectory(prefix="zhenggai-")
            self._temp.append(folder)
            copy = Path(folder.name) / path.name
            self.book.api.SaveCopyAs(str(copy))
            return copy
        return path

    def setting_text(self, label: str) -> str:
        """The text right of ``label`` in 基本信息 ('' when absent): settings the core does not model."""
        from toolkit.core.intake import cell_text, find_sheet
        from toolkit.core.schema import SHEET_SETTINGS, normalize_header

        name = find_sheet(self.tables, SHEET_SETTINGS)
        if name is None:
            return ""
        wanted = normalize_header(label)
        for row in self.tables[name].rows:
            for j, v in enumerate(row):
                if isinstance(v, str) and normalize_header(v) == wanted:
                    k = j + 1
                    while k < len(row) and row[k] == v:  # a label merged over several cells
                        k += 1
                    return cell_text(row[k]) if k < len(row) else ""
        return ""

    def close(self) -> None:
        for folder in self._temp:
            folder.cleanup()
        self._temp.clear()


def _engine(book: Any) -> str:
    try:
        return book.app.engine.name
    except Exception:  # noqa: BLE001
        return "excel"


def _status_bar(book: Any, text: str | bool) -> None:
    """Show progress in Excel's status bar (``False`` gives it back to Excel); a no-op where unsupported."""
    try:
        book.app.status_bar = text
    except Exception:  # noqa: BLE001 - xlwings Server/remote clients have no status bar
        pass


def _known_error(exc: BaseException) -> bool:
    """Exceptions whose message is written for staff: ours, and every toolkit exception (Chinese by rule)."""
    return isinstance(exc, ButtonError) or type(exc).__module__.startswith("toolkit.")


def _log_failure(caption: str) -> Path | None:
    log = Path(tempfile.gettempdir()) / LOG_NAME
    try:
        with log.open("a", encoding="utf-8") as fh:
            fh.write(f"==== {datetime.now():%Y-%m-%d %H:%M:%S} {caption}\n{traceback.format_exc()}\n")
    except OSError:
        return None
    return log


def _run(caption: str, job: Callable[[_Session], str]) -> None:
    """Run one button: get the calling workbook, do the job, show its summary or its error."""
    try:
        import xlwings as xw

        book = xw.Book.caller()
    except Exception as exc:  # noqa: BLE001 - no workbook to show a message in: say it on stderr
        # RunPython shows what Python wrote to stderr in a message box when the run fails.
        raise SystemExit(
            f"{APP_TITLE}：无法连接到调用按钮的 Excel 工作簿（{type(exc).__name__}: {exc}）。"
            "请在 Excel 中打开台账后点按钮；WPS 表格不支持按钮，请改用台账旁的 .cmd 文件。"
        ) from exc
    session = _Session(book)
    title = f"{APP_TITLE} · {caption}"
    try:
        message, mode = job(session), "info"
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message box
        if _known_error(exc):
            message = f"{caption}未完成：{exc}"
        else:
            log = _log_failure(caption)
            where = f"详细信息已记录在：{log}" if log else ""
            message = (
                f"{caption}时出现程序错误（{type(exc).__name__}：{str(exc)[:200]}）。台账未被修改或只修改了一部分，"
                f"请保存副本后重试；如仍出错，请把本提示截图并连同日志发给维护人员。{where}"
            )
        mode = "critical"
    finally:
        session.close()
    book.app.alert(message, title=title, mode=mode)


# ============================================================================ the jobs


def _check_ledger(session: _Session) -> str:
    from toolkit.core.schema import SHEET_CHECK

    result = session.check()
    session.apply(check_only_plan(result))
    report = result.report
    if report.issues:
        try:
            session.book.sheets[SHEET_CHECK].activate()
        except Exception:  # noqa: BLE001 - showing the sheet is a courtesy; the results are written
            pass
    return check_summary(result)


def _update_status(session: _Session) -> str:
    result = session.check()
    written = session.apply(result.plan)
    return (
        status_summary(result) + f"\n已写入 {written} 个单元格（【自动】列、“校验结果”和“统计”工作表），"
        "请检查后保存台账（Ctrl+S）。"
    )


def _make_county_templates(session: _Session) -> str:
    try:
        from toolkit.counties import template
    except ImportError as exc:
        _missing_feature(exc, "生成县区报送表")
    result = session.check()
    period = _period(session)
    out_dir = session.path.parent / COUNTY_TEMPLATE_DIR
    made = template.make_county_templates(session.snapshot(), period=period, out_dir=out_dir, today=result.today)
    lines = [
        f"已生成 {len(made)} 份县区报送表（报送期：{_period_label(period, result.today)}），保存在：",
        str(out_dir),
    ]
    lines += [f"  {Path(p).name}" for p in made[:12]]
    if len(made) > 12:
        lines.append(f"  ……共 {len(made)} 份")
    if result.report.errors:
        lines.append(
            f"注意：台账有 {len(result.report.errors)} 处错误，报送表可能不完整，建议先点“校验台账”改正后重新生成。"
        )
    return "\n".join(lines)


def _consolidate_counties(session: _Session) -> str:
    try:
        from toolkit.counties import consolidate, report
    except ImportError as exc:
        _missing_feature(exc, "汇总县区报送")
    from dataclasses import replace

    first = session.check()
    folder = session.path.parent
    inbox = inbox_folder(session.setting_text(INBOX_SETTING), folder)
    if not inbox.is_dir():
        raise ButtonError(
            f"找不到县区报送文件夹：{inbox}\n请新建该文件夹并把各县区交回的报送表放进去，"
            f"或在“基本信息”中新增一行：左格写“{INBOX_SETTING}”，右格填写文件夹路径。"
        )

    def progress(done: int, total: int, name: str) -> None:
        _status_bar(session.book, f"汇总县区报送：正在校验第 {done}/{total} 份 {name}")

    # dry_run: the open workbook cannot be written as a file; its plan goes out through Excel instead.
    try:
        outcome = consolidate.consolidate_folder(
            session.snapshot(), inbox, period=_period(session), dry_run=True, today=first.today, progress=progress
        )
    finally:
        _status_bar(session.book, False)
    written = session.apply(outcome.plan)
    applied = replace(outcome, dry_run=False, ledger_path=session.path)
    report_path = report.write_report(applied, folder / consolidate.REPORT_DIR_NAME)
    return consolidation_summary(outcome, written, report_path)


def _make_notice(session: _Session) -> str:
    from toolkit.notice import render_notice

    result = session.check()
    out = unique_path(session.path.with_name(f"通报_{result.today.isoformat()}.docx"))
    try:
        notice = render_notice(result.ledger, today=result.today, out_path=out)
    except PermissionError as exc:
        raise ButtonError(f"无法写入 {out.name}：文件可能正在 Word 中打开，请关闭后重试。") from exc
    lines = [f"已生成通报（统计日期 {result.today.isoformat()}）：", str(notice.docx)]
    errors = result.report.errors
    if errors:
        lines.append(f"注意：台账有 {len(errors)} 处错误，通报内容可能不准确，请点“校验台账”查看并改正后重新生成。")
    lines += [f"提示：{w}" for w in notice.warnings[:5]]
    return "\n".join(lines)


# ============================================================================ helpers (pure)


def check_only_plan(result: CheckResult) -> WritePlan:
    """The part of ``result.plan`` that 校验台账 writes: the 校验结果 sheet and the 【自动】校验 columns."""
    from toolkit.core import schema as S
    from toolkit.core.plan import SheetPlan, WritePlan

    canonical = {actual: canon for canon, actual in result.ledger.layout.sheet_names.items()}
    check_headers = {col.header for cols in S.SHEET_OWNED.values() for col in cols if col.key == "check"}
    sheets: list[SheetPlan] = []
    for sp in result.plan.sheets:
        if sp.owned_sheet:
            if sp.sheet == S.SHEET_CHECK:
                sheets.append(sp)
            continue
        if canonical.get(sp.sheet) not in S.SHEET_OWNED:
            continue
        header_row = sp.clear_from_row - 1
        letters = {c.column for c in sp.cells if c.row == header_row and c.value in check_headers}
        if not letters:
            continue
        sheets.append(
            SheetPlan(
                sp.sheet,
                [c for c in sp.cells if c.column in letters],
                owned_columns=tuple(sorted(letters)),
                clear_from_row=sp.clear_from_row,
            )
        )
    return WritePlan(sheets)


def check_summary(result: CheckResult) -> str:
    """The message box text of 校验台账."""
    report = result.report
    day = result.today.isoformat()
    if not report.issues:
        return f"校验完成（统计日期 {day}）：未发现问题。"
    lines = [
        f"校验完成（统计日期 {day}）：错误 {len(report.errors)} 条，警告 {len(report.warnings)} 条。",
        "全部问题已列在“校验结果”工作表（点“单元格”列的链接可跳到出错位置），各行的“【自动】校验”列也已标出。",
        "",
    ]
    issues = report.sorted()
    for n, issue in enumerate(issues[:MAX_LISTED_ISSUES], start=1):
        level = "错误" if issue.is_error else "警告"
        text = issue.message if len(issue.message) <= 80 else issue.message[:79] + "…"
        lines.append(f"{n}. [{level}] {issue.location.describe()}：{text}")
    if len(issues) > MAX_LISTED_ISSUES:
        lines.append(f"……另有 {len(issues) - MAX_LISTED_ISSUES} 条，见“校验结果”工作表。")
    return "\n".join(lines)


def status_summary(result: CheckResult) -> str:
    """The message box text of 更新状态 (figures as in the 统计 sheet)."""
    st = result.status.stats
    c, p = st.overall, st.problems_overall
    rate = "—" if c.rate is None else f"{c.rate:.1%}"
    rule = result.ledger.settings.long_term_rule
    lines = [
        f"整改状态已更新（统计日期 {result.today.isoformat()}）。",
        f"整改措施 {c.total} 项：已完成 {c.done} 项（其中逾期完成 {c.done_late} 项、已销号 {c.signed_off} 项），"
        f"正在推进 {c.open} 项（其中临期 {c.due_soon} 项、逾期 {c.overdue} 项），长期坚持 {c.long_term} 项；"
        f"完成率 {rate}（长期坚持{rule}）。",
        f"反馈问题 {p.total} 个：已完成整改 {p.done} 个，正在整改 {p.open} 个，长期坚持 {p.long_term} 个。",
    ]
    report = result.report
    if report.issues:
        lines.append(f"校验：错误 {len(report.errors)} 条，警告 {len(report.warnings)} 条，详见“校验结果”工作表。")
    else:
        lines.append("校验：未发现问题。")
    return "\n".join(lines)


def inbox_folder(setting: str, ledger_folder: Path) -> Path:
    """The county inbox: the setting (relative to the ledger's folder) or ``<ledger folder>/县区报送``."""
    text = setting.strip().strip('"')
    if not text:
        return ledger_folder / DEFAULT_INBOX
    path = Path(text).expanduser()
    return path if path.is_absolute() else ledger_folder / path


def unique_path(path: Path) -> Path:
    """``path``, or ``name(2).ext``, ``name(3).ext``… when it exists (never overwrite a document staff may have edited)."""
    if not path.exists():
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem}({n}){path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def _period(session: _Session) -> str | None:
    """报送期 from 基本信息 when filled (checked by the counties module), else None: its default, last month."""
    return session.setting_text(PERIOD_SETTING) or None


def _period_label(period: str | None, today: date) -> str:
    """'2025年3月' for the period a job used (the counties module's default when ``period`` is None)."""
    from toolkit.counties.metadata import parse_period, period_label, previous_period

    try:
        return period_label(parse_period(period) if period else previous_period(today))
    except ValueError:  # the counties module refused it already; show it as typed
        return str(period)


def consolidation_summary(outcome: Any, written: int, report_path: Path | None) -> str:
    """The message box text of 汇总县区报送."""
    from toolkit.counties.metadata import period_label

    lines = [
        f"已汇总 {period_label(outcome.period)} 的县区报送：收到 {len(outcome.files)} 份文件，"
        f"导入 {len(outcome.accepted)} 份，退回 {len(outcome.rejected)} 份；台账中修改了 {len(outcome.changes)} 处。",
    ]
    states: dict[str, list[str]] = {}
    for county in outcome.counties:
        states.setdefault(county.state, []).append(county.county)
    for state, names in states.items():
        lines.append(f"{state}：{'、'.join(names)}")
    if outcome.conflicts:
        lines.append(f"有 {len(outcome.conflicts)} 处冲突未导入，需要人工核对（见汇总报告）。")
    if outcome.ignored:
        lines.append(f"文件夹中有 {len(outcome.ignored)} 个文件不是报送表，已跳过。")
    if report_path is not None:
        lines.append(f"汇总报告：{report_path}")
    lines.append(f"已写入 {written} 个单元格（状态、统计、变更记录等已同步更新）。请检查后保存台账（Ctrl+S）。")
    return "\n".join(lines)


def _missing_feature(exc: ImportError, caption: str) -> None:
    """Turn "toolkit.counties is not installed" into a message; re-raise any other import failure."""
    if isinstance(exc, ModuleNotFoundError) and exc.name in ("toolkit.counties", "toolkit"):
        raise ButtonError(f"本机安装的整改台账工具还没有“{caption}”功能，请升级 zhenggai-toolkit 后再试。") from exc
    if "cannot import name" in str(exc) and "toolkit.counties" in str(exc):
        raise ButtonError(
            f"本机安装的整改台账工具版本不一致，缺少“{caption}”功能，请重新安装 zhenggai-toolkit。"
        ) from exc
    raise exc
