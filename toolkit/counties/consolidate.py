"""Monthly consolidation: every file of an inbox folder → checked returns → ONE lossless write.

:func:`consolidate_folder` reads the master ledger, checks every file of the inbox in isolated
worker processes (:mod:`toolkit.excel.untrusted`), identifies each file's county from its hidden
metadata (never from its name), resolves duplicates, applies the accepted rows to the ledger model,
re-runs the ordinary check + status on the updated model and writes everything in one plan through
:func:`toolkit.excel.safe_write.write_safely` (one backup, atomic, refused while the workbook is
open): the staff columns 完成情况/完成日期/整改进展/佐证材料 of the changed rows, the status columns,
校验结果 and 统计, the 变更记录 log (existing rows re-emitted, new rows appended), the
``【自动】本期报送``/``【自动】报送期`` columns of 县区 and the period's row of 月度进展. A report
workbook goes beside the ledger. A second run over the same inbox finds nothing to change and
leaves the ledger's bytes as they are. A run in which no file could be accepted (or an empty
inbox) writes only the period's states into 县区.

Rules (also in the report and docs/rules/counties.md):

- **Inbox**: every file of the folder and of its subfolders (one folder per county, unzipped
  mail attachments) is checked; lock files, hidden entries, ``__MACOSX`` and the toolkit's own
  folders (reports, backups, issued templates) are skipped and listed. An empty inbox is a note
  (:data:`~toolkit.counties.model.EMPTY_INBOX`, "没有报送文件"), not an error.
- **Which ledger**: a return belongs to the ledger whose 台账编号 it carries
  (:func:`toolkit.counties.metadata.foreign_reason`).

- **Late**: a file is late when its submission time (China time) falls on a day after the
  deadline — the ``deadline`` argument, else the return deadline stored in its template. The
  submission time is the last-saved time the office software wrote into the file's properties,
  else (missing, or before the template was issued) the file's modification time.
- **Several files from one county**: rejected files are reported and otherwise ignored. Among the
  accepted ones, ordered by submission time (then file name), the latest is applied only when
  each file is a *strict update* of the one before it: every cell the earlier file changed is
  kept or carried further (完成情况 never goes backwards, 完成日期 unchanged, 整改进展/佐证材料 keep
  the earlier text and may add to it, 填报人/联系电话 still filled). Otherwise all of that
  county's files are rejected and the county is asked to send one.
- **Conflicts**: a county's edit to a field whose master value changed after the template was
  issued (and did not come from this county's own return of the period, per 变更记录) is not
  applied; the whole row is withheld and listed for staff to resolve.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from toolkit.core import schema as S
from toolkit.core.check import check_ledger, resolve_today
from toolkit.core.errors import ToolkitError
from toolkit.core.intake import cell_text, load_ledger
from toolkit.core.model import CellError, Ledger, Table
from toolkit.core.plan import CellStyle, CellWrite, SheetPlan, WritePlan
from toolkit.core.report import Issue, Location
from toolkit.core.writeplan import DATE_STYLE, HEADER_STYLE, MONTHLY_COLUMNS, OWNED_HEADER_STYLE, PERCENT
from toolkit.counties.identity import read_ledger_id
from toolkit.counties.metadata import (
    LABELS,
    MASTER_FIELDS,
    china_now,
    issued_hash,
    parse_period,
    period_label,
    previous_period,
)
from toolkit.counties.model import (
    CHANGELOG_COLUMNS,
    EMPTY_INBOX,
    LATE,
    MISSING,
    NO_FILES_TEXT,
    NOT_REQUIRED,
    PERIOD_COLUMN_HEADER,
    REJECTED_STATE,
    REPORT_DIR_NAME,
    SHORT_REASONS,
    STATE_STYLES,
    SUBMITTED,
    AppliedChange,
    ConsolidationResult,
    CountySubmission,
)
from toolkit.counties.report import PendingReport
from toolkit.counties.returns import (
    ACCEPTED,
    BLANK,
    SUPERSEDED,
    MasterContext,
    ReturnCheck,
    check_return,
)
from toolkit.counties.template import TEMPLATE_DIR_NAME, county_tasks
from toolkit.excel.ledger_file import read_ledger_tables
from toolkit.excel.safe_write import BACKUP_DIR_NAME

Progress = Callable[[int, int, str], None]


@dataclass
class MasterRead:
    """The master as a caller read it: the file's (size, mtime_ns) when read, its tables, the ledger and
    intake issues loaded from them (consolidation merges into this ledger), and the as-of date."""

    stat: tuple[int, int]
    tables: dict[str, Table]
    loaded: tuple[Ledger, list[Issue]]
    today: date
    ahead: Any = None  # what the write reads first, read ahead while the master was read (safe_write.ReadAhead)

# --------------------------------------------------------------------------------------
# Entry point


def consolidate_folder(
    ledger_path: str | Path,
    inbox_dir: str | Path,
    *,
    period: str | None = None,
    dry_run: bool = False,
    today: date | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    deadline: date | None = None,
    report_dir: str | Path | None = None,
    backup_dir: str | Path | None = None,
    workers: int = 2,
    read_as: tuple[tuple[int, int], dict[str, Table]] | None = None,
    master: Callable[[], MasterRead] | None = None,
) -> ConsolidationResult:
    """Consolidate the county returns in ``inbox_dir`` into the master ledger at ``ledger_path``.

    ``period`` ('2025-03') defaults to the month before ``today`` (itself defaulting to
    基本信息's 统计截止日期, else the clock); ``now`` (default: China time) stamps 变更记录 and the
    report; ``deadline``
    overrides the return deadline stored in the templates; ``progress(done, total, file name)``
    is called as files are checked. ``dry_run`` computes everything and lists the changes but
    writes nothing (neither the ledger nor the report). ``result.plan`` is what is (or, in a dry
    run, would be) written: the whole merge when a file was accepted, else only 县区's states.
    ``read_as`` = ((size, mtime_ns), tables): the master as the caller already read it (the job
    layer), so that it is not read a second time; the write is refused if the file changed since.
    ``master()``: the caller reads the master itself, called once the county reads have started
    (so both cores work) — see :class:`MasterRead`.
    Raises
    :class:`~toolkit.core.errors.ToolkitError` (Chinese message) when the ledger cannot be read or
    written (e.g. it is open in Excel); a bad county file never raises.
    """
    ledger_path = Path(ledger_path)
    inbox = Path(inbox_dir)
    if not inbox.is_dir():
        raise ToolkitError(f"找不到报送文件夹“{inbox}”：请确认路径，或先新建该文件夹并把县区报回的文件放进去。")
    report_folder = Path(report_dir) if report_dir is not None else ledger_path.parent / REPORT_DIR_NAME
    skip = [p for p in (report_folder, backup_dir) if p is not None]
    paths, ignored = list_inbox(inbox, ledger_path, skip=skip)
    # The workers start reading the county files now, while this process reads and checks the master.
    with InboxReads(paths, workers=workers, root=inbox) as reads:
        return _consolidate(
            ledger_path,
            inbox,
            reads,
            ignored,
            report_folder,
            period=period,
            dry_run=dry_run,
            today=today,
            now=now,
            progress=progress,
            deadline=deadline,
            backup_dir=backup_dir,
            read_as=read_as,
            master=master,
        )


def _consolidate(
    ledger_path: Path,
    inbox: Path,
    reads: InboxReads,
    ignored: list[tuple[Path, str]],
    report_folder: Path,
    *,
    period: str | None,
    dry_run: bool,
    today: date | None,
    now: datetime | None,
    progress: Progress | None,
    deadline: date | None,
    backup_dir: str | Path | None,
    read_as: tuple[tuple[int, int], dict[str, Table]] | None,
    master: Callable[[], MasterRead] | None = None,
) -> ConsolidationResult:
    loaded = ahead = None
    if master is not None:
        given = master()
        read_as, tables, loaded, today = (given.stat, given.tables), given.tables, given.loaded, given.today
        ahead, given.ahead = given.ahead, None
    elif read_as is not None:
        tables = read_as[1]
    else:
        try:
            st = ledger_path.stat()
        except OSError:
            st = None  # read_ledger_tables says what is wrong
        tables = read_ledger_tables(ledger_path)
        read_as = ((st.st_size, st.st_mtime_ns), tables) if st is not None else None
    ledger, intake_issues = loaded if loaded is not None else load_ledger(tables, source=ledger_path.name)
    if S.SHEET_TASKS not in ledger.layout.header_rows:
        raise ToolkitError(
            f"台账“{ledger_path.name}”中找不到可用的任务清单，无法汇总县区报送：请先用 zhenggai check 检查台账。"
        )
    day = resolve_today(ledger, today, clock_today=china_now().date())
    try:
        period = parse_period(period) if period else previous_period(day)
    except ValueError as exc:
        raise ToolkitError(str(exc)) from None
    stamp = (now or china_now()).replace(microsecond=0)
    result = ConsolidationResult(ledger_path, inbox, period, day, stamp, dry_run)

    changelog = tables.get(S.SHEET_CHANGELOG)
    ctx = MasterContext.build(
        ledger,
        ledger_id=read_ledger_id(tables),
        period=period,
        today=day,
        deadline=deadline,
        own_values=own_values_from_log(changelog, period),
    )
    result.ignored = ignored
    if not reads.paths:
        result.notes.append(empty_inbox_note(inbox, len(result.ignored)))
    result.files = reads.check(ctx, progress=progress)
    result.counties = resolve_counties(ledger, result.files)
    result.changes, ledger_notes = apply_changes(ledger, result.counties)
    result.notes.extend(ledger_notes)

    changed_cells = {c.master_cell for c in result.changes}
    task_sheet = ledger.layout.sheet(S.SHEET_TASKS)
    kept = [
        i
        for i in intake_issues
        if not (i.location.sheet == task_sheet and f"{i.location.column}{i.location.row}" in changed_cells)
    ]
    result.check = check_ledger(ledger, today=day, intake_issues=kept)
    if result.accepted:
        result.plan = build_consolidation_plan(ledger, result, tables)
    else:
        # Nothing accepted (an empty inbox, or every county must resend): the ledger's data stays
        # as it is, but 县区 shows this period's states, never last period's 已报送.
        county_plan = plan_counties(ledger, result, tables)
        result.plan = WritePlan([county_plan] if county_plan is not None else [])

    from toolkit.excel.safe_write import LedgerWriteError, write_safely

    # The report's content is final here (it does not depend on the write): it is made while the master's
    # read-back runs and put in place only once the write has succeeded.
    report = None if dry_run else PendingReport(result, report_folder)
    try:
        if result.plan.sheets:
            try:
                # The tables already read list the changes (no second read of the master); the write is
                # refused when the master was saved by someone since it was read.
                result.written = write_safely(
                    ledger_path, result.plan, dry_run=dry_run, backup_dir=backup_dir, now=stamp, read_as=read_as,
                    during_read_back=report.make_ahead if report is not None else None, ahead=ahead,
                )
            except LedgerWriteError as exc:
                raise ToolkitError(str(exc)) from exc
            except FileNotFoundError as exc:
                raise ToolkitError(str(exc)) from exc
        if report is not None:
            result.report_path = report.commit()
    finally:
        if report is not None:
            report.discard()
    return result


def empty_inbox_note(inbox: Path, ignored: int) -> Issue:
    """The note of a run over an inbox without any file to check (said plainly, not an error)."""
    skipped = f"（另有 {ignored} 项已跳过，如临时文件、工具生成的文件夹，见汇总报告的“文件清单”）" if ignored else ""
    return Issue(
        EMPTY_INBOX,
        f"{NO_FILES_TEXT}：报送文件夹“{inbox}”及其子文件夹中没有可汇总的文件{skipped}。"
        "请把县区报回的 .xlsx 报送表放入该文件夹（可按县区分子文件夹，如解压后的邮件附件）后重新汇总。",
        Location(inbox.name),
        "warning",
    )


# --------------------------------------------------------------------------------------
# Files


# Folders of the inbox that are not returns: the toolkit's own output and archive debris.
SKIPPED_FOLDERS: dict[str, str] = {
    REPORT_DIR_NAME: "汇总报告文件夹（工具生成）",
    BACKUP_DIR_NAME: "台账备份文件夹（工具生成）",
    TEMPLATE_DIR_NAME: "下发的空白报送表文件夹（工具生成）",
    "__MACOSX": "压缩包解压时产生的系统文件夹",
}


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path


def list_inbox(
    inbox: Path, ledger_path: Path, *, skip: Iterable[str | Path] = ()
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files to check, from the inbox and its subfolders (sorted by path), and entries skipped, with why.

    ``skip``: further folders to leave out (the report and backup folders of this run).
    """
    paths: list[Path] = []
    ignored: list[tuple[Path, str]] = []
    ledger_real = _real(ledger_path)
    skip_real = {_real(Path(p)) for p in skip}

    def walk(folder: Path) -> None:
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            name = entry.name
            if name.startswith("~$") or name.startswith(".~lock."):
                ignored.append((entry, "Excel/WPS/LibreOffice 打开文件时留下的临时文件"))
            elif name.startswith("."):
                ignored.append((entry, "隐藏文件" if entry.is_file() else "隐藏文件夹"))
            elif entry.is_symlink() and entry.is_dir():
                ignored.append((entry, "文件夹链接（只汇总报送文件夹中实际的子文件夹）"))
            elif entry.is_dir():
                why = SKIPPED_FOLDERS.get(name) or ("工具生成的文件夹" if _real(entry) in skip_real else "")
                if why:
                    ignored.append((entry, why))
                else:
                    walk(entry)
            elif _real(entry) == ledger_real:
                ignored.append((entry, "这是台账本身"))
            elif entry.is_file():
                paths.append(entry)
            else:
                ignored.append((entry, "不是普通文件"))

    walk(inbox)
    paths.sort(key=lambda p: p.relative_to(inbox).as_posix())
    return paths, ignored


def display_name(path: Path, root: Path | None) -> str:
    """A file's name in messages: its path inside the inbox (``英德市/报送表.xlsx``)."""
    if root is None:
        return path.name
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


_FORMAT_NAMES = {
    "xls": "Excel 97-2003（.xls）或 WPS 表格（.et）",
    "xlsb": "Excel 二进制工作簿（.xlsb）",
    "ods": "OpenDocument 表格（.ods）",
}


def _refused(path: Path, ctx: MasterContext, code: str, message: str, display: str = "") -> ReturnCheck:
    out = ReturnCheck(path, display=display)
    out.name_hint = next((c for c in sorted(ctx.counties, key=len, reverse=True) if c in path.name), "")
    out.reject(code, message)
    return out.finish()


def _format_problem(path: Path) -> tuple[str, str] | None:
    """(code, message) refusing, before any parsing, what is not a macro-free .xlsx (the real type, from the content)."""
    from toolkit.excel.read import UnreadableWorkbook, detect_format

    try:
        fmt = detect_format(path)
    except UnreadableWorkbook as exc:
        return exc.code, str(exc)
    if fmt == "xlsm" or path.suffix.lower() in (".xlsm", ".xlam", ".xltm"):
        return (
            "macro-file",
            "文件含宏（.xlsm/.xlam 或内含 VBA 工程），为安全起见不予读取：请在下发的 .xlsx 报送表上填写，"
            "保存时选择“Excel 工作簿(*.xlsx)”，不要启用宏。",
        )
    if fmt != "xlsx":
        return (
            "not-xlsx",
            f"文件是{_FORMAT_NAMES.get(fmt, fmt)}格式，报送表必须保持下发时的 .xlsx 格式"
            "（另存为其他格式会丢失校验信息）：请在 Excel 或 WPS 中打开，“另存为”Excel 工作簿（.xlsx）后重新报送。",
        )
    return None


# Run in each reader worker after its read: the file's last-saved time and formula cells, and the
# part of the check that needs no master (metadata, read-only hash, normalised values).
PREPARE_IN_WORKER = "toolkit.counties.returns:prepare_in_worker"


class InboxReads:
    """The files of an inbox being read: format refusals at once, the rest by ONE pool of workers.

    Created before the master ledger is read, so that the workers pre-check (sizes, zip bombs,
    DTDs, extents), read and prepare (:func:`~toolkit.counties.returns.prepare_return`) the
    county files under the per-file time and memory limits while this process reads and checks
    the master; :meth:`check` then finishes each file against the master as its answer comes.
    Use it as a context manager (the workers are stopped on the way out, whatever happened).
    """

    def __init__(self, paths: list[Path], *, workers: int = 2, root: Path | None = None) -> None:
        from toolkit.excel.untrusted.sandbox import start_read_stream

        self.paths = paths
        self.names = {p: display_name(p, root) for p in paths}
        self.refused: dict[Path, tuple[str, str]] = {}
        readable: list[Path] = []
        for p in paths:
            problem = _format_problem(p)
            if problem is None:
                readable.append(p)
            else:
                self.refused[p] = problem
        self.stream = (
            start_read_stream(readable, workers=workers, check=True, post=PREPARE_IN_WORKER, post_tables=True)
            if readable
            else None
        )

    def check(self, ctx: MasterContext, *, progress: Progress | None = None) -> list[ReturnCheck]:
        """Every file checked against the master (in the order given); one bad file never stops the rest."""
        from toolkit.excel.untrusted import RejectedFile

        total = len(self.paths)
        done = 0
        outcomes: dict[Path, ReturnCheck] = {}
        for p, (code, message) in self.refused.items():
            outcomes[p] = _refused(p, ctx, code, message, self.names[p])
            done += 1
            if progress:
                progress(done, total, self.names[p])
        for p, got in self.stream if self.stream is not None else ():
            if isinstance(got, RejectedFile):
                outcomes[p] = _refused(p, ctx, got.code, str(got), self.names[p])
            else:
                tables, prepared = got
                outcomes[p] = check_return(p, tables, ctx, prepared=prepared, display=self.names[p])
            done += 1
            if progress:
                progress(done, total, self.names[p])
        return [outcomes[p] for p in self.paths]

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()

    def __enter__(self) -> InboxReads:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def check_files(
    paths: list[Path],
    ctx: MasterContext,
    *,
    progress: Progress | None = None,
    workers: int = 2,
    root: Path | None = None,
) -> list[ReturnCheck]:
    """Pre-check, read (isolated workers) and check every file; one bad file never stops the rest.

    Files are named by their path inside ``root`` (the inbox) in messages and the report.
    """
    with InboxReads(paths, workers=workers, root=root) as reads:
        return reads.check(ctx, progress=progress)


# --------------------------------------------------------------------------------------
# Counties and duplicates

_STATE_RANK = {S.STATE_NOT_STARTED: 0, S.STATE_IN_PROGRESS: 1, S.STATE_LONG_TERM: 1, S.STATE_DONE: 2}


def strict_update_problems(earlier: ReturnCheck, later: ReturnCheck, *, limit: int = 5) -> list[str]:
    """Why ``later`` is not a strict update of ``earlier`` (empty when it is)."""
    problems: list[str] = []
    assert earlier.meta is not None
    issued = {r.task_id: r.issued for r in earlier.meta.rows}
    for tid, values in earlier.values.items():
        mine = later.values.get(tid)
        for key, e in values.items():
            touched = e != "" if key not in MASTER_FIELDS else issued_hash(key, e) != issued.get(tid, {}).get(key)
            if not touched:
                continue
            lv = None if mine is None else mine.get(key)
            ok = lv is not None and (
                lv == e
                or (
                    key == "state"
                    and lv in _STATE_RANK
                    and e in _STATE_RANK
                    and _STATE_RANK[lv] >= _STATE_RANK[e]
                    and S.STATE_LONG_TERM not in (lv, e)
                )
                or (key in ("progress", "evidence") and e in lv)
                or (key in ("filler", "phone") and lv != "")
            )
            if not ok:
                problems.append(
                    f"任务 {tid} 的“{LABELS[key]}”：前一份为“{e or BLANK}”，后一份为“{lv or BLANK if lv is not None else '（无此行）'}”"
                )
                if len(problems) >= limit:
                    return problems
    return problems


def _order_key(f: ReturnCheck) -> tuple[datetime, str]:
    return (f.submitted_at or datetime.min, f.name)


def resolve_counties(ledger: Ledger, files: list[ReturnCheck]) -> list[CountySubmission]:
    """Each county's state for the period, the file applied for it, duplicates settled."""
    due = {g.county: len(g.tasks) for g in county_tasks(ledger)}
    by_county: dict[str, list[ReturnCheck]] = {}
    for f in files:
        if f.county:
            by_county.setdefault(f.county, []).append(f)
    out: list[CountySubmission] = []
    for c in ledger.counties:
        if not c.name:
            continue
        mine = sorted(by_county.get(c.name, []), key=_order_key)
        sub = CountySubmission(c.name, MISSING if due.get(c.name) else NOT_REQUIRED, due.get(c.name, 0), mine)
        accepted = [f for f in mine if f.status == ACCEPTED]
        if len(accepted) > 1:
            _settle_duplicates(accepted)
            accepted = [f for f in mine if f.status == ACCEPTED]
        if accepted:
            sub.applied = accepted[-1]
            sub.state = LATE if sub.applied.late else SUBMITTED
        elif mine:
            sub.state = REJECTED_STATE
            latest = mine[-1]
            codes = [i.code for i in latest.errors]
            reason = SHORT_REASONS.get(codes[0], "文件有误") if codes else "文件有误"
            sub.reason = reason + (f"等{len(codes)}项" if len(codes) > 1 else "")
        out.append(sub)
    return out


def _settle_duplicates(accepted: list[ReturnCheck]) -> None:
    """Latest wins if it strictly updates each earlier file in turn; else all are rejected."""
    for earlier, later in zip(accepted, accepted[1:]):
        problems = strict_update_problems(earlier, later)
        if problems:
            names = "、".join(f"“{f.name}”（{_when(f)}）" for f in accepted)
            for f in accepted:
                f.reject(
                    "duplicate-inconsistent",
                    f"{f.county}本期报送了{len(accepted)}份报送表：{names}；较晚的一份不是较早一份的完整更新（"
                    + "；".join(problems)
                    + "），无法判断以哪份为准，均未导入：请县区确认后只报送一份（在最终版本上修改后重新报送）。",
                )
                f.finish()
            return
    latest = accepted[-1]
    for f in accepted[:-1]:
        f.status = SUPERSEDED
        f.note = (
            f"已被同一县区较晚报送的“{latest.name}”（{_when(latest)}）取代：后者包含前者的全部填报内容，按后者导入。"
        )
        f.changes = []


def _when(f: ReturnCheck) -> str:
    return f"{f.submitted_at:%Y-%m-%d %H:%M}" if f.submitted_at else "时间不详"


# --------------------------------------------------------------------------------------
# Applying


def apply_changes(ledger: Ledger, counties: list[CountySubmission]) -> tuple[list[AppliedChange], list[Issue]]:
    """Write the applied files' changes into the ledger model; returns them with master cells."""
    tasks = {}
    for t in ledger.tasks:
        tasks.setdefault(t.id, t)
    sheet = ledger.layout.sheet(S.SHEET_TASKS)
    applied: list[AppliedChange] = []
    notes: list[Issue] = []
    missing_cols: set[str] = set()
    for sub in counties:
        f = sub.applied
        if f is None:
            continue
        for ch in f.changes:
            letter = ledger.layout.column(S.SHEET_TASKS, ch.key)
            if letter is None:
                if ch.key not in missing_cols:
                    missing_cols.add(ch.key)
                    notes.append(
                        Issue(
                            "ledger-column-missing",
                            f"台账任务清单没有“{ch.label}”列，县区填报的{ch.label}未导入：请在任务清单表头添加“{ch.label}”列后重新汇总。",
                            Location(
                                ledger.source, sheet, ledger.layout.header_rows.get(S.SHEET_TASKS), None, ch.label
                            ),
                        )
                    )
                continue
            t = tasks[ch.task_id]
            if ch.key == "state":
                t.state, t.state_text = ch.new, ch.new
            else:
                setattr(t, ch.key, ch.value)
            applied.append(AppliedChange(sub.county, f.name, ch, f"{letter}{t.row}"))
    return applied, notes


# --------------------------------------------------------------------------------------
# The plan


def own_values_from_log(log: Table | None, period: str) -> dict[tuple[str, str, str], str]:
    """(county, task, field) → the latest value that county's returns of ``period`` brought in."""
    out: dict[tuple[str, str, str], str] = {}
    if log is None:
        return out
    keys = {v: k for k, v in LABELS.items()}
    for row in log.rows[1:] if log.first_row == 1 else log.rows:
        cells = [cell_text(v) for v in (row + [None] * 8)[:8]]
        _, p, county, _, tid, label, _, new = cells
        if p == period and label in keys:
            out[(county, tid, keys[label])] = "" if new == BLANK else new
    return out


def _show(value: str) -> str:
    return value if value != "" else BLANK


def _reemit(table: Table | None, first_row: int) -> tuple[list[CellWrite], int]:
    """Every non-empty cell of an owned sheet from ``first_row`` down, as read; and the last used row."""
    cells: list[CellWrite] = []
    last = first_row - 1
    if table is None:
        return cells, last
    for i, row in enumerate(table.rows):
        r = table.excel_row(i)
        if r < first_row:
            continue
        for j, v in enumerate(row):
            if v is None or (isinstance(v, str) and v == ""):
                continue
            cells.append(CellWrite(r, table.letter(j), str(v) if isinstance(v, CellError) else v))
            last = max(last, r)
    return cells, last


def _header(cells: list[CellWrite], columns: Iterable[str]) -> None:
    for j, h in enumerate(columns):
        cells.append(CellWrite(1, S.column_letter(j), h, HEADER_STYLE))


def plan_changelog(result: ConsolidationResult, table: Table | None) -> SheetPlan:
    """变更记录: the existing rows as they are, then one row per applied change."""
    cells: list[CellWrite] = []
    _header(cells, CHANGELOG_COLUMNS)
    old, last = _reemit(table, 2)
    cells.extend(old)
    when = result.now.strftime("%Y-%m-%d %H:%M:%S")
    for n, a in enumerate(result.changes, start=last + 1):
        ch = a.change
        for j, v in enumerate(
            (when, result.period, a.county, a.file, ch.task_id, ch.label, _show(ch.old), _show(ch.new))
        ):
            cells.append(CellWrite(n, S.column_letter(j), v, CellStyle(wrap=j >= 6) if j >= 6 else None))
    widths = {"A": 19, "B": 9, "C": 14, "D": 34, "E": 9, "F": 10, "G": 40, "H": 40}
    return SheetPlan(S.SHEET_CHANGELOG, cells, owned_sheet=True, clear_from_row=1, column_widths=widths)


def _month_key(v: Any) -> str:
    if isinstance(v, (date, datetime)):
        return f"{v.year:04d}-{v.month:02d}"
    try:
        return parse_period(cell_text(v))
    except ValueError:
        return cell_text(v)


def plan_monthly(result: ConsolidationResult, table: Table | None) -> SheetPlan:
    """月度进展: one row per period, this period's row (re)computed from the merged ledger."""
    assert result.check is not None
    rows: dict[str, list[Any]] = {}
    if table is not None:
        for i, row in enumerate(table.rows):
            if table.excel_row(i) < 2 or not row or row[0] in (None, ""):
                continue
            values = (list(row) + [None] * len(MONTHLY_COLUMNS))[: len(MONTHLY_COLUMNS)]
            rows[_month_key(values[0])] = [_month_key(values[0]), *values[1:]]
    o = result.check.status.stats.overall
    rows[result.period] = [result.period, result.today, o.total, o.done, o.open, o.overdue, o.long_term, o.rate]
    cells: list[CellWrite] = []
    _header(cells, MONTHLY_COLUMNS)
    for n, key in enumerate(sorted(rows), start=2):
        for j, v in enumerate(rows[key]):
            if isinstance(v, CellError):
                v = str(v)
            style = DATE_STYLE if j == 1 else PERCENT if j == 7 else None
            cells.append(CellWrite(n, S.column_letter(j), v, style))
    widths = {S.column_letter(j): 11 for j in range(len(MONTHLY_COLUMNS))}
    return SheetPlan(S.SHEET_MONTHLY, cells, owned_sheet=True, clear_from_row=1, column_widths=widths)


def _header_letter(table: Table | None, header_row: int, header: str) -> str | None:
    """The column whose cell in ``header_row`` reads ``header`` (normalised), if any."""
    if table is None:
        return None
    i = header_row - table.first_row
    if not 0 <= i < len(table.rows):
        return None
    target = S.normalize_header(header)
    for j, v in enumerate(table.rows[i]):
        if isinstance(v, str) and S.normalize_header(v) == target:
            return table.letter(j)
    return None


def plan_counties(
    ledger: Ledger, result: ConsolidationResult, tables: dict[str, Table] | None = None
) -> SheetPlan | None:
    """县区: 【自动】本期报送 (the period's state) and 【自动】报送期 (which period) for every county row.

    Both columns are found by their header, else added in the first free columns of the header row.
    """
    if S.SHEET_COUNTIES not in ledger.layout.header_rows:
        return None
    header_row = ledger.layout.header_rows[S.SHEET_COUNTIES]
    sheet = ledger.layout.sheet(S.SHEET_COUNTIES)
    col = S.COUNTY_OWNED[0]
    free = ledger.layout.next_free_column.get(S.SHEET_COUNTIES, 0)
    letter = ledger.layout.columns.get(S.SHEET_COUNTIES, {}).get("owned:" + col.key)
    if letter is None:
        letter = S.column_letter(free)
        free += 1
    period_letter = _header_letter((tables or {}).get(sheet), header_row, PERIOD_COLUMN_HEADER)
    if period_letter is None:
        period_letter = S.column_letter(free)
    cells = [
        CellWrite(header_row, letter, col.header, OWNED_HEADER_STYLE),
        CellWrite(header_row, period_letter, PERIOD_COLUMN_HEADER, OWNED_HEADER_STYLE),
    ]
    label = period_label(result.period)
    states = {s.county: s for s in result.counties}
    for c in ledger.counties:
        sub = states.get(c.name)
        if sub is not None:
            cells.append(CellWrite(c.row, letter, sub.text, STATE_STYLES.get(sub.state)))
            cells.append(CellWrite(c.row, period_letter, label, CellStyle(align="center")))
    return SheetPlan(sheet, cells, owned_columns=(letter, period_letter), clear_from_row=header_row + 1)


def build_consolidation_plan(ledger: Ledger, result: ConsolidationResult, tables: dict[str, Table]) -> WritePlan:
    """The status plan of the merged ledger plus the staff cells, 县区, 变更记录 and 月度进展."""
    assert result.check is not None
    plan = WritePlan(list(result.check.plan.sheets))
    task_sheet = ledger.layout.sheet(S.SHEET_TASKS)
    staff: list[CellWrite] = []
    letters: set[str] = set()
    for a in result.changes:
        letter = a.master_cell.rstrip("0123456789")
        staff.append(CellWrite(int(a.master_cell[len(letter) :]), letter, a.change.value))
        letters.add(letter)
    if staff:
        # The one plan that writes staff columns: named in staff_columns so the patcher lets them through.
        columns = tuple(sorted(letters))
        i = next((k for k, sp in enumerate(plan.sheets) if sp.sheet == task_sheet), None)
        if i is None:
            header = ledger.layout.header_rows[S.SHEET_TASKS]
            plan.sheets.append(SheetPlan(task_sheet, staff, staff_columns=columns, clear_from_row=header + 1))
        else:
            sp = plan.sheets[i]
            plan.sheets[i] = replace(sp, cells=[*sp.cells, *staff], staff_columns=columns)
    county_plan = plan_counties(ledger, result, tables)
    if county_plan is not None:
        plan.sheets.append(county_plan)
    plan.sheets.append(plan_changelog(result, tables.get(S.SHEET_CHANGELOG)))
    plan.sheets.append(plan_monthly(result, tables.get(S.SHEET_MONTHLY)))
    return plan


__all__ = [
    "consolidate_folder",
    "empty_inbox_note",
    "display_name",
    "plan_counties",
    "SKIPPED_FOLDERS",
    "ConsolidationResult",
    "CountySubmission",
    "AppliedChange",
    "check_files",
    "InboxReads",
    "list_inbox",
    "resolve_counties",
    "strict_update_problems",
    "apply_changes",
    "build_consolidation_plan",
    "SUBMITTED",
    "LATE",
    "REJECTED_STATE",
    "MISSING",
    "NOT_REQUIRED",
    "REPORT_DIR_NAME",
]
