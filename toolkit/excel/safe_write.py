"""Write a plan into the staff's ledger so that the ledger can never be lost or half-written.

Order of work in :func:`write_safely`:

1. refuse when the workbook is open (Excel/WPS owner file ``~$<name>``, LibreOffice
   ``.~lock.<name>#``, on Windows also a share lock);
2. read the current values with python-calamine and list the changes (``dry_run`` stops here);
3. compute the patch in memory (every refusal happens here, before any file is created);
   when it changes nothing, stop: the ledger's bytes and mtime stay as they are;
4. copy the ledger to ``台账备份/<stem>_<YYYYmmdd-HHMMSS><suffix>`` beside it (at most
   ``keep_backups`` kept);
5. write the patched copy to a hidden temporary file in the same folder (named
   ``.~<name>.<pid>.<random>.tmp``, so no ``*.xlsx`` glob ever picks it up), fsync it;
6. verify the copy: zip CRCs, untouched members byte-identical to the original, every plan
   cell (and every cleared cell) read back through python-calamine;
7. check that nobody opened or saved the ledger meanwhile, then ``os.replace`` the temporary
   file over the ledger (atomic on the same file system) and fsync the folder.

A crash at any point leaves either the old or the new ledger in place (plus, at worst, a
stray temporary file that the next run removes once it is older than ten minutes).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from toolkit.core.model import Table
from toolkit.core.plan import CellValue, Formula, WritePlan
from toolkit.core.schema import column_index, column_letter
from toolkit.excel.patch import (
    LedgerWriteError,
    OpenedPackage,
    PatchRefused,
    PatchSummary,
    PreparedPatch,
    prepare_patch,
    read_ahead,
)
from toolkit.excel.patch.package import read_zip

__all__ = [
    "BACKUP_DIR_NAME",
    "CellChange",
    "LedgerReadOnly",
    "LedgerWriteError",
    "PatchRefused",
    "VerifyFailed",
    "WorkbookLocked",
    "WriteResult",
    "ReadAhead",
    "compute_changes",
    "read_ahead_of_write",
    "find_lock",
    "write_safely",
]

BACKUP_DIR_NAME = "台账备份"
STALE_TEMP_SECONDS = 600


class WorkbookLocked(LedgerWriteError):
    """The workbook is open in Excel, WPS or LibreOffice (or was changed while we worked). Nothing was written."""

    def __init__(self, message: str, *, user: str | None = None, lock_file: Path | None = None) -> None:
        super().__init__(message)
        self.user = user
        self.lock_file = lock_file


class LedgerReadOnly(LedgerWriteError):
    """The ledger file is marked read-only (file attribute / permission bits). Nothing was written."""


class VerifyFailed(LedgerWriteError):
    """The patched copy did not read back as planned; the ledger was left untouched."""


# Kinds of :class:`CellChange`.
VALUE = "value"  # the value (or formula) of a cell changes; ``new=None`` empties it
STYLE = "style"  # only the formatting of a cell changes; ``old`` is its (unchanged) value
SHEET = "sheet"  # a sheet is created without any cell to list
OTHER = "other"  # the package changes in a way no cell shows (a safety net; not expected)


@dataclass(frozen=True)
class CellChange:
    """One change a write makes: a cell's value, a cell's formatting, or a new sheet (see ``kind``)."""

    sheet: str
    cell: str
    old: object
    new: object
    kind: str = VALUE

    def describe(self) -> str:
        """Chinese one-liner such as ``任务清单!I5：“推进中” → “已逾期”`` or ``任务清单!I5：样式更新（值不变：“推进中”）``."""
        if self.kind == STYLE:
            return f"{self.sheet}!{self.cell}：样式更新（值不变：{_show(self.old)}）"
        if self.kind == SHEET:
            return f"新建工作表「{self.sheet}」"
        if self.kind == OTHER:
            return "工作簿内部结构更新（不改变任何单元格的值）"
        return f"{self.sheet}!{self.cell}：{_show(self.old)} → {_show(self.new)}"


@dataclass(frozen=True)
class WriteResult:
    """Outcome of :func:`write_safely`.

    ``written`` is True exactly when the ledger file was replaced. ``changes`` lists every
    change the write makes (or, in a dry run, would make) — values first, then style-only
    cells and new empty sheets — and is empty exactly when the file's bytes stay as they are.
    """

    path: Path
    changes: tuple[CellChange, ...]
    written: bool
    dry_run: bool = False
    backup: Path | None = None
    summary: PatchSummary | None = None

    @property
    def value_changes(self) -> int:
        """Number of cells whose value changes."""
        return sum(1 for c in self.changes if c.kind == VALUE)

    @property
    def style_changes(self) -> int:
        """Number of cells whose formatting alone changes."""
        return sum(1 for c in self.changes if c.kind == STYLE)


@dataclass(frozen=True)
class LockInfo:
    """Who holds a workbook open, as far as the lock file tells."""

    app: str
    lock_file: Path | None
    user: str | None


# ----------------------------------------------------------------------------- locks
def _owner_file_user(data: bytes) -> str | None:
    """User name from an Excel/WPS owner file ``~$<name>``.

    Layout written by Excel: byte 0 = name length n, the name in the ANSI code page padded
    with spaces to 54 bytes, byte 0x36 = n again, then the name in UTF-16LE (at 0x37, or 0x38
    after a zero byte). Some writers put UTF-16LE right after the length byte.
    """
    if not data or data[0] == 0:
        return None
    n = data[0]

    def ok(text: str) -> bool:
        return bool(text.strip()) and text.isprintable() and "\ufffd" not in text

    if len(data) > 0x38 and data[0x36] == n:
        start = 0x38 if data[0x37] == 0 else 0x37
        raw = data[start : start + 2 * n]
        if len(raw) == 2 * n:
            try:
                text = raw.decode("utf-16-le")
                if ok(text):
                    return text.strip()
            except UnicodeDecodeError:
                pass
    ansi = data[1 : 1 + n]
    pad = data[1 + n : min(len(data), 0x36)]
    if len(ansi) == n and b"\x00" not in ansi and pad.strip(b" \x00") == b"":
        for enc in ("utf-8", "gbk"):
            try:
                text = ansi.decode(enc)
            except UnicodeDecodeError:
                continue
            if ok(text):
                return text.strip()
    raw = data[1 : 1 + 2 * n]
    if len(raw) == 2 * n:
        try:
            text = raw.decode("utf-16-le")
            if ok(text):
                return text.strip()
        except UnicodeDecodeError:
            pass
    return None


def _lo_lock_user(data: bytes) -> str | None:
    """User (or else host) from a LibreOffice lock file: ``user,host,userdir,time,url;``."""
    text = data.decode("utf-8", "replace").strip().rstrip(";")
    fields = [f.strip() for f in text.split(",")]
    for f in fields[:2]:
        if f and f.isprintable():
            return f
    return None


def find_lock(path: str | Path) -> LockInfo | None:
    """The lock that says ``path`` is open, or None."""
    path = Path(path)
    owner = path.with_name("~$" + path.name)
    if owner.exists():
        try:
            user = _owner_file_user(owner.read_bytes())
        except OSError:
            user = None
        return LockInfo("Excel/WPS", owner, user)
    lo = path.with_name(".~lock." + path.name + "#")
    if lo.exists():
        try:
            user = _lo_lock_user(lo.read_bytes())
        except OSError:
            user = None
        return LockInfo("LibreOffice", lo, user)
    if os.name == "nt":  # Excel holds an open workbook with a share lock on Windows
        try:
            with open(path, "ab"):
                pass
        except PermissionError:
            return LockInfo("Windows", None, None)
    return None


def _raise_if_locked(path: Path) -> None:
    info = find_lock(path)
    if info is None:
        return
    if info.lock_file is None:
        raise WorkbookLocked(
            f"台账「{path.name}」正被其他程序占用（可能在 Excel 或 WPS 中打开）。请关闭该文件后再运行。"
        )
    who = f"“{info.user}”" if info.user else "其他用户"
    raise WorkbookLocked(
        f"台账「{path.name}」正被 {who} 用 {info.app} 打开，现在写入会与对方的编辑冲突，本次没有写入。"
        f"请让对方保存并关闭该文件后再运行。如果确认没有人在用它（例如电脑曾死机或程序异常退出），"
        f"请删除同一文件夹中的隐藏文件「{info.lock_file.name}」后重试。",
        user=info.user,
        lock_file=info.lock_file,
    )


def is_read_only(path: str | Path) -> bool:
    """Is the file marked read-only?

    ``os.replace`` ignores the mode of the file it replaces, so this is checked explicitly. The
    mode bits and (on Windows) the read-only attribute decide, not ``os.access``: it answers
    "writable" for every file when run as root or administrator.
    """
    st = os.stat(path)
    if getattr(st, "st_file_attributes", 0) & getattr(stat, "FILE_ATTRIBUTE_READONLY", 1):
        return True
    if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return True
    return not os.access(path, os.W_OK)


def _raise_if_read_only(path: Path) -> None:
    if is_read_only(path):
        raise LedgerReadOnly(
            f"台账文件「{path.name}」被设为只读，工具不能写回，本次没有写入，也没有生成备份。"
            "请在文件上点右键 →“属性”，取消勾选“只读”后重试；"
            "如果文件是从U盘、光盘或邮件附件复制来的，请先把它复制到电脑上，再取消“只读”。"
        )


# ----------------------------------------------------------------------------- values
def _show(value: object) -> str:
    if value is None or value == "":
        return "（空）"
    if isinstance(value, Formula):
        return f"={value.text.lstrip('=')}"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M")
            if (value.hour, value.minute, value.second) != (0, 0, 0)
            else value.strftime("%Y-%m-%d")
        )
    if isinstance(value, date):
        return value.isoformat()
    return f"“{value}”"


def _same(read: object, planned: CellValue) -> bool:
    """Does a value read by calamine equal the planned value?"""
    if isinstance(planned, Formula):
        return _same(read, planned.cached)
    if planned is None:
        return read is None or read == ""
    if isinstance(planned, bool):
        return isinstance(read, bool) and read == planned
    if isinstance(planned, (int, float)):
        return isinstance(read, (int, float)) and not isinstance(read, bool) and float(read) == float(planned)
    if isinstance(planned, datetime):
        if isinstance(read, datetime):
            return read.replace(microsecond=0) == planned.replace(microsecond=0, tzinfo=None)
        return isinstance(read, date) and planned.time() == datetime.min.time() and read == planned.date()
    if isinstance(planned, date):
        if isinstance(read, datetime):
            return read.time() == datetime.min.time() and read.date() == planned
        return isinstance(read, date) and read == planned
    return isinstance(read, str) and read == planned


def _grids(source: Path | bytes, sheets: list[str]) -> dict[str, list[list[object]]]:
    """Values of the named sheets (missing sheets → empty), rows from A1."""
    from python_calamine import CalamineWorkbook

    if isinstance(source, bytes):
        import io

        wb = CalamineWorkbook.from_filelike(io.BytesIO(source))
    else:
        wb = CalamineWorkbook.from_path(str(source))
    try:
        names = set(wb.sheet_names)
        return {
            name: (wb.get_sheet_by_name(name).to_python(skip_empty_area=False) if name in names else [])
            for name in sheets
        }
    finally:
        wb.close()


def _cell(grid: list[list[object]], row: int, col: int) -> object:
    if row - 1 < len(grid):
        line = grid[row - 1]
        if col < len(line):
            return line[col]
    return ""


def _grids_from_tables(tables: Mapping[str, Table], sheets: list[str]) -> dict[str, list[list[object]]]:
    """The same A1-based grids as :func:`_grids`, from tables already read from the same bytes."""
    out: dict[str, list[list[object]]] = {}
    for name in sheets:
        table = tables.get(name)
        if table is None or not table.rows:
            out[name] = []
            continue
        pad = [""] * table.first_col
        grid: list[list[object]] = [[] for _ in range(table.first_row - 1)]
        grid.extend(pad + ["" if v is None else v for v in row] for row in table.rows)
        out[name] = grid
    return out


def compute_changes(
    source: str | Path | bytes, plan: WritePlan, *, tables: Mapping[str, Table] | None = None
) -> list[CellChange]:
    """Cells whose value the plan would change, with the values calamine reads now.

    Includes cells emptied because they lie in an owned column/sheet but not in the plan.
    Formatting-only changes are not listed here (:attr:`WriteResult.changes` lists them). ``tables`` — the sheets as the caller already read
    them from these very bytes — saves reading the workbook a second time.
    """
    return _value_changes(_plan_grids(source, plan, tables), plan)


def _plan_grids(
    source: str | Path | bytes, plan: WritePlan, tables: Mapping[str, Table] | None
) -> dict[str, list[list[object]]]:
    names = [s.sheet for s in plan.sheets]
    if tables is not None:
        return _grids_from_tables(tables, names)
    return _grids(source if isinstance(source, bytes) else Path(source), names)


def _value_changes(grids: dict[str, list[list[object]]], plan: WritePlan) -> list[CellChange]:
    changes: list[CellChange] = []
    for sp in plan.sheets:
        grid = grids[sp.sheet]
        planned = {(c.row, column_index(c.column)) for c in sp.cells}
        for cw in sp.cells:
            old = _cell(grid, cw.row, column_index(cw.column))
            if not _same(old, cw.value):
                changes.append(CellChange(sp.sheet, f"{cw.column}{cw.row}", None if old == "" else old, cw.value))
        if sp.owned_sheet:
            cols: list[int] | None = None
        else:
            cols = sorted(column_index(c) for c in sp.owned_columns)
        for r in range(sp.clear_from_row, len(grid) + 1):
            line = grid[r - 1]
            for c in cols if cols is not None else range(len(line)):
                if (r, c) not in planned and c < len(line) and line[c] not in ("", None):
                    changes.append(CellChange(sp.sheet, f"{column_letter(c)}{r}", line[c], None))
    return changes


_COLUMNS: dict[str, int] = {}


def _column_of(letters: str) -> int:
    """Column letters (canonical, as in plans and patch summaries) → 0-based index; cached."""
    c = _COLUMNS.get(letters)
    if c is None:
        c = _COLUMNS[letters] = column_index(letters)
    return c


def _columns_of(letters: Iterable[str]) -> dict[str, int]:
    """The cache of :func:`_column_of` holding every one of ``letters``: index it directly in a loop over cells
    (each distinct column converted once, then a plain lookup)."""
    for one in letters:
        _column_of(one)
    return _COLUMNS


def _table_value(table: Table | None, row: int, col: int) -> object:
    """The value :func:`_grids_from_tables` would hold at (row, col), looked up without building a grid."""
    if table is None:
        return ""
    i = row - table.first_row
    if 0 <= i < len(table.rows):
        line = table.rows[i]
        j = col - table.first_col
        if 0 <= j < len(line):
            v = line[j]
            return "" if v is None else v
    return ""


def _list_changes(
    grids: dict[str, list[list[object]]] | None,
    plan: WritePlan,
    summary: PatchSummary,
    tables: Mapping[str, Table] | None = None,
) -> tuple[CellChange, ...]:
    """Every change the patch makes, checked against what it really rewrites.

    A value change the patcher found equivalent (nothing rewritten) is not listed; a cell
    rewritten with its value unchanged is listed as a style change; a created sheet with no
    cell to list is listed as such. Empty exactly when the package stays byte-identical.

    Only the cells the patcher reports as rewritten are looked at (their old values from
    ``grids``, or from ``tables`` when the caller already read them), in the order a full scan of
    the plan would list them: per sheet the plan's cells, then cleared cells by row and column;
    then style-only cells; then new empty sheets.
    """
    if not summary.changed:
        return ()
    if grids is not None:

        def old_at(sheet: str, row: int, col: int) -> object:
            return _cell(grids.get(sheet, []), row, col)

    else:
        assert tables is not None

        def old_at(sheet: str, row: int, col: int) -> object:
            return _table_value(tables.get(sheet), row, col)

    index = _columns_of({cw.column for sp in plan.sheets for cw in sp.cells}
                        | {letters for cells in summary.rewritten_cells.values() for _row, letters in cells})
    out: list[CellChange] = []
    # Cells listed so far, per sheet, as (row, column letters). Plan letters are canonical
    # (validated A..XFD) and so are the patcher's, so letters stand for columns in these sets.
    listed_in: dict[str, set[tuple[int, str]]] = {}

    for sp in plan.sheets:
        done = summary.rewritten_cells.get(sp.sheet, ())
        if not done:
            continue
        rewritten = set(done)
        listed = listed_in.setdefault(sp.sheet, set())
        planned: set[tuple[int, str]] = set()
        for cw in sp.cells:
            key = (cw.row, cw.column)
            planned.add(key)
            if key not in rewritten:
                continue
            old = old_at(sp.sheet, cw.row, index[cw.column])
            if not _same(old, cw.value):
                out.append(CellChange(sp.sheet, f"{cw.column}{cw.row}", None if old == "" else old, cw.value))
                listed.add(key)
        owned = None if sp.owned_sheet else set(sp.owned_columns)
        cleared: list[tuple[int, int, str, object]] = []
        for key in done:
            row, letters = key
            if row < sp.clear_from_row or key in planned or (owned is not None and letters not in owned):
                continue
            col = index[letters]
            old = old_at(sp.sheet, row, col)
            if old not in ("", None):
                cleared.append((row, col, letters, old))
        for row, _col, letters, old in sorted(cleared, key=lambda t: (t[0], t[1])):
            if (row, letters) not in listed:
                out.append(CellChange(sp.sheet, f"{letters}{row}", old, None))
                listed.add((row, letters))
    for sp in plan.sheets:
        listed = listed_in.get(sp.sheet, set())
        for key in summary.rewritten_cells.get(sp.sheet, ()):
            if key not in listed:
                row, col = key
                old = old_at(sp.sheet, row, index[col])
                old = None if old == "" else old
                out.append(CellChange(sp.sheet, f"{col}{row}", old, old, kind=STYLE))
    for name in summary.sheets_created:
        if not any(c.sheet == name for c in out):
            out.append(CellChange(name, "", None, None, kind=SHEET))
    if not out:
        out.append(CellChange("", "", None, None, kind=OTHER))
    return tuple(out)


# ----------------------------------------------------------------------------- backups
def _backup(path: Path, backup_dir: Path, now: datetime) -> Path:
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    target = backup_dir / f"{path.stem}_{stamp}{path.suffix}"
    n = 2
    while target.exists():
        target = backup_dir / f"{path.stem}_{stamp}_{n}{path.suffix}"
        n += 1
    part = backup_dir / f".~{target.name}.part"
    shutil.copy2(path, part)
    with open(part, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(part, target)
    return target


def _prune_backups(path: Path, backup_dir: Path, keep: int) -> None:
    pattern = re.compile(rf"^{re.escape(path.stem)}_(\d{{8}}-\d{{6}})(?:_(\d+))?{re.escape(path.suffix)}$")
    found = []
    for entry in backup_dir.iterdir():
        m = pattern.match(entry.name)
        if m and entry.is_file():
            found.append(((m.group(1), int(m.group(2) or 1)), entry))
    found.sort()
    for _, entry in found[: max(0, len(found) - keep)]:
        try:
            entry.unlink()
        except OSError:
            pass


# ----------------------------------------------------------------------------- verification
def _verify(
    temp: Path, original: bytes, prepared: PreparedPatch, plan: WritePlan, meanwhile: Callable[[], None] | None = None
) -> None:
    """Read the written copy back and compare it with the plan, independently of the patcher's records.

    Zip CRCs of every member; every member the patch did not change byte-identical to the
    original; every plan cell (and every cell the summary says was cleared) read back through
    python-calamine, one sheet at a time (only the sheets of the plan), rows streamed.

    python-calamine parses a sheet without holding the GIL: the plan's sheets are parsed in a
    background thread (:class:`_SheetsAhead`, at most two sheets held at a time) while this thread
    checks the zip and the untouched members and compares the sheet parsed before. The checks and
    their order of failure are as before (zip, then untouched members, then sheets in plan order).
    ``meanwhile`` (work of the caller that does not depend on the outcome) runs in this thread while
    the first sheet is parsed.
    """
    fail = "写入后的自检未通过，台账没有被修改（原文件保持不变）。"
    advice = "这通常是工具的缺陷：请把台账备份和这条消息发给维护人员。"
    cleared = prepared.summary.cleared_cells
    # Only sheets with cells to read back are parsed (as before).
    ahead = _SheetsAhead(temp, [sp.sheet if sp.cells or cleared.get(sp.sheet) else None for sp in plan.sheets])
    try:
        if meanwhile is not None:
            meanwhile()
        try:
            with zipfile.ZipFile(temp) as zf:
                bad = zf.testzip()
        except (zipfile.BadZipFile, OSError) as exc:
            raise VerifyFailed(f"{fail}新文件无法作为压缩包打开（{exc}）。{advice}") from exc
        if bad is not None:
            raise VerifyFailed(f"{fail}新文件中的部件 {bad} 校验和错误。{advice}")
        _check_untouched(temp, original, prepared, f"{fail}未改动的部件 {{name}} 与原文件不一致。{advice}")
        for k, sp in enumerate(plan.sheets):
            # (row, column, order, planned value or _CLEARED): read back in row order, a failure
            # reported for the first offending cell in the order of the plan (then cleared cells).
            wanted = _wanted(sp.cells, cleared.get(sp.sheet, ()))
            wb, sheet = ahead.get(k)
            bad_at = _read_back(wb, sp.sheet if sheet is not None else None, wanted, sheet=sheet)
            del sheet
            ahead.done(k)
            if bad_at is not None:
                _order, row, col, planned, got = bad_at
                ref = f"{column_letter(col)}{row}"
                if planned is _CLEARED:
                    raise VerifyFailed(f"{fail}工作表「{sp.sheet}」的 {ref} 应已清空，读回的是 {_show(got)}。{advice}")
                raise VerifyFailed(
                    f"{fail}工作表「{sp.sheet}」的 {ref} 应为 {_show(planned)}，读回的是 {_show(got)}。{advice}"
                )
    finally:
        ahead.close()


def _check_untouched(temp: Path, original: bytes, prepared: PreparedPatch, message: str) -> None:
    """Every member the patch did not change has the same raw local record (header, data, descriptor)
    in the written file as in the original; only those members' records are compared."""
    names = prepared.untouched_members()
    old_entries = {e.name: e for e in read_zip(original)[0]}
    written = temp.read_bytes()
    new_entries = {e.name: e for e in read_zip(written)[0]}
    for name in names:
        o, e = old_entries[name], new_entries.get(name)
        if e is None or written[e.local_start : e.local_end] != original[o.local_start : o.local_end]:
            raise VerifyFailed(message.format(name=name))


class _SheetsAhead:
    """The plan's sheets of the written file parsed by python-calamine in a background thread, in order.

    ``names`` holds None for a sheet not to read. ``get(i)`` waits for sheet ``i`` (None when the
    workbook has no such sheet) and re-raises what the reader raised at or before it; ``done(i)`` lets the reader go on past sheet ``i + 1``, so at most two parsed sheets
    exist at a time (the one compared and the next). ``close()`` stops the reader and closes the
    workbook.
    """

    def __init__(self, path: Path, names: list[str]) -> None:
        import threading

        self._names = names
        self._sheets: list[object] = [None] * len(names)
        self._ready = [threading.Event() for _ in names]
        self._room = threading.Semaphore(2)
        self._stop = False
        self._error: BaseException | None = None
        self._failed_at = -1  # the sheet the reader failed at (-1: opening the workbook)
        self.wb = None
        self._thread = threading.Thread(target=self._run, args=(str(path),), name="read-back", daemon=True)
        self._thread.start()

    def _run(self, path: str) -> None:
        try:
            from python_calamine import CalamineWorkbook

            self.wb = CalamineWorkbook.from_path(path)
            present = set(self.wb.sheet_names)
            for i, name in enumerate(self._names):
                self._failed_at = i
                self._room.acquire()
                if self._stop:
                    return
                self._sheets[i] = self.wb.get_sheet_by_name(name) if name in present else None
                self._ready[i].set()
        except BaseException as exc:  # re-raised by get() in the caller's thread
            self._error = exc
        finally:
            for event in self._ready:
                event.set()

    def get(self, i: int) -> tuple[object, object]:
        self._ready[i].wait()
        if self._error is not None and i >= self._failed_at:
            raise self._error
        sheet, self._sheets[i] = self._sheets[i], None
        return self.wb, sheet

    def done(self, i: int) -> None:
        self._room.release()

    def close(self) -> None:
        self._stop = True
        self._room.release()
        self._room.release()
        self._thread.join()
        self._sheets = []
        if self.wb is not None:
            self.wb.close()


_CLEARED = object()

# Plans up to this many cells have their changes listed during the read-back (a 10k-task status run
# plans about 53,000; a 40,000-task consolidation about 170,000); bigger ones after it, so that at
# 100k tasks the list and the read-back's memory never coexist.
LIST_DURING_READ_BACK_MAX_CELLS = 250_000


class _InPlanOrder:
    """(row, column, order, planned value) of plan cells already in row order, made as they are read
    (no list of a tuple per cell: at 100k tasks that list was tens of MB held during the read-back)."""

    __slots__ = ("cells",)

    def __init__(self, cells: list) -> None:
        self.cells = cells

    def __iter__(self):  # noqa: ANN204
        cells = self.cells
        index = _columns_of({cw.column for cw in cells})
        return ((cw.row, index[cw.column], i, cw.value) for i, cw in enumerate(cells))

    def __bool__(self) -> bool:
        return bool(self.cells)


def _wanted(cells: list, cleared: tuple) -> list[tuple] | _InPlanOrder:
    """What :func:`_read_back` reads back for one sheet, in row order (ties: plan order, then cleared cells)."""
    if not cleared:
        rows = [cw.row for cw in cells]
        if rows == sorted(rows):
            return _InPlanOrder(cells)  # already in row order: the stable sort would keep it as is
    index = _columns_of({cw.column for cw in cells} | {col for _row, col in cleared})
    wanted = [(cw.row, index[cw.column], i, cw.value) for i, cw in enumerate(cells)]
    n = len(wanted)
    wanted.extend((row, index[col], n + i, _CLEARED) for i, (row, col) in enumerate(cleared))
    wanted.sort(key=_by_row)
    return wanted


def _by_row(item: tuple) -> int:
    return item[0]


def _read_back(wb: object, name: str | None, wanted: list[tuple], sheet: object = None) -> tuple | None:
    """The first (in plan order) cell of ``wanted`` that does not read back as planned, or None.

    ``wanted`` holds (row, column, order, planned value or ``_CLEARED``) sorted by row. The rows
    are streamed (``iter_rows``: no whole-sheet grid in memory); python-calamine 0.9 yields them
    from row 1, each starting at the sheet's first used column. Should a version yield another
    shape (row count or width), the sheet is read again as a grid from A1.
    """
    if name is None or not wanted:
        return _first_bad([], wanted)
    if sheet is None:
        sheet = wb.get_sheet_by_name(name)
    start, end = sheet.start, sheet.end
    if start is None or end is None:
        return _first_bad([], wanted)
    c0, width, height = start[1], end[1] - start[1] + 1, end[0] + 1
    bad: list[tuple] = []
    rows = sheet.iter_rows()
    line: list = []
    at = -1  # 0-based row index of ``line``: rows are yielded from row 1
    exhausted = False
    shape_ok = True
    for row, col, order, planned in wanted:
        target = row - 1
        while at < target and not exhausted:
            nxt = next(rows, None)
            if nxt is None:
                exhausted = True
                break
            at += 1
            if len(nxt) != width:
                shape_ok = False
                break
            line = nxt
        if not shape_ok:
            break
        j = col - c0
        got = line[j] if at == target and 0 <= j < width else ""  # below the last row: empty
        if planned.__class__ is str and got.__class__ is str and got == planned:
            continue  # the common case, decided as _same would
        if planned is None and (got is None or got == ""):
            continue  # the other common case (an empty cell planned), as _same decides it
        if not (got in ("", None) if planned is _CLEARED else _same(got, planned)):
            bad.append((order, row, col, planned, got))
    if shape_ok and not exhausted:
        for nxt in rows:  # the rest: the shape must be exactly as expected
            at += 1
            if len(nxt) != width:
                shape_ok = False
                break
    shape_ok = shape_ok and at + 1 == height
    if shape_ok:
        return min(bad, key=_by_order) if bad else None
    grid = sheet.to_python(skip_empty_area=False)
    return _first_bad(grid, wanted)


def _by_order(item: tuple) -> int:
    return item[0]


def _first_bad(grid: list[list[object]], wanted: list[tuple]) -> tuple | None:
    bad = None
    for row, col, order, planned in wanted:
        got = _cell(grid, row, col)
        if not (got in ("", None) if planned is _CLEARED else _same(got, planned)):
            if bad is None or order < bad[0]:
                bad = (order, row, col, planned, got)
    return bad


# ----------------------------------------------------------------------------- the write
def _temp_name(path: Path) -> Path:
    return path.with_name(f".~{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _remove_stale_temps(path: Path) -> None:
    prefix = f".~{path.name}."
    cutoff = time.time() - STALE_TEMP_SECONDS
    for entry in path.parent.iterdir():
        if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
            except OSError:
                pass


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _planned_columns_only(tables: Mapping[str, Table], plan: WritePlan) -> dict[str, Table]:
    """The old values :func:`_list_changes` can look up: the patch rewrites only cells of the plan, cells it
    clears in a staff sheet's owned columns, and any cell of a sheet the plan owns entirely. So: owned sheets
    whole, and of a staff sheet the columns the plan writes or owns (other cells left empty); other sheets
    dropped. Same coordinates, so every lookup of a rewritten cell gives what the whole table gives."""
    out: dict[str, Table] = {}
    for sp in plan.sheets:
        table = tables.get(sp.sheet)
        if table is None:
            continue
        if sp.owned_sheet:
            out[sp.sheet] = table
            continue
        letters = set(sp.owned_columns) | {cw.column for cw in sp.cells}  # each distinct column converted once
        wanted = {column_index(c) for c in letters}
        keep = sorted(j - table.first_col for j in wanted if 0 <= j - table.first_col < table.width)
        if not keep:
            out[sp.sheet] = Table(table.name, [], table.first_row, table.first_col)
            continue
        lo, span = keep[0], keep[-1] + 1 - keep[0]
        if len(keep) == span:  # adjacent columns (the usual P:S): each row's slice, padded when short
            pad = [None] * span
            rows = [line[lo : lo + span] if len(line) >= lo + span else (line[lo : lo + span] + pad)[:span]
                    for line in table.rows]
        else:
            rows = []
            for line in table.rows:
                thin = [None] * span
                n = len(line)
                for j in keep:
                    if j < n:
                        thin[j - lo] = line[j]
                rows.append(thin)
        out[sp.sheet] = Table(table.name, rows, table.first_row, table.first_col + lo)
    return out


def _give_back_freed_memory() -> None:
    """Return the heap freed with the tables to the system (glibc's malloc_trim; elsewhere nothing).

    The tables are hundreds of thousands of small objects; freed, their memory mostly stays with
    the process, and the read-back's own allocations (calamine's cell grid) would come on top.
    The symbol is looked up once per process, in the C library the interpreter itself is linked with
    (``CDLL(None)``: no ``find_library``, which runs ``ldconfig`` in a subprocess, about 20 ms).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


_TRIM: list = []


def _malloc_trim() -> Callable[[int], int] | None:
    if not _TRIM:
        import ctypes
        import sys

        trim = None
        if sys.platform.startswith("linux"):
            try:
                trim = ctypes.CDLL(None).malloc_trim
            except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
                trim = None
        _TRIM.append(trim)
    return _TRIM[0]


class TablesHandover:
    """The tables a plan was computed from, handed to :func:`write_safely` for good: it keeps what the
    change list needs and drops the rest at once, so the caller must keep no reference of its own."""

    def __init__(self, stat: tuple[int, int], tables: Mapping[str, Table]) -> None:
        self.stat = stat
        self._tables: Mapping[str, Table] | None = tables

    def take(self) -> Mapping[str, Table]:
        tables, self._tables = self._tables, None
        if tables is None:
            raise RuntimeError("tables already handed over")
        return tables


@dataclass
class ReadAhead:
    """The ledger's bytes as of ``stat`` and their package opened for a patch, read before the write was
    asked for (:func:`read_ahead_of_write`); :func:`write_safely` uses them only while the file is still so."""

    stat: tuple[int, int]
    blob: bytes | None
    opened: OpenedPackage | None

    def take(self) -> tuple[bytes, OpenedPackage]:
        """The bytes and package, once: this object lets go of them (the patch uses the package up)."""
        blob, opened, self.blob, self.opened = self.blob, self.opened, None, None
        if blob is None or opened is None:
            raise RuntimeError("read-ahead already taken")
        return blob, opened


READ_AHEAD_MAX_SHEET_BYTES = 32 * 2**20
"""A bigger worksheet is not decompressed ahead: its bytes would be held through the rest of the check."""


def read_ahead_of_write(path: str | Path, stat: tuple[int, int]) -> ReadAhead | None:
    """What a write of ``path`` reads first (its bytes, the package, the shared strings, the largest sheet),
    read now; None when the file is no longer as of ``stat`` (size, mtime_ns). Nothing is written or locked.
    Raises what opening the package raises (PatchRefused): the caller may drop it, the write finds it again."""
    ledger = Path(os.path.realpath(path))
    blob = ledger.read_bytes()
    now = ledger.stat()
    if (now.st_size, now.st_mtime_ns) != tuple(stat) or len(blob) != now.st_size:
        return None
    return ReadAhead((now.st_size, now.st_mtime_ns), blob, read_ahead(blob, max_sheet_bytes=READ_AHEAD_MAX_SHEET_BYTES))


def write_safely(
    path: str | Path,
    plan: WritePlan,
    *,
    dry_run: bool = False,
    backup_dir: str | Path | None = None,
    keep_backups: int = 10,
    now: datetime | None = None,
    on_step: Callable[[str], None] | None = None,
    read_as: tuple[tuple[int, int], Mapping[str, Table]] | TablesHandover | None = None,
    during_read_back: Callable[[], None] | None = None,
    ahead: ReadAhead | None = None,
) -> WriteResult:
    """Apply ``plan`` to the ledger at ``path`` atomically, with a backup and a read-back check.

    ``dry_run`` only lists the changes. ``backup_dir`` defaults to ``台账备份`` beside the
    ledger; ``keep_backups=0`` takes no backup. ``now`` stamps the backup name (default: the
    local time). ``on_step`` is called with ``"after-backup"``, ``"mid-temp-write"``,
    ``"after-temp-write"``, ``"after-verify"`` and ``"after-replace"`` (used by the crash tests).
    ``read_as`` = ((size, mtime_ns), tables): the tables the plan was computed from, read when the
    file had that size and mtime. They list the changes without reading the file again, and the
    write is refused (:class:`WorkbookLocked`) when the file has changed since. Given as a
    :class:`TablesHandover`, only the columns the change list can need are kept and the tables are
    let go before the patch is computed (a 100k-task ledger's tables are the largest thing in memory).

    ``during_read_back``: the caller's own work, run in this thread while the read-back's reader
    parses in the background (python-calamine does not hold the interpreter lock). It runs only when
    the write reaches the read-back, must not depend on the write's outcome, and its results are for
    the caller to commit once this function has returned (it raises when the write fails).

    ``ahead``: the file's bytes and opened package read earlier (:func:`read_ahead_of_write`); used when the
    file still has the size and mtime they were read at, else the file is read now as without it.

    A ledger marked read-only is refused before anything else (:class:`LedgerReadOnly`; a dry
    run still lists the changes).

    Raises :class:`LedgerReadOnly`, :class:`WorkbookLocked`, :class:`PatchRefused` or
    :class:`VerifyFailed`; in every such case the ledger is unchanged.
    """
    return _write_safely(path, plan, dry_run, backup_dir, keep_backups, now, on_step, read_as, during_read_back,
                         ahead)


def _write_safely(path, plan, dry_run, backup_dir, keep_backups, now, on_step, read_as,  # noqa: ANN001
                  during_read_back=None, ahead=None) -> WriteResult:
    given = Path(path)
    if not given.is_file():
        raise FileNotFoundError(f"找不到台账文件「{given}」。请检查路径是否正确。")
    ledger = Path(os.path.realpath(given))
    step = on_step or (lambda _name: None)
    if not dry_run:
        _raise_if_read_only(ledger)
    _raise_if_locked(given)
    if ledger != given:
        _raise_if_locked(ledger)

    before = ledger.stat()
    opened = None
    if ahead is not None and ahead.stat == (before.st_size, before.st_mtime_ns):
        original, opened = ahead.take()  # read while the check waited: the file is still so
    else:
        original = ledger.read_bytes()
    ahead = None
    known = None
    handed = isinstance(read_as, TablesHandover)
    if read_as is not None:
        read_stat = read_as.stat if handed else read_as[0]
        if read_stat != (before.st_size, before.st_mtime_ns):
            # The plan was computed from an older version of the ledger: writing it now could undo
            # what was saved in between.
            raise WorkbookLocked(
                f"台账「{ledger.name}」在工具读取之后被修改（可能有人刚保存了它）。为避免覆盖对方的修改，本次没有写入；请重新运行。"
            )
        if handed:
            # Only what the change list can ask for is kept; the rest of the tables goes now, before the
            # patch allocates (freed memory is reused) and long before the read-back.
            known = _planned_columns_only(read_as.take(), plan)
            _give_back_freed_memory()
        else:
            known = read_as[1]
        read_as = None
    # Every refusal happens here, in a dry run too. Changed worksheets are deflated in the
    # background meanwhile (the second core) when the patch is going to be written.
    prepared = prepare_patch(original, plan, compress_ahead=not dry_run, opened=opened)
    opened = None

    def list_changes() -> tuple[CellChange, ...]:
        if known is not None:
            return _list_changes(None, plan, prepared.summary, known)
        return _list_changes(_grids(original, [s.sheet for s in plan.sheets]), plan, prepared.summary)

    if dry_run:
        return WriteResult(ledger, list_changes(), written=False, dry_run=True, summary=prepared.summary)

    if not prepared.changed:
        return WriteResult(ledger, list_changes(), written=False, summary=prepared.summary)

    _remove_stale_temps(ledger)
    backup = None
    if keep_backups > 0:
        folder = Path(backup_dir) if backup_dir is not None else ledger.parent / BACKUP_DIR_NAME
        backup = _backup(ledger, folder, now or datetime.now())
        _prune_backups(ledger, folder, keep_backups)
    step("after-backup")

    temp = _temp_name(ledger)
    try:
        half = {"done": False}

        def progress(done: int, total: int) -> None:
            if not half["done"] and done * 2 >= total:
                half["done"] = True
                step("mid-temp-write")

        prepared.write(temp, progress=progress, fsync=True)
        prepared.release()  # the new sheet XML is on disk now: free it before the read-back
        _give_back_freed_memory()  # and give the patch's freed heap back before the read-back allocates
        step("after-temp-write")
        # The changes are listed while the read-back's reader parses (it does not hold the interpreter
        # lock) when the plan is small enough for the list and the read-back's memory to coexist; a
        # bigger plan lists them after the read-back. They are used only once the read-back passed.
        early: list[tuple[CellChange, ...]] = []
        small = sum(len(sp.cells) for sp in plan.sheets) <= LIST_DURING_READ_BACK_MAX_CELLS

        def meanwhile() -> None:
            if small:
                early.append(list_changes())
            if during_read_back is not None:
                during_read_back()

        _verify(temp, original, prepared, plan, meanwhile=meanwhile if small or during_read_back else None)
        changes = early[0] if early else list_changes()
        step("after-verify")
        now_stat = ledger.stat()
        if (now_stat.st_size, now_stat.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise WorkbookLocked(
                f"台账「{ledger.name}」在工具运行期间被修改（可能有人刚保存了它）。为避免覆盖对方的修改，本次没有写入；请重新运行。"
            )
        _raise_if_locked(given)
        os.chmod(temp, stat.S_IMODE(before.st_mode))
        try:
            os.replace(temp, ledger)
        except PermissionError as exc:
            raise WorkbookLocked(
                f"台账「{ledger.name}」正被其他程序占用（可能在 Excel 或 WPS 中打开），无法替换。请关闭该文件后再运行。"
            ) from exc
    finally:
        if temp.exists():
            try:
                temp.unlink()
            except OSError:
                pass
    _fsync_dir(ledger.parent)
    step("after-replace")
    return WriteResult(ledger, changes, written=True, backup=backup, summary=prepared.summary)
