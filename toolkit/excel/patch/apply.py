"""Orchestration: check a plan against a workbook, compute every changed part, write the package."""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.core.plan import WritePlan
from toolkit.excel.patch.checks import check_sheet_name, sheet_areas, validate_plan
from toolkit.excel.patch.errors import refuse
from toolkit.excel.patch.package import Package, build_zip, new_deflater, pack
from toolkit.excel.patch.sharedstrings import SharedStrings
from toolkit.excel.patch.sheetrows import SheetPatcher, new_sheet_xml
from toolkit.excel.patch.styles import Styles
from toolkit.excel.patch.tables import extend_tables
from toolkit.excel.patch.workbook import edit_workbook


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class PatchSummary:
    """What :func:`apply_plan` changed."""

    changed: bool
    cells_written: int = 0
    cells_cleared: int = 0
    sheets_created: tuple[str, ...] = ()
    members_changed: tuple[str, ...] = ()
    members_added: tuple[str, ...] = ()
    members_removed: tuple[str, ...] = ()
    styles_added: int = 0
    strings_added: int = 0
    calc_chain_removed: bool = False
    # Cells emptied because they were not in the plan (owned columns / owned sheets).
    cleared_cells: dict[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)
    # Every cell whose stored XML changes — value, formula or formatting — as (row, column letters).
    rewritten_cells: dict[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)


# ----------------------------------------------------------------------------- orchestration
@dataclass
class PreparedPatch:
    """A fully computed patch: every check has passed; :meth:`write` only writes bytes."""

    summary: PatchSummary
    _pkg: Package
    _replaced: dict[str, bytes]
    _removed: set[str]
    _added: list[tuple[str, bytes]]
    # Tables (Ctrl+T) widened over new header columns, as "<sheet> <table> <new ref>" (not in the
    # summary: its fields are compared with the frozen pre-change patcher).
    tables_extended: tuple[str, ...] = ()
    # Big replaced worksheets deflated ahead in a background thread (see prepare_patch).
    _ahead: dict[str, _Packer | _StreamPacker] = field(default_factory=dict)
    _released: bool = False

    @property
    def changed(self) -> bool:
        return self.summary.changed

    def release(self) -> None:
        """Drop the new contents of replaced members once written (the summary stays); no write after this."""
        for name in self._replaced:
            self._replaced[name] = b""
        self._added = [(name, b"") for name, _ in self._added]
        self._ahead = {}
        self._released = True

    def untouched_members(self) -> list[str]:
        """Members copied as raw bytes (verification compares them with the source)."""
        return [e.name for e in self._pkg.entries if e.name not in self._replaced and e.name not in self._removed]

    def write(
        self, dst: str | Path, *, progress: Callable[[int, int], None] | None = None, fsync: bool = False
    ) -> None:
        """Write the patched package to ``dst`` (created or truncated).

        ``progress(done, total)`` is called after each chunk (one per member, then the
        directory); ``fsync`` forces the bytes to disk before returning.
        """
        if self._released:
            raise RuntimeError("PreparedPatch.write after release()")
        wb_entry = self._pkg.by_name.get(self._pkg.wb_part)
        dos_time = struct.unpack("<HH", wb_entry.cd[12:16]) if wb_entry else (0, 0x21)
        packed = {name: packer.result() for name, packer in self._ahead.items()}
        chunks = build_zip(
            self._pkg.blob, self._pkg.entries, self._pkg.comment, self._replaced, self._removed, self._added, dos_time,
            packed,
        )  # fmt: skip
        del packed
        with open(dst, "wb") as fh:
            for i, chunk in enumerate(chunks):
                fh.write(chunk)
                if progress is not None:
                    fh.flush()
                    progress(i + 1, len(chunks))
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())


class _BackgroundPack:
    """A member packed (CRC, size, deflated bytes) in a background thread; :meth:`result` waits for it.

    zlib releases the GIL while it compresses, so big worksheets are deflated on the second core
    while the next sheets are patched.
    """

    def __init__(self) -> None:
        self._out: tuple[int, int, bytes] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._guarded, name="deflate", daemon=True)

    def _guarded(self) -> None:
        try:
            self._out = self._pack()
        except BaseException as exc:  # re-raised in the caller's thread by result()
            self._error = exc

    def _pack(self) -> tuple[int, int, bytes] | None:
        raise NotImplementedError

    def result(self) -> tuple[int, int, bytes]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._out is not None
        return self._out


class _Packer(_BackgroundPack):
    """:func:`~toolkit.excel.patch.package.pack` of one member's final bytes: the same bytes as
    deflating at write time."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data: bytes | None = data
        self._thread.start()

    def _pack(self) -> tuple[int, int, bytes]:
        try:
            return pack(self._data)
        finally:
            self._data = None


class _StreamPacker(_BackgroundPack):
    """:func:`~toolkit.excel.patch.package.pack` of a worksheet fed in order while it is being patched.

    Each piece is deflated as it comes, so the compression of a big sheet ends about when its patch
    does. Deflating the pieces of one stream in order gives the same bytes as deflating their
    concatenation at once, and the CRC is chained the same way, so the result equals
    ``pack(new_xml)``. A cancelled stream (the sheet's head changed, nothing changed, a refusal) is
    dropped and the caller packs the sheet as before.
    """

    _CANCEL = object()

    def __init__(self) -> None:
        import queue

        super().__init__()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.cancelled = False
        self._thread.start()

    def feed(self, data: bytes) -> None:
        self._queue.put(data)

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            self._queue.put(self._CANCEL)

    def finish(self) -> _StreamPacker:
        """No more pieces: the packed member is :meth:`result`."""
        self._queue.put(None)
        return self

    def _pack(self) -> tuple[int, int, bytes] | None:
        c = new_deflater()  # the same compressor as package.deflate: the same bytes
        crc = size = 0
        parts: list[bytes] = []
        while True:
            data = self._queue.get()
            if data is None:
                break
            if data is self._CANCEL:
                return None
            crc = zlib.crc32(data, crc)
            size += len(data)
            parts.append(c.compress(data))
        parts.append(c.flush())
        return crc, size, b"".join(parts)


# Worksheets at least this big are deflated ahead when asked (smaller ones are not worth a thread).
AHEAD_MIN_BYTES = 256 * 1024


@dataclass
class OpenedPackage:
    """A workbook's package with its shared strings and styles, as a patch starts from them."""

    pkg: Package
    strings: SharedStrings
    sst_part: str | None
    styles: Styles
    styles_part: str | None


def open_package(blob: bytes) -> OpenedPackage:
    """Parse the package of ``blob`` (PatchRefused for one that cannot be patched safely)."""
    pkg = Package(blob)
    sst_part = pkg.wb_part_of_type("/sharedStrings")
    strings = SharedStrings(pkg.read(sst_part) if sst_part else None, sst_part)
    styles_part = pkg.wb_part_of_type("/styles")
    styles = Styles(pkg.read(styles_part) if styles_part else None, styles_part)
    return OpenedPackage(pkg, strings, sst_part, styles, styles_part)


def read_ahead(blob: bytes, *, max_sheet_bytes: int) -> OpenedPackage:
    """:func:`open_package` with the work a patch would do first done now: the shared strings parsed and the
    largest worksheet decompressed (kept in the package until the patch reads it), unless that sheet is
    bigger than ``max_sheet_bytes`` (its bytes would be held the longer). For :func:`prepare_patch`'s
    ``opened``, once only: a patch changes the strings and styles it is given."""
    opened = open_package(blob)
    opened.strings.load()
    pkg = opened.pkg
    sheets = [pkg.member_name(s.part) for s in pkg.sheets if s.kind == "worksheet" and s.part and pkg.has(s.part)]
    if sheets:
        largest = max(sheets, key=lambda name: pkg.by_name[name].usize)
        if pkg.by_name[largest].usize <= max_sheet_bytes:
            pkg.read(largest)
    return opened


def prepare_patch(src: str | Path | bytes, plan: WritePlan, *, compress_ahead: bool = False,
                  opened: OpenedPackage | None = None) -> PreparedPatch:
    """Check ``plan`` against the workbook at ``src`` and compute every changed member in memory.

    Raises :class:`PatchRefused` (nothing written anywhere) when the plan or the file cannot be
    handled safely. ``compress_ahead`` starts deflating big changed worksheets in the background
    at once (for a caller that will :meth:`~PreparedPatch.write`; the output is the same).
    ``opened``: ``src``'s package already opened (:func:`read_ahead` of these very bytes), used up here.
    """
    blob = src if isinstance(src, bytes) else Path(src).read_bytes()
    validate_plan(plan)
    if opened is None or opened.pkg.blob is not blob:
        opened = open_package(blob)
    pkg, strings, sst_part, styles, styles_part = (opened.pkg, opened.strings, opened.sst_part, opened.styles,
                                                   opened.styles_part)
    del opened

    replaced: dict[str, bytes] = {}
    added: list[tuple[str, bytes]] = []
    new_sheets: list[tuple[str, str]] = []  # (sheet name, part)
    written = cleared_n = 0
    cleared: dict[str, tuple[tuple[int, str], ...]] = {}
    rewritten: dict[str, tuple[tuple[int, str], ...]] = {}
    removed_formula = False
    extended: list[str] = []
    ahead: dict[str, _Packer] = {}
    taken = {e.name.lower() for e in pkg.entries}
    by_name = {s.name: s for s in pkg.sheets}
    for sp in plan.sheets:
        info = by_name.get(sp.sheet)
        if info is None:
            if not sp.owned_sheet:
                raise refuse(
                    f"工作簿中找不到工作表「{sp.sheet}」。请确认表名没有被修改（可在 Excel 中把表名改回「{sp.sheet}」）。",
                    sp.sheet,
                )
            check_sheet_name(sp.sheet, by_name)
            n = 1
            while f"xl/worksheets/sheet{n}.xml" in taken:
                n += 1
            part = f"xl/worksheets/sheet{n}.xml"
            taken.add(part)
            patcher = SheetPatcher(
                sp.sheet, new_sheet_xml(sp.column_widths), sp, strings=strings, styles=styles,
                date1904=pkg.date1904, areas=[], owned=True,
            )  # fmt: skip
            added.append((part, patcher.run()))
            new_sheets.append((sp.sheet, part))
        else:
            if info.kind != "worksheet" or info.part is None or not pkg.has(info.part):
                raise refuse(
                    f"「{sp.sheet}」不是普通工作表（可能是图表工作表或宏表），工具不能写入。请检查写入计划中的表名。",
                    sp.sheet,
                )
            part = pkg.member_name(info.part)
            xml = pkg.read(part, keep=False)
            areas = sheet_areas(pkg, part)
            patcher = SheetPatcher(
                sp.sheet, xml, sp, strings=strings, styles=styles, date1904=pkg.date1904,
                areas=areas, owned=sp.owned_sheet,
            )  # fmt: skip
            deflated = pkg.by_name[part].method == 8
            # A big sheet is deflated while it is patched; a smaller one (or one whose head changed) after.
            stream = _StreamPacker() if compress_ahead and deflated and len(xml) >= AHEAD_MIN_BYTES else None
            new_xml = patcher.run(stream)
            if new_xml is not xml and new_xml != xml:
                replaced[part] = new_xml
                if stream is not None and patcher.streamed:
                    ahead[part] = stream.finish()
                elif compress_ahead and len(new_xml) >= AHEAD_MIN_BYTES and deflated:
                    ahead[part] = _Packer(new_xml)
            elif stream is not None and patcher.streamed:
                stream.cancel()  # the same bytes after all: nothing to write
            del xml, new_xml
            if any(a.kind == "table-header" for a in areas):
                blocked = [*patcher.merges, *patcher.array_ranges, *(a.rng for a in areas if a.kind == "pivot")]
                for done in extend_tables(pkg, part, patcher.wants, blocked, replaced):
                    extended.append(f"{sp.sheet} {done}")
            patcher.drop_source()
        written += patcher.written
        cleared_n += len(patcher.cleared)
        if patcher.cleared:
            cleared[sp.sheet] = tuple(patcher.cleared)
        if patcher.rewritten:
            rewritten[sp.sheet] = tuple(patcher.rewritten)
        removed_formula |= patcher.removed_formula

    sst_new = strings.render()
    if sst_new is not None and sst_part:
        replaced[sst_part] = sst_new
    styles_new = styles.render()
    if styles_new is not None and styles_part:
        replaced[styles_part] = styles_new

    removed: set[str] = set()
    calc_chain_removed = False
    changed = bool(replaced or added)
    if changed:
        calc_part = pkg.wb_part_of_type("/calcChain")
        if removed_formula and calc_part:
            removed.add(calc_part)
            calc_chain_removed = True
        edit_workbook(pkg, new_sheets, replaced, calc_part if calc_chain_removed else None)

    summary = PatchSummary(
        changed=changed,
        cells_written=written,
        cells_cleared=cleared_n,
        sheets_created=tuple(name for name, _ in new_sheets),
        members_changed=tuple(e.name for e in pkg.entries if e.name in replaced),
        members_added=tuple(part for part, _ in added),
        members_removed=tuple(sorted(removed)),
        styles_added=styles.xfs_added,
        strings_added=len(strings.appended),
        calc_chain_removed=calc_chain_removed,
        cleared_cells=cleared,
        rewritten_cells=rewritten,
    )
    # A table widened over new columns replaces its part after the sheet was deflated ahead: never
    # the sheet itself, but only parts still replaced by what was packed are taken.
    ahead = {name: packer for name, packer in ahead.items() if name in replaced}
    return PreparedPatch(summary, pkg, replaced, removed, added, tuple(extended), ahead)


def apply_plan(src_path: str | Path, plan: WritePlan, dst_path: str | Path) -> PatchSummary:
    """Write a copy of the workbook at ``src_path`` with ``plan`` applied to ``dst_path``.

    All checks run before ``dst_path`` is opened; on :class:`PatchRefused` nothing is written.
    The caller handles temporary names, verification and the atomic rename
    (see :func:`toolkit.excel.safe_write.write_safely`).
    """
    prepared = prepare_patch(src_path, plan)
    prepared.write(dst_path)
    return prepared.summary
