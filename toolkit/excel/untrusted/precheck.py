"""Structural pre-check of an untrusted workbook, without parsing it as a workbook.

:func:`precheck` looks at size, real type, zip structure, declared and *actual* decompressed
sizes (a streaming decompression with a cap, since declared sizes can lie), compression
ratio, DTD/ENTITY declarations (XXE, billion laughs), giant text runs, the sheets' dimension
and the extent of the cells' ``r=`` references (one cell at XFD1048576 makes calamine
allocate the whole grid and abort). It costs a few milliseconds and raises
:class:`RejectedFile` with a Chinese reason.
"""

from __future__ import annotations

import functools
import os
import re
import struct
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from toolkit.core.schema import column_index, column_letter, has_formula_start
from toolkit.excel import inflating
from toolkit.excel.read import SHEET_PART as _SHEET_PART
from toolkit.excel.read import (
    UnreadableWorkbook,
    _cfb_kind,
    _norm,
    cfb_stream_names,
    detect_format,
    is_sheet_xml,
    staged_sheet_part,
)

__all__ = ["FileFacts", "Limits", "RejectedFile", "finish_precheck", "precheck"]


class RejectedFile(UnreadableWorkbook):
    """An untrusted file was refused: unsafe, unreadable, or it crashed/stalled its reader.

    ``str(e)`` is the Chinese reason with how to fix it; ``code`` is stable (``zip-bomb``,
    ``xml-dtd``, ``too-many-cells``, ``timeout``, ``crashed``... or any
    :class:`~toolkit.excel.read.UnreadableWorkbook` code).
    """


@dataclass(frozen=True)
class Limits:
    """What an untrusted file may contain. The defaults leave room for a 100k-row ledger."""

    max_bytes: int = 100 * 2**20  # file size
    max_uncompressed: int = 500 * 2**20  # decompressed bytes of all parts (declared and actual)
    max_ratio: float = 200.0  # decompressed/compressed, checked once a part passes 2 MB
    max_cells: int = 5_000_000  # rows × columns of a sheet's used area (calamine allocates it)
    max_rows: int = 200_000
    max_cols: int = 1000
    max_text_run: int = 512 * 1024  # bytes between two '<' (Excel caps a cell at 32,767 chars)
    max_entries: int = 10_000  # zip members


@dataclass
class FileFacts:
    """What :func:`precheck` learnt about a file it accepted.

    ``format`` is ``xlsx``, ``xlsm``, ``xlsb``, ``xls`` or ``ods``; ``uncompressed`` is the
    number of bytes actually decompressed while checking; ``max_row`` (1-based) and
    ``max_col`` (0-based) are the largest cell reference found in any sheet. ``has_macros``,
    ``external_links`` (parts under xl/externalLinks/, never followed) and
    ``oversized_dimensions`` ("part:ref" of a declared ``<dimension>`` beyond the limits while
    the cells themselves are within them) are reported, not rejected: the caller decides.
    """

    path: str
    format: str
    size: int
    uncompressed: int = 0
    has_macros: bool = False
    external_links: list[str] = field(default_factory=list)
    max_row: int = 0
    max_col: int = -1
    oversized_dimensions: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # XML parts (normalised names, see read._norm) holding an error-typed cell marker (t="e"): the reader
    # need not decompress any other .xml part again to find error values (read_workbook(error_parts=)).
    error_parts: set[str] = field(default_factory=set)
    # Asked for with precheck(formulas=True): the worksheet parts (normalised) scanned whole in which no formula
    # element starts (FORMULA_START): a reader need not decompress them again to look for formula cells.
    formula_free: set[str] | None = None
    _formula_seen: set[str] = field(default_factory=set, repr=False)
    # A pre-check in two steps (precheck(largest_sheet_first=True), or defer_largest=True): the largest sheet part
    # (normalised), and what finish_precheck() still has to check (the other sheets, or that largest one). Every
    # part is checked once ``pending`` is empty.
    largest_sheet: str = ""
    pending: list[zipfile.ZipInfo] = field(default_factory=list, repr=False)
    _limits: Limits | None = field(default=None, repr=False)

    @property
    def complete(self) -> bool:
        return not self.pending

    @property
    def largest_pending(self) -> bool:
        """The largest sheet part is still to be checked (``precheck(defer_largest=True)``): nothing may parse it
        before :func:`finish_precheck` has returned."""
        return bool(self.largest_sheet) and any(_norm(i.filename) == self.largest_sheet for i in self.pending)


FIX_BIG = "请删除无关的工作表、空白行列和图片，只保留需要报送的内容，另存为 .xlsx 后再提交"


def reject(path: str, code: str, reason: str) -> RejectedFile:
    return RejectedFile(reason, code, path)


def precheck(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = Limits.max_bytes,
    max_uncompressed: int = Limits.max_uncompressed,
    max_ratio: float = Limits.max_ratio,
    max_cells: int = Limits.max_cells,
    max_rows: int = Limits.max_rows,
    max_cols: int = Limits.max_cols,
    max_text_run: int = Limits.max_text_run,
    max_entries: int = Limits.max_entries,
    largest_sheet_first: bool = False,
    formulas: bool = False,
    defer_largest: bool = False,
    before_largest: Callable[[str], Any] | None = None,
) -> FileFacts:
    """Check an untrusted file before any workbook parser sees it.

    ``formulas``: also note the worksheet parts without any formula element (``facts.formula_free``).
    ``defer_largest``: the other way round from ``largest_sheet_first``: everything but the largest worksheet
    part (same rule) is checked now, and that part is left in ``facts.pending`` (``facts.largest_pending``), so
    that a small sheet (基本信息) can be read at once; nothing may parse the largest sheet before
    :func:`finish_precheck` has returned.

    ``largest_sheet_first``: for .xlsx/.xlsm with a part worth parsing ahead
    (:func:`toolkit.excel.read.staged_sheet_part`), check the zip, every part other than a worksheet, and that
    largest worksheet part only; the other worksheet parts are left in ``facts.pending`` for
    :func:`finish_precheck`. A reader may then open the workbook and parse that largest sheet while the rest
    is checked, and must parse no other sheet before ``finish_precheck`` has returned.

    ``before_largest`` (with ``largest_sheet_first``): called once with the format (``xlsx``/``xlsm``) when every
    part except the worksheet parts is checked and the largest worksheet part is about to be, so that a reader may
    open the workbook meanwhile (python-calamine's open reads the package, the workbook, the shared strings and
    the styles, never a worksheet). Not called when the file is refused before that point, nor when there is no
    largest part to check first.

    Returns :class:`FileFacts` for a file that may be read; raises :class:`RejectedFile`
    (Chinese reason) for an empty, oversized, encrypted, non-workbook, zip-bomb, DTD/entity,
    absurd-dimension or giant-text file. Never raises anything else.
    """
    limits = Limits(max_bytes, max_uncompressed, max_ratio, max_cells, max_rows, max_cols, max_text_run, max_entries)
    spath = os.fspath(path)
    started = time.perf_counter()
    facts = _guarded(spath, lambda: _precheck(spath, limits, largest_sheet_first, formulas, defer_largest,
                                              before_largest))
    facts.seconds = time.perf_counter() - started
    return facts


def finish_precheck(facts: FileFacts, before_largest: Callable[[str], Any] | None = None) -> FileFacts:
    """Check the parts a ``largest_sheet_first`` or ``defer_largest`` pre-check left (nothing to do otherwise);
    RejectedFile as precheck. ``before_largest``: as precheck's, called when what is left is the largest worksheet
    part (``facts.largest_pending``: every other part is checked already), before it is checked."""
    if not facts.pending:
        return facts
    started = time.perf_counter()
    if before_largest is not None and facts.largest_pending:
        before_largest(facts.format)
    _guarded(facts.path, lambda: _check_pending(facts))
    facts.seconds += time.perf_counter() - started
    return facts


def _guarded(path: str, check: Any) -> FileFacts:
    """Run a pre-check step: RejectedFile for anything it raises (a hostile file must not escape as a traceback)."""
    try:
        return check()
    except RejectedFile:
        raise
    except UnreadableWorkbook as exc:
        raise reject(path, exc.code, exc.reason) from None
    except Exception as exc:  # noqa: BLE001 - a hostile file must not escape as a traceback
        raise reject(
            path,
            "corrupt",
            f"文件结构异常，无法安全读取（{type(exc).__name__}）：请在 Excel 或 WPS 中打开该文件，另存为 .xlsx 后再提交。",
        ) from None


def _precheck(path: str, lim: Limits, largest_sheet_first: bool = False, formulas: bool = False,
              defer_largest: bool = False, before_largest: Callable[[str], Any] | None = None) -> FileFacts:
    try:
        size = os.stat(path).st_size
    except OSError:
        detect_format(path)  # raises the right Chinese message (not found, no permission...)
        raise
    if size > lim.max_bytes:
        raise reject(
            path,
            "too-large",
            f"文件太大（{size / 2**20:.1f} MB，上限 {lim.max_bytes / 2**20:.0f} MB）：{FIX_BIG}。",
        )
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
            if head.startswith(b"PK"):
                entries = _zip_entry_count(fh, size)
                if entries is not None and entries > lim.max_entries:
                    raise reject(path, "too-many-parts", f"文件内部包含 {entries} 个部件，远超正常工作簿：{FIX_BIG}。")
    except OSError:
        detect_format(path)
        raise
    fmt = detect_format(path)  # real type, encrypted, renamed .docx/.pdf... (raises)
    facts = FileFacts(path=path, format=fmt, size=size, formula_free=set() if formulas else None)
    if fmt in ("xlsx", "xlsm", "xlsb", "ods"):
        _check_zip(path, fmt, facts, lim, largest_sheet_first and fmt in ("xlsx", "xlsm"),
                   defer_largest and fmt in ("xlsx", "xlsm"), before_largest)
    else:
        _check_cfb(path, facts)
    return facts


def _zip_entry_count(fh: Any, size: int) -> int | None:
    """Entry count from the end-of-central-directory record, without reading the directory."""
    tail_len = min(size, 65536 + 22)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or pos + 22 > len(tail):
        return None  # truncated: detect_format reports it
    count = struct.unpack_from("<H", tail, pos + 10)[0]
    return None if count == 0xFFFF else count  # zip64: zipfile reads the real count


def _check_cfb(path: str, facts: FileFacts) -> None:
    """.xls: the size limit is all that is cheap; macros are flagged from the stream names."""
    with open(path, "rb") as fh:
        head = fh.read(512)
        try:
            names = cfb_stream_names(head, fh, facts.size)
        except (ValueError, struct.error):
            names = []
    _cfb_kind(path, names)
    low = {n.lower() for n in names}
    facts.has_macros = bool(low & {"_vba_project_cur", "vba", "_vba_project"})


# Matched against normalised names (see read._norm). A workbook at the package root
# (minimal packages) has its sheets elsewhere: the r= scan then only runs on xl/ layouts.
_CELL_TEXT_PART = re.compile(
    r"^((xl/)?(worksheets|dialogsheets|macrosheets)/[^/]+|(xl/)?sharedstrings|(xl/)?workbook|sheet\d*|content)\.xml$"
)
_XMLISH = (".xml", ".rels", ".vml", ".bin")


def _check_zip(path: str, fmt: str, facts: FileFacts, lim: Limits, largest_sheet_first: bool = False,
               defer_largest: bool = False, before_largest: Callable[[str], Any] | None = None) -> None:
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        declared = sum(i.file_size for i in infos)
        if declared > lim.max_uncompressed:
            raise _zip_bomb(path, declared, lim)
        for info in infos:
            if info.flag_bits & 0x1:
                raise reject(path, "encrypted", "文件内部有加密的部件，无法读取：请取消密码后另存为 .xlsx 再提交。")
            if info.file_size > 2 * 2**20 and info.file_size > lim.max_ratio * max(info.compress_size, 1):
                raise _zip_bomb(path, info.file_size, lim, info.file_size / max(info.compress_size, 1))
        low = [_norm(n) for n in names]
        facts.has_macros = any(n.endswith("vbaproject.bin") for n in low) or fmt == "xlsm"
        facts.external_links = [
            n
            for n, n_low in zip(names, low, strict=True)
            if n_low.startswith("xl/externallinks/") and "/_rels/" not in n_low
        ]
        if fmt == "ods":
            facts.has_macros = any(n.startswith(("basic/", "scripts/")) for n in low)
            manifest = next((i for i in infos if _norm(i.filename) == "meta-inf/manifest.xml"), None)
            if manifest is not None:
                data = b"".join(_inflate(fh, manifest, path, lim, lim.max_uncompressed))
                if b"encryption-data" in data:
                    raise reject(
                        path, "encrypted", "文件已加密（设置了打开密码），无法读取：请取消密码后另存为 .xlsx 再提交。"
                    )
        largest = staged_sheet_part(infos) if largest_sheet_first or defer_largest else None
        # Every member stored under the largest part's name (a name stored twice, or once more in another case or
        # with backslashes, is one part to a reader, and it may read either copy): checked together, never split
        # between the two steps. Skipping members by name below would otherwise pass over a copy in both steps.
        same: list[zipfile.ZipInfo] = []
        if largest is not None:
            facts.largest_sheet = _norm(largest.filename)
            same = [i for i in infos if _norm(i.filename) == facts.largest_sheet]
            facts.pending = (
                same if defer_largest
                else [i for i in infos if is_sheet_xml(i.filename) and _norm(i.filename) != facts.largest_sheet]
            )
            facts._limits = lim
        later = {i.filename for i in facts.pending}
        if largest is not None and largest_sheet_first and before_largest is not None:
            # Every other part first, then the hook, then the largest part (every copy of it).
            total = _scan_members(path, fmt, facts, lim, fh, infos, later | {i.filename for i in same}, 0)
            before_largest(fmt)
            facts.uncompressed = _scan_members(path, fmt, facts, lim, fh, same, set(), total)
            return
        facts.uncompressed = _scan_members(path, fmt, facts, lim, fh, infos, later, 0)


def _check_pending(facts: FileFacts) -> FileFacts:
    lim = facts._limits or Limits()
    with open(facts.path, "rb") as fh:
        facts.uncompressed = _scan_members(facts.path, facts.format, facts, lim, fh, facts.pending, set(),
                                           facts.uncompressed)
    facts.pending = []
    return facts


def _scan_members(path: str, fmt: str, facts: FileFacts, lim: Limits, fh: Any, infos: list[zipfile.ZipInfo],
                  later: set[str], total: int) -> int:
    """Decompress and scan each XML-ish member of ``infos`` (those named in ``later`` excepted); the new total."""
    for info in infos:
        name = _norm(info.filename)
        lname = name
        if not lname.endswith(_XMLISH) or info.is_dir() or info.filename in later:
            continue
        budget = lim.max_uncompressed - total
        if lname.endswith(".bin"):
            if fmt == "xlsb" and _SHEET_PART.match(name):
                data = b"".join(_inflate(fh, info, path, lim, budget))
                total += len(data)
                _check_xlsb_sheet(path, name, data, facts, lim)
            elif fmt == "xlsb" and name == "xl/sharedstrings.bin":
                data = b"".join(_inflate(fh, info, path, lim, budget))
                total += len(data)
                _check_xlsb_sst(path, data, lim)
            continue
        scan = _XmlScan(path, name, lim, facts, fmt, info.filename)
        for chunk in _inflate(fh, info, path, lim, budget):
            total += len(chunk)
            scan.feed(chunk)
        scan.close()
    return total


def _zip_bomb(path: str, size: int, lim: Limits, ratio: float | None = None) -> RejectedFile:
    how = f"压缩比 {ratio:.0f}:1，" if ratio else ""
    return reject(
        path,
        "zip-bomb",
        f"文件解压后过大（{how}超过 {size / 2**20:.0f} MB，上限 {lim.max_uncompressed / 2**20:.0f} MB），"
        f"可能是异常或恶意构造的文件：{FIX_BIG}；如确属正常文件，请联系管理员。",
    )


def _inflate(fh: Any, info: zipfile.ZipInfo, path: str, lim: Limits, budget: int) -> Iterator[bytes]:
    """Decompress one member from its raw bytes, capping output and ratio as it goes.

    zipfile stops at the declared size; a reader that trusts the deflate stream instead (as
    calamine's does) would see the real size, so that is what is measured here.
    """
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise _corrupt_part(path, info.filename)
    nlen, xlen = struct.unpack_from("<HH", local, 26)
    fh.seek(info.header_offset + 30 + nlen + xlen)
    left = info.compress_size
    out_total = 0
    in_total = 0
    if info.compress_type == zipfile.ZIP_STORED:
        while left > 0:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                raise _corrupt_part(path, info.filename)
            left -= len(chunk)
            out_total += len(chunk)
            if out_total > budget:
                raise _zip_bomb(path, out_total, lim)
            if out_total > info.file_size:
                raise _size_lie(path, info)
            yield chunk
        return
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise reject(
            path,
            "unsupported-compression",
            f"文件内部部件“{info.filename}”使用了不支持的压缩方式：请用 Excel 或 WPS 打开后另存为 .xlsx 再提交。",
        )
    dec = inflating.decompressobj(-15)
    while left > 0 or dec.unconsumed_tail:
        if dec.unconsumed_tail:
            data = dec.unconsumed_tail
        else:
            data = fh.read(min(left, 1 << 16))
            if not data:
                raise _corrupt_part(path, info.filename)
            left -= len(data)
            in_total += len(data)
        try:
            out = dec.decompress(data, 1 << 20)
        except inflating.error:
            raise _corrupt_part(path, info.filename) from None
        out_total += len(out)
        if out_total > budget:
            raise _zip_bomb(path, out_total, lim)
        if out_total > info.file_size:
            # More than declared: calamine's zip reader refuses this too; a bomb that lies
            # about its size to pass the declared-size check is caught here at once.
            raise _size_lie(path, info)
        if out_total > 2 * 2**20 and out_total > lim.max_ratio * max(in_total, 1):
            raise _zip_bomb(path, out_total, lim, out_total / max(in_total, 1))
        if out:
            yield out
        if dec.eof:
            break
    tail = dec.flush()
    if tail:
        out_total += len(tail)
        if out_total > budget:
            raise _zip_bomb(path, out_total, lim)
        if out_total > info.file_size:
            raise _size_lie(path, info)
        yield tail


def _size_lie(path: str, info: zipfile.ZipInfo) -> RejectedFile:
    return reject(
        path,
        "size-mismatch",
        f"文件内部部件“{info.filename}”解压后比它声明的大小更大，文件已损坏或是恶意构造的："
        f"请重新导出，或在 Excel 中另存为 .xlsx 后再提交。",
    )


def _corrupt_part(path: str, name: str) -> RejectedFile:
    return reject(
        path,
        "corrupt",
        f"文件已损坏或不完整（内部部件“{name}”无法解压），可能是下载或传输中断：请重新导出或重新发送该文件。",
    )


_DTD_MARKS = (b"<!DOCTYPE", b"<!doctype", b"<!ENTITY", b"<!entity")
_DTD_TAILS = tuple(m[2:] for m in _DTD_MARKS)
_ERROR_MARKER = re.compile(rb"""t=["']e["']""")  # a superset of t="e" / t='e': a stray match only costs a rescan
_DTD_MARKS_16 = tuple(m.decode().encode("utf-16-le") for m in _DTD_MARKS[::2]) + tuple(
    m.decode().encode("utf-16-be") for m in _DTD_MARKS[::2]
)
# ' r="' has a literal prefix, so the regex engine skips quickly between matches (a pattern
# allowing any whitespace around '=' costs twice as much). A file that spells r= oddly to
# slip past this still meets the worker's memory limit: it is rejected, only more slowly.
_ROW_NUMBERS = re.compile(rb""" r=["'][A-Za-z]*(\d+)""")
_COL_LETTERS = re.compile(rb""" r=["']([A-Za-z]+)\d""")
_CELL_REF = re.compile(rb"""<(?:[\w.-]+:)?c\s[^>]*?\br\s*=\s*["']([A-Za-z]+)(\d+)["'][^>]*?(/?)>""")
_DIMENSION = re.compile(rb"""<(?:[\w.-]+:)?dimension\s[^>]*ref\s*=\s*["']([^"']*)["']""")
_SST_COUNT = re.compile(rb"""<(?:[\w.-]+:)?sst\s[^>]*?\b(?:uniqueCount|count)\s*=\s*["'](\d+)""")
_ODS_TOKEN = re.compile(rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*)>")
_ODS_ROWS_REP = re.compile(rb"""number-rows-repeated\s*=\s*["'](\d+)""")
_ODS_COLS_REP = re.compile(rb"""number-columns-repeated\s*=\s*["'](\d+)""")


def _has_dtd(seg: bytes) -> bool:
    """One of the DTD/ENTITY marks is in ``seg``.

    '!' is rare in XML (a full-width ！ is other bytes), so each one is found by memchr and the marks
    are looked for only there; a segment with many (formulas naming sheets) is searched as before.
    """
    i = seg.find(b"!")
    seen = 0
    while i >= 0:
        if i and seg[i - 1] == 0x3C and seg.startswith(_DTD_TAILS, i + 1):  # 0x3C: '<'
            return True
        seen += 1
        if seen > 64:
            return any(m in seg for m in _DTD_MARKS)
        i = seg.find(b"!", i + 1)
    return False


def _ref_extent(seg: bytes) -> tuple[int, int]:
    """Largest row and column (0-based, 10**6 for over-long letters) among the segment's r= references.

    The candidates come from the segment's last references (rows ascend in real sheets); one
    regex search confirms that no reference goes beyond either of them, in C, without a Python
    object per reference. When one does, each axis is settled as before (every reference collected
    where its candidate fails).
    """
    tail = max(0, len(seg) - 4096)
    rows = _ROW_NUMBERS.findall(seg, tail)
    letters = _COL_LETTERS.findall(seg, tail)
    if not rows:
        rows = _ROW_NUMBERS.findall(seg)
        letters = _COL_LETTERS.findall(seg)
        return _full_extent(rows, letters)
    top_row = max(map(int, rows))
    top = max((x.upper() for x in letters), key=lambda x: (len(x), x)) if letters else b""
    if top and len(top) <= 4 and not _greater_ref(top_row, top).search(seg):
        return top_row, column_index(top.decode("ascii"))
    if _greater_number(top_row).search(seg):
        top_row = max(map(int, _ROW_NUMBERS.findall(seg)))
    if not top or len(top) > 4 or _greater_letters(top).search(seg):
        return top_row, _full_extent([], _COL_LETTERS.findall(seg))[1]
    return top_row, column_index(top.decode("ascii"))


def _full_extent(rows: list[bytes], letters: list[bytes]) -> tuple[int, int]:
    top_row = max(map(int, rows)) if rows else 0
    top_col = (
        max(column_index(x.decode("ascii")) if len(x) <= 4 else 10**6 for x in set(letters)) if letters else -1
    )
    return top_row, top_col


_REF_START = rb""" r=["']"""


def _number_above(n: int) -> bytes:
    """After ``r="``: letters, then a row number greater than ``n`` (leading zeros make it longer: a match too)."""
    digits = str(n).encode()
    k = len(digits)
    alts = [rb"\d{%d}" % (k + 1)]
    for i in range(k):
        d = digits[i] - 48
        if d < 9:
            rest = rb"\d{%d}" % (k - i - 1) if k - i - 1 else b""
            alts.append(digits[:i] + b"[%d-9]" % (d + 1) + rest)
    # Possessive letters and a look-ahead for k digits: most references are shorter than the candidate
    # and fail there at once (a third of the time of trying every alternative).
    return rb"[A-Za-z]*+(?=\d{%d})(?:" % k + b"|".join(alts) + b")"


def _letters_above(top: bytes) -> bytes:
    """After ``r="``: column letters (any case) that come after ``top`` (upper case), then a digit."""
    m = len(top)
    alts = [rb"[A-Za-z]{%d,}" % (m + 1)]
    for i in range(m):
        ch = top[i]
        if ch < 90:  # "Z"
            nxt = ch + 1
            prefix = b"".join(b"[%c%c]" % (c, c + 32) for c in top[:i])
            rest = rb"[A-Za-z]{%d}" % (m - i - 1) if m - i - 1 else b""
            alts.append(prefix + b"[%c-Z%c-z]" % (nxt, nxt + 32) + rest)
    return b"(?:" + b"|".join(alts) + rb")\d"


@functools.lru_cache(maxsize=256)
def _greater_number(n: int) -> re.Pattern[bytes]:
    """Matches an r= reference whose row number is greater than ``n``."""
    return re.compile(_REF_START + _number_above(n))


@functools.lru_cache(maxsize=256)
def _greater_letters(top: bytes) -> re.Pattern[bytes]:
    """Matches an r= reference whose column letters (any case) come after ``top`` (upper case)."""
    return re.compile(_REF_START + _letters_above(top))


@functools.lru_cache(maxsize=256)
def _greater_ref(n: int, top: bytes) -> re.Pattern[bytes]:
    """Matches an r= reference beyond row ``n`` or column ``top``: both checks in one pass over the references
    (the letters first: they fail at the first letter for almost every reference), after a look-ahead that
    turns away at once the references plainly within both (:func:`_plainly_within`)."""
    return re.compile(_REF_START + _plainly_within(n, top) + b"(?:" + _letters_above(top) + b"|" + _number_above(n)
                      + b")")


def _plainly_within(n: int, top: bytes) -> bytes:
    """A negative look-ahead for the usual reference, one upper-case letter up to ``top`` and a row number below
    ``n``, then the closing quote: such a reference is within both, so it is turned away without trying the
    alternatives. Empty when ``top`` is not a single upper-case letter (the alternatives alone decide, as before).

    A row number below ``n`` has fewer digits (taken possessively: giving digits back cannot reach the quote), or
    as many, equal to ``n`` up to some digit and smaller there. Every digit position is covered: a segment's
    candidate comes from its own tail, and in a middle segment of a large sheet most row numbers share the first
    digit with it (rows 40000–49399 under 49400); with only the first digit looked at, those took the
    alternatives (measured on the 100k bench sheet: the check took 0.50 s, now 0.25–0.36 s).
    """
    if len(top) != 1 or not 65 <= top[0] <= 90:
        return b""
    digits = str(n).encode()
    k = len(digits)
    rows = [rb"\d{1,%d}+" % (k - 1)] if k > 1 else []
    for i in range(k):
        d = digits[i] - 48
        if d > 0:
            rest = rb"\d{%d}" % (k - i - 1) if k - i - 1 else b""
            rows.append(digits[:i] + b"[0-%d]" % (d - 1) + rest)
    if not rows:
        return b""
    return rb"(?![A-%c](?:" % top[0] + b"|".join(rows) + rb")[\"'])"


def _parse_ref(ref: bytes) -> tuple[int, int] | None:
    """'XFD1048576' → (1048576, 16383); None when not a cell reference."""
    m = re.fullmatch(rb"\$?([A-Za-z]{1,4})\$?(\d{1,9})", ref.strip())
    if not m:
        return None
    return int(m.group(2)), column_index(m.group(1).decode("ascii"))


# Decompressed chunks are scanned in segments of this size: one regex pass per segment, and the candidates of
# the r= check come from the segment's end, so a bigger segment makes the check cheaper (most references have
# fewer digits than the last row); the memory held stays bounded.
_SEGMENT = 16 * 2**20


class _XmlScan:
    """Streaming checks on one XML part, fed decompressed chunks.

    Chunks are gathered into segments of ``_SEGMENT`` bytes cut at their last '<', so every tag is seen
    whole; the carried-over part stays small because a run without '<' longer than ``max_text_run`` is
    rejected.
    """

    def __init__(self, path: str, name: str, lim: Limits, facts: FileFacts, fmt: str, shown: str = "") -> None:
        self.path, self.name, self.lim, self.facts = path, name, lim, facts
        self.shown = shown or name  # the member name as stored, for messages
        self.sheet = bool(_SHEET_PART.match(name)) and fmt != "ods"
        self.cell_text = bool(_CELL_TEXT_PART.match(name))
        self.sst = name in ("xl/sharedstrings.xml", "sharedstrings.xml")
        self.ods = fmt == "ods" and name == "content.xml"
        self.pieces: list[bytes] = []  # fed and not yet scanned
        self.held = 0
        self.first = True
        self.max_row = 0
        self.max_col = -1
        self.formula = False  # a formula element starts in a segment scanned so far (formulas=True only)
        # ODS state: current row index (0-based), column within the row, row repeat, content.
        self.o_row = 0
        self.o_col = 0
        self.o_rep = 1
        self.o_has = False
        self.o_last = 0

    def feed(self, chunk: bytes) -> None:
        self.pieces.append(chunk)
        self.held += len(chunk)
        if self.held >= _SEGMENT:
            self._flush()

    def _flush(self) -> None:
        """Scan what is held up to its last '<'; keep the rest for the next segment."""
        last = self.pieces[-1]
        cut = last.rfind(b"<")
        if cut > 0 or (cut == 0 and len(self.pieces) > 1):
            # The last '<' is in the last piece: the segment is joined once, up to it (no copy of a whole
            # joined buffer cut again), and the same bytes are scanned.
            seg = b"".join([*self.pieces[:-1], last[:cut]])
            rest = last[cut:]
            self.pieces, self.held = [rest], len(rest)
            self._process(seg)
            return
        buf = self.pieces[0] if len(self.pieces) == 1 else b"".join(self.pieces)
        cut = buf.rfind(b"<")
        if cut <= 0:
            if len(buf) > self.lim.max_text_run:
                raise self._giant()
            self.pieces, self.held = [buf], len(buf)
            return
        self._process(buf[:cut])
        rest = buf[cut:]
        self.pieces, self.held = [rest], len(rest)

    def close(self) -> None:
        if self.held:
            buf = self.pieces[0] if len(self.pieces) == 1 else b"".join(self.pieces)
            self.pieces, self.held = [], 0
            self._process(buf)
        if self.sheet:
            self._check_extent(self.max_row, self.max_col, "单元格（含只设置了格式的空单元格）位置")
            self.facts.max_row = max(self.facts.max_row, self.max_row)
            self.facts.max_col = max(self.facts.max_col, self.max_col)
            free = self.facts.formula_free
            if free is not None:
                # Formula-free only when every member of that name is (a name may be stored twice).
                if self.formula:
                    self.facts._formula_seen.add(self.name)
                    free.discard(self.name)
                elif self.name not in self.facts._formula_seen:
                    free.add(self.name)

    def _process(self, seg: bytes) -> None:
        if self.first:
            self.first = False
            if seg.startswith((b"\xff\xfe", b"\xfe\xff")) and any(m in seg for m in _DTD_MARKS_16):
                raise self._dtd()
            if self.sheet:
                dim = _DIMENSION.search(seg, 0, 65536)
                if dim:
                    self._check_dimension(dim.group(1))
            if self.sst:
                for m in _SST_COUNT.finditer(seg, 0, 4096):
                    if int(m.group(1)) > self.lim.max_cells:
                        raise self._too_many(int(m.group(1)), "共享字符串数量")
        if _has_dtd(seg):
            raise self._dtd()
        if self.cell_text and len(seg) > self.lim.max_text_run:
            self._check_runs(seg)
        if self.name not in self.facts.error_parts and _ERROR_MARKER.search(seg):
            self.facts.error_parts.add(self.name)
        if self.sheet:
            self._scan_refs(seg)
            if self.facts.formula_free is not None and not self.formula:
                self.formula = has_formula_start(seg)
        elif self.ods:
            self._ods(seg)

    def _scan_refs(self, seg: bytes) -> None:
        """Track the largest row and column among the cells' r= references.

        A quick pass takes every r= (rows and all cells). Only when that would break a limit
        is the segment scanned again counting cells that can hold a value: calamine skips
        value-less ``<c r="XFD1048575" s="0"/>`` cells, which Gnumeric writes by the thousand.
        """
        top_row, top_col = _ref_extent(seg)
        if self._too_big(max(self.max_row, top_row), max(self.max_col, top_col)):
            top_row, top_col = 0, -1
            for col, row, slash in _CELL_REF.findall(seg):
                if not slash:
                    top_row = max(top_row, int(row))
                    top_col = max(top_col, column_index(col.decode("ascii")) if len(col) <= 4 else 10**6)
        self.max_row = max(self.max_row, top_row)
        self.max_col = max(self.max_col, top_col)
        if self._too_big(self.max_row, self.max_col):
            self._check_extent(self.max_row, self.max_col, "单元格位置")

    def _too_big(self, max_row: int, max_col: int) -> bool:
        lim = self.lim
        return max_row > lim.max_rows or max_col >= lim.max_cols or max_row * (max_col + 1) > lim.max_cells

    def _check_runs(self, seg: bytes) -> None:
        n = self.lim.max_text_run
        a, size = -1, len(seg)
        while a + n + 1 < size:
            idx = seg.rfind(b"<", a + 1, a + n + 2)
            if idx < 0:
                raise self._giant()
            a = idx

    def _check_dimension(self, ref: bytes) -> None:
        """Record a declared used range beyond the limits; do not reject on it alone.

        Gnumeric writes ``A1:XFD1048576`` in ordinary files, and calamine 0.9.1 does not
        allocate by the declared range (measured: a 70M-cell dimension over one cell reads in
        0.1 s); the cells' own r= references, checked below, are what it allocates by.
        """
        cells = [_parse_ref(p) for p in ref.split(b":")]
        if not cells or any(c is None for c in cells):
            return
        rows = max(c[0] for c in cells if c) - min(c[0] for c in cells if c) + 1
        cols = max(c[1] for c in cells if c) - min(c[1] for c in cells if c) + 1
        if (
            max(c[0] for c in cells if c) > self.lim.max_rows
            or max(c[1] for c in cells if c) >= self.lim.max_cols
            or rows * cols > self.lim.max_cells
        ):
            self.facts.oversized_dimensions.append(f"{self.name}:{ref.decode('ascii', 'replace')}")

    def _check_extent(self, max_row: int, max_col: int, what: str) -> None:
        lim = self.lim
        cols = max_col + 1
        if max_row > lim.max_rows or cols > lim.max_cols or max_row * max(cols, 1) > lim.max_cells:
            where = f"{column_letter(max_col)}{max_row}" if 0 <= max_col < 16384 else f"第 {max_row} 行第 {cols:,} 列"
            raise reject(
                self.path,
                "too-many-cells",
                f"工作表中的{what}超出合理范围（最远到 {where}，上限 {lim.max_rows:,} 行、{lim.max_cols} 列、"
                f"{lim.max_cells:,} 个单元格）：{FIX_BIG}。",
            )

    def _ods(self, seg: bytes) -> None:
        for m in _ODS_TOKEN.finditer(seg):
            closing, tag, attrs = m.group(1), m.group(2), m.group(3)
            if tag == b"table":
                if not closing:
                    self.o_row = 0
                continue
            if tag == b"table-row":
                if closing:
                    self._ods_row_end()
                    continue
                rep = _ODS_ROWS_REP.search(attrs)
                self.o_rep = int(rep.group(1)) if rep else 1
                self.o_col, self.o_has, self.o_last = 0, False, 0
                if attrs.rstrip().endswith(b"/"):
                    self._ods_row_end()
                continue
            if closing:
                continue
            rep = _ODS_COLS_REP.search(attrs)
            n = int(rep.group(1)) if rep else 1
            has = b"value-type" in attrs or not attrs.rstrip().endswith(b"/")
            self.o_col += n
            if has and tag == b"table-cell":
                self.o_has = True
                self.o_last = self.o_col
                self._check_extent(self.o_row + 1, self.o_last - 1, "单元格（含重复行列）")

    def _ods_row_end(self) -> None:
        if self.o_has:
            last_row = self.o_row + self.o_rep
            self.max_row = max(self.max_row, last_row)
            self.max_col = max(self.max_col, self.o_last - 1)
            self._check_extent(last_row, self.o_last - 1, "单元格（含重复行列）")
            self.facts.max_row = max(self.facts.max_row, self.max_row)
            self.facts.max_col = max(self.facts.max_col, self.max_col)
        self.o_row += self.o_rep
        self.o_rep, self.o_has = 1, False

    def _dtd(self) -> RejectedFile:
        return reject(
            self.path,
            "xml-dtd",
            f"文件内部部件“{self.shown}”含有 DTD/实体声明（正常的 Excel 文件不会有），"
            f"可能是恶意构造的文件，已拒绝读取：请用 Excel 或 WPS 打开后另存为 .xlsx 再提交。",
        )

    def _giant(self) -> RejectedFile:
        return reject(
            self.path,
            "text-too-long",
            f"文件内部部件“{self.shown}”含有超长文本（超过 {self.lim.max_text_run // 1024} KB，"
            f"Excel 单元格最多 32767 个字符），可能是异常或恶意构造的文件：请检查并删除超长内容后另存为 .xlsx 再提交。",
        )

    def _too_many(self, n: int, what: str) -> RejectedFile:
        return reject(
            self.path, "too-many-cells", f"文件声明的{what}异常（{n:,}），可能是异常或恶意构造的文件：{FIX_BIG}。"
        )


def _xlsb_records(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(type, start, size) of each BIFF12 record; stops at a truncated record."""
    pos, end = 0, len(data)
    while pos < end:
        b = data[pos]
        rtype = b & 0x7F
        pos += 1
        if b & 0x80:
            if pos >= end:
                return
            rtype |= (data[pos] & 0x7F) << 7
            pos += 1
        size, shift = 0, 0
        for _ in range(4):
            if pos >= end:
                return
            b = data[pos]
            pos += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if pos + size > end:
            return
        yield rtype, pos, size
        pos += size


def _check_xlsb_sheet(path: str, name: str, data: bytes, facts: FileFacts, lim: Limits) -> None:
    """Dimension (BrtWsDim) and the extent of row headers and cell records of an .xlsb sheet."""
    scan = _XmlScan(path, name, lim, facts, "xlsb")
    max_row, max_col, col, row = 0, -1, -1, 0
    for rtype, start, size in _xlsb_records(data):
        if rtype == 0x94 and size >= 16:  # BrtWsDim: rwFirst, rwLast, colFirst, colLast
            r1, r2, c1, c2 = struct.unpack_from("<IIII", data, start)
            if r2 + 1 > lim.max_rows or c2 >= lim.max_cols or (r2 - r1 + 1) * (c2 - c1 + 1) > lim.max_cells:
                facts.oversized_dimensions.append(f"{name}:R{r1 + 1}C{c1 + 1}:R{r2 + 1}C{c2 + 1}")
        elif rtype == 0 and size >= 4:  # BrtRowHdr: the row of the cell records that follow
            row = struct.unpack_from("<I", data, start)[0] + 1
            col = -1
        elif 1 <= rtype <= 11 and size >= 4:  # cell records carry their column
            col = struct.unpack_from("<I", data, start)[0]
            if rtype != 1:  # BrtCellBlank holds no value; calamine skips it
                max_col = max(max_col, col)
                max_row = max(max_row, row)
        elif 12 <= rtype <= 18:  # short cell records: the next column
            col += 1
            if rtype != 12:  # BrtShortBlank
                max_col = max(max_col, col)
                max_row = max(max_row, row)
    scan._check_extent(max_row, max_col, "单元格位置")
    facts.max_row = max(facts.max_row, max_row)
    facts.max_col = max(facts.max_col, max_col)


def _check_xlsb_sst(path: str, data: bytes, lim: Limits) -> None:
    for rtype, start, size in _xlsb_records(data[:64]):
        if rtype == 0x9F and size >= 8:  # BrtBeginSst: cstTotal, cstUnique
            total, unique = struct.unpack_from("<II", data, start)
            if max(total, unique) > lim.max_cells:
                raise reject(
                    path,
                    "too-many-cells",
                    f"文件声明的共享字符串数量异常（{max(total, unique):,}），可能是异常或恶意构造的文件：{FIX_BIG}。",
                )
            return
