"""Where a job's ledger comes from and where its writes go: a file on disk, or the workbook open in Excel.

Both give the job the same tables, so the same job computes the same plan; only the sink differs:
:class:`FileLedger` writes through the lossless patcher (backup, lock check, atomic replace),
:class:`LiveLedger` writes into the open workbook through xlwings (staff save it themselves).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from toolkit.core.check import CheckResult, check_ledger, check_tables
from toolkit.core.errors import ToolkitError
from toolkit.core.intake import load_ledger
from toolkit.core.model import Ledger, Table
from toolkit.core.plan import WritePlan
from toolkit.core.report import Issue


@dataclass
class WriteOutcome:
    """What a sink did with a plan."""

    written: bool  # the file was replaced / the open workbook was changed
    cells: int  # cells changed (file) or written (open workbook)
    changes: list[Any] = field(default_factory=list)  # CellChange list (file sink only)
    backup: Path | None = None
    in_memory: bool = False
    style_only: int = 0  # cells whose format changed but not their value (file sink)
    raw: Any = None  # the sink's own result (toolkit.excel.safe_write.WriteResult for a file)


class FileLedger:
    """A ledger workbook on disk (CLI, launchers, scheduled runs)."""

    kind = "file"
    in_memory = False

    def __init__(self, path: str | Path, *, backup_dir: str | Path | None = None) -> None:
        self.path = Path(path)
        self.backup_dir = backup_dir
        self._tables: dict[str, Table] | None = None
        self._stat: tuple[int, int] | None = None
        self._facts = None  # the pre-check of the file at _stat
        self._write_expected = False  # a job asked require_writable(): it is going to write
        self._ahead = None  # what the write reads first, read while the check waited (safe_write.ReadAhead)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def folder(self) -> Path:
        return self.path.resolve().parent

    def require_file(self) -> None:
        if not self.path.exists():
            raise ToolkitError(f"找不到台账文件：{self.path}")
        if self.path.is_dir():
            raise ToolkitError(f"这是一个文件夹，不是台账文件：{self.path}")

    @property
    def tables(self) -> dict[str, Table]:
        if self._tables is None:
            staged = self._read()
            with _settled(staged):
                self._tables = _resolved(staged)
        return self._tables

    def _read(self):  # noqa: ANN202 - Mapping[str, Table]: a StagedTables or a dict
        """The tables as read now: pre-check and read in one go, or a read after a pre-check still current."""
        from toolkit.excel.ledger_file import read_ledger_staged

        self.require_file()
        stat = self._file_stat()
        facts = self._facts if self._facts is not None and self._stat == stat else None
        facts, staged = read_ledger_staged(self.path, facts=facts,
                                           while_parsing=self._read_ahead if self._write_expected else None)
        self._facts, self._stat = facts, stat
        return staged

    def _read_ahead(self) -> None:
        """While the task sheet still parses: what the write will read first (file bytes, package, shared strings,
        the largest sheet). Only ever a head start: anything amiss is found and reported by the write itself."""
        from toolkit.excel.safe_write import read_ahead_of_write

        try:
            self._ahead = read_ahead_of_write(self.path, self._stat) if self._stat else None
        except Exception:  # noqa: BLE001 - the write reads the file again and says what is wrong with it
            self._ahead = None

    def settings_tables(self) -> dict[str, Table]:
        """Only the 基本信息 sheet (all tables once read): what a job needs before the full read."""
        if self._tables is not None:
            return self._tables
        from toolkit.core.intake import is_sheet
        from toolkit.core.schema import SHEET_SETTINGS
        from toolkit.excel.ledger_file import read_ledger_tables

        return read_ledger_tables(self.path, facts=self._prechecked(),
                                  sheets=lambda name: is_sheet(name, SHEET_SETTINGS))

    def _prechecked(self):  # noqa: ANN202 - toolkit.excel.untrusted.FileFacts
        """The pre-check of the file as it is now, done once: a file saved since is checked again.

        The task list (the largest sheet) is left for the whole read (see _read): 基本信息 is read at once, and a
        job that starts other work from it (consolidation's county reads) starts sooner."""
        from toolkit.excel.ledger_file import precheck_ledger

        self.require_file()
        stat = self._file_stat()
        if self._facts is None or self._stat != stat:
            self._facts = precheck_ledger(self.path, defer_largest=True)
            self._stat = stat
        return self._facts

    def _file_stat(self) -> tuple[int, int]:
        try:
            st = self.path.stat()
        except OSError as exc:
            raise ToolkitError(f"无法读取台账文件：{self.path}（{exc.strerror}）") from exc
        return st.st_size, st.st_mtime_ns

    def loaded(self) -> tuple[dict[str, Table], tuple[Ledger, list[Issue]]]:
        """The tables and the ledger taken in from them (load_ledger), read and taken in together: the settings
        and problems are taken in while the task sheet still parses."""
        if self._tables is not None:
            return self._tables, load_ledger(self._tables, source=self.name)
        staged = self._read()
        with _settled(staged):
            loaded = load_ledger(staged, source=self.name)
            self._tables = _resolved(staged)
        return self._tables, loaded

    def take_ahead(self):  # noqa: ANN201 - safe_write.ReadAhead | None
        """What the write reads first, read while the check waited (once; None when nothing was read ahead)."""
        ahead, self._ahead = self._ahead, None
        return ahead

    def check(self, today: date | None = None) -> CheckResult:
        _, (ledger, issues) = self.loaded()
        return check_ledger(ledger, today=today, intake_issues=issues, clock_today=date.today())

    def require_writable(self) -> None:
        """ToolkitError unless the file's format can be written back; a job calls it before a check it will write
        the results of (the check then reads ahead what the write needs, see _read_ahead)."""
        from toolkit.excel.ledger_file import require_writable_format

        require_writable_format(self.path)
        self._write_expected = True

    def write(self, plan: WritePlan, *, dry_run: bool = False) -> WriteOutcome:
        """Write ``plan`` through the lossless patcher; ToolkitError (Chinese) when refused."""
        from toolkit.excel.safe_write import TablesHandover, write_safely

        self.require_writable()
        # The tables go to the write for good (they list its changes, then they are freed before the
        # read-back); asked for again, they are read again from the file.
        handover = TablesHandover(self._stat, self.tables)
        self._tables = None
        try:
            res = write_safely(self.path, plan, dry_run=dry_run, backup_dir=self.backup_dir, read_as=handover,
                               ahead=self.take_ahead())  # write_safely takes what it holds (ReadAhead.take)
        except Exception as exc:  # the safe-write family carries Chinese messages
            if type(exc).__module__.startswith("toolkit."):
                raise ToolkitError(str(exc)) from exc
            raise
        changes = list(res.changes)
        style_only = int(getattr(res, "style_changes", 0) or 0)
        return WriteOutcome(bool(res.written), len(changes), changes, res.backup, False, style_only, res)

    def snapshot(self) -> Path:
        """A file holding the ledger as the job sees it: the file itself."""
        self.require_file()
        return self.path

    def close(self) -> None:
        pass


def _resolved(tables: Any) -> dict[str, Table]:
    """A plain dict of every table (a StagedTables waits for its background parse)."""
    return tables.resolve() if hasattr(tables, "resolve") else tables


@contextmanager
def _settled(tables: Any) -> Iterator[None]:
    """Around work on tables being read: an unreadable sheet becomes ToolkitError, and the background parse is
    always ended (StagedTables.close) however the work ends."""
    from toolkit.excel.read import UnreadableWorkbook

    try:
        yield
    except UnreadableWorkbook as exc:
        raise ToolkitError(str(exc)) from exc
    finally:
        close = getattr(tables, "close", None)
        if close is not None:
            close()


class LiveLedger:
    """The workbook open in Excel that called a button (xlwings ``Book``)."""

    kind = "live"
    in_memory = True

    def __init__(self, book: Any) -> None:
        self.book = book
        self._tables: dict[str, Table] | None = None
        self._temp: list[tempfile.TemporaryDirectory] = []

    @property
    def name(self) -> str:
        return Path(self.book.name).name

    @property
    def path(self) -> Path:
        """The saved workbook on disk (ToolkitError when it has never been saved to a local folder)."""
        try:
            full = str(self.book.fullname)
        except Exception as exc:  # noqa: BLE001 - xlwings cannot map a OneDrive/SharePoint URL
            raise ToolkitError(
                "无法确定台账在本机的保存位置（可能保存在 OneDrive 或 SharePoint 上）。请把台账另存到本机文件夹后再点按钮。"
            ) from exc
        if "://" in full:
            raise ToolkitError("台账保存在网络位置（OneDrive/SharePoint），按钮无法使用。请把台账另存到本机文件夹后再点按钮。")
        path = Path(full)
        if not path.is_absolute() or not path.is_file():
            raise ToolkitError("工作簿还没有保存到文件夹中：请先“文件 → 另存为”保存台账（.xlsm），再点按钮。")
        return path

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def tables(self) -> dict[str, Table]:
        if self._tables is None:
            from toolkit.excel.live import read_book

            self._tables = read_book(self.book)
        return self._tables

    def check(self, today: date | None = None) -> CheckResult:
        return check_tables(self.tables, today=today, source=self.name, clock_today=date.today())

    def require_writable(self) -> None:
        pass

    def write(self, plan: WritePlan, *, dry_run: bool = False) -> WriteOutcome:
        from toolkit.excel.live import LiveWriteRefused, apply_plan

        if dry_run:
            return WriteOutcome(False, 0, in_memory=True)
        try:
            count = apply_plan(self.book, plan, tables=self.tables)
        except LiveWriteRefused as exc:
            raise ToolkitError(str(exc)) from exc
        return WriteOutcome(count > 0, count, in_memory=True)

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

    def close(self) -> None:
        for folder in self._temp:
            folder.cleanup()
        self._temp.clear()


def _engine(book: Any) -> str:
    try:
        return book.app.engine.name
    except Exception:  # noqa: BLE001
        return "excel"


LedgerSource = FileLedger | LiveLedger
