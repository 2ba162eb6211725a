"""Lossless write-back of a :class:`~toolkit.core.plan.WritePlan` into an existing .xlsx/.xlsm.

Only the cells listed in the plan change. Every zip member the plan does not need is copied
as its raw compressed bytes (same name, order, compression method, local header, extra
fields, CRC and compressed data), so its content is byte-identical; the central directory
records of copied members differ only in the local-header offset. A worksheet the plan
touches is not re-serialised: the original bytes are kept and only the touched ``<row>``
elements are rebuilt and spliced in, cell by cell (untouched cells inside a touched row are
copied verbatim too).

Design choices
--------------
* **Library evaluation** (the same feature test as ``tests/test_patch_fidelity.py``, run on
  this project's fixture with wolfxl 2.0.21 and xlinject 0.2.0b2):

  - wolfxl (``load_workbook(modify=True)``): on .xlsx it kept every feature, but wrote the
    text ``=HYPERLINK("x")`` as a formula without a cached value (calamine read ``''``) and
    turned the literal text ``_x000D_`` into a carriage return. On .xlsm it rewrote all seven
    sheet XMLs with ``ns1:``… prefixes and dropped ``xl/comments1.xml`` and
    ``xl/sharedStrings.xml``: the x14 cross-sheet dropdown, the 2010 data bar, rich text and
    the comments were lost. Rejected.
  - xlinject (``inject_cells_mixed``): kept every feature on .xlsx and .xlsm and writes text
    as inline strings, but does not escape ``_xHHHH_`` (the literal ``_x000D_`` came back as a
    carriage return), writes no styles, dates or booleans, cannot create or clear a sheet and
    is alpha. Rejected.

  So this module is our own (stdlib zip/zlib + regex tokenising; no full XML parse of a
  worksheet).
* **Strings go to the shared-string table, append only.** Existing ``<si>`` entries are never
  moved; a plan string equal to an existing plain entry reuses its index, a new one is
  appended; ``uniqueCount`` grows by the number appended and ``count`` is adjusted by the
  references added and removed (so an exact count stays exact). Inline strings were the
  alternative (sharedStrings.xml would stay byte-identical), but a literal ``_x000D_`` must be
  stored as ``_x005F_x000D_``, and openpyxl undoes that escape only in shared strings, not in
  inline strings; calamine, Excel and LibreOffice read both. A carriage return is stored as
  ``&#13;``, which every reader decodes (openpyxl does not decode ``_x000D_``). Inline strings
  are used only when the workbook has no shared-string part at all (creating one would change
  more members).
  Orphaned entries (texts no cell uses any more) stay until Excel next saves the file.
* **Styles**: a cell written with a :class:`CellStyle` gets an ``xf`` derived from the cell's
  current ``xf`` (so borders, font name and size and vertical alignment of the staff's
  formatting stay): fill, font colour, bold, number format, wrap and horizontal alignment come
  from the CellStyle (``fill=None`` means no fill, ``bold=False`` not bold, ``font_color=None``
  keeps the base colour, ``num_format=None`` keeps the base format — except that dates always
  get a date format, ``yyyy-mm-dd`` or ``yyyy-mm-dd hh:mm``). New fonts, fills, numFmts and
  cellXfs entries are appended (deduplicated against existing entries, so repeated runs
  converge); existing indices never move. ``style=None`` keeps the cell's current style.
* **``None`` empties the value but keeps the cell's style** (borders of a staff's owned column
  survive). Cells cleared because of ``owned_columns`` keep their style too; in an
  ``owned_sheet`` cells outside the plan (from ``clear_from_row`` down) are removed outright,
  and so are rows left without cells.
* **Equivalent cells are left alone**: a plan cell whose current value, formula and style
  already match is not rewritten (whether Excel stored it as shared or inline string). A run
  that changes nothing reports ``changed=False`` and yields a byte-identical package.
* Text is always text (``'=cmd'`` is stored as a string); only :class:`Formula` values become
  ``<f>`` with a cached ``<v>``. ``fullCalcOnLoad="1"`` is set on ``calcPr`` whenever
  anything changes. When a formula cell is overwritten or cleared, ``calcChain.xml`` is
  dropped (with its relationship and content-type override); Excel rebuilds it.

Refused (``PatchRefused``, raised before anything is written) when the plan would touch:
a shared-formula master or member; a cell of an array formula (or dynamic array, ``cm``);
a data-table formula; a cell with rich value metadata (``vm``: in-cell picture, checkbox
data); a table (ListObject) header or totals row; a pivot table's area; a merged range other
than its top-left cell; in a staff sheet a column whose header (row ``clear_from_row - 1``)
does not start with ``【自动】``; a chart sheet or missing sheet (unless ``owned_sheet``);
and for files that are encrypted, ZIP64, multi-part, strict OOXML, UTF-16, contain a DTD,
or are damaged. Plans with duplicate cells, invalid references, non-finite numbers, texts
over 32,767 characters, dates before 1900-03-01 or bad colours are refused as well.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
import struct
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from toolkit.core.plan import CellStyle, CellValue, CellWrite, Formula, SheetPlan, WritePlan
from toolkit.core.schema import OWNED_PREFIX, column_index, column_letter

__all__ = [
    "LedgerWriteError",
    "PatchRefused",
    "PatchSummary",
    "PreparedPatch",
    "apply_plan",
    "member_records",
    "prepare_patch",
]

MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = b"http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REL_BASE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

MAX_ROW = 1_048_576
MAX_COL = 16_384
MAX_TEXT = 32_767


# ----------------------------------------------------------------------------- exceptions
class LedgerWriteError(Exception):
    """Writing back to the ledger could not be done; ``message`` (Chinese) says why and how to fix it."""

    def __init__(self, message: str, *, sheet: str | None = None, cell: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sheet = sheet
        self.cell = cell


class PatchRefused(LedgerWriteError):
    """The plan would damage the workbook, or the file cannot be patched safely. Nothing was written."""


def _refuse(message: str, sheet: str | None = None, cell: str | None = None) -> PatchRefused:
    return PatchRefused(message, sheet=sheet, cell=cell)


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


# ----------------------------------------------------------------------------- zip layer
@dataclass
class _ZipEntry:
    name: str
    raw_name: bytes
    cd: bytes  # raw central-directory record
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    local_start: int
    data_start: int
    local_end: int  # end of data (+ data descriptor)


_CD_FMT = "<4sHHHHHHIIIHHHHHII"
_LOCAL_FMT = "<4sHHHHHIIIHH"


def _read_zip(blob: bytes) -> tuple[list[_ZipEntry], bytes]:
    """Parse the central directory; refuse what cannot be raw-copied safely."""
    if blob[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise _refuse(
            "文件已加密（设置了打开密码）或是旧版 .xls 格式，无法写回。请在 Excel 中取消打开密码，并另存为 .xlsx 后再试。"
        )
    pos = blob.rfind(b"PK\x05\x06", max(0, len(blob) - 65_557))
    if pos < 0 or len(blob) < pos + 22:
        raise _refuse("文件不是有效的 Excel 工作簿（.xlsx/.xlsm），可能已损坏。请用 Excel 打开确认后另存一份再试。")
    _, disk, cd_disk, n_disk, n, cd_size, cd_off, clen = struct.unpack("<4sHHHHIIH", blob[pos : pos + 22])
    if disk or cd_disk or n != n_disk or n == 0xFFFF or cd_off == 0xFFFFFFFF:
        raise _refuse("工作簿的压缩格式特殊（ZIP64 或分卷），无法安全写回。请用 Excel 打开并另存为 .xlsx 后再试。")
    if cd_off + cd_size != pos:
        raise _refuse("工作簿文件结构异常（可能已损坏或被其他程序改动）。请用 Excel 打开并另存为 .xlsx 后再试。")
    comment = blob[pos + 22 : pos + 22 + clen]
    entries: list[_ZipEntry] = []
    p = cd_off
    for _ in range(n):
        rec = struct.unpack(_CD_FMT, blob[p : p + 46])
        sig, _vm, _vn, flags, method, _t, _d, crc, csize, usize, nlen, elen, clen2, _ds, _ia, _ea, off = rec
        if sig != b"PK\x01\x02":
            raise _refuse("工作簿文件结构异常（目录损坏）。请用 Excel 打开并另存为 .xlsx 后再试。")
        end = p + 46 + nlen + elen + clen2
        raw_name = blob[p + 46 : p + 46 + nlen]
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        if flags & 0x1:
            raise _refuse("工作簿中有加密的部件，无法写回。请取消加密后再试。")
        if 0xFFFFFFFF in (csize, usize, off):
            raise _refuse("工作簿的压缩格式特殊（ZIP64），无法安全写回。请用 Excel 打开并另存为 .xlsx 后再试。")
        if method not in (0, 8):
            raise _refuse(f"工作簿部件 {name} 使用了不支持的压缩方式。请用 Excel 打开并另存为 .xlsx 后再试。")
        lsig, *_rest, lnlen, lelen = struct.unpack(_LOCAL_FMT, blob[off : off + 30])
        if lsig != b"PK\x03\x04":
            raise _refuse("工作簿文件结构异常（数据损坏）。请用 Excel 打开并另存为 .xlsx 后再试。")
        data_start = off + 30 + lnlen + lelen
        local_end = data_start + csize
        if flags & 0x8:
            local_end += 16 if blob[local_end : local_end + 4] == b"PK\x07\x08" else 12
        if local_end > cd_off:
            raise _refuse("工作簿文件结构异常（数据越界）。请用 Excel 打开并另存为 .xlsx 后再试。")
        entries.append(
            _ZipEntry(name, raw_name, blob[p:end], flags, method, crc, csize, usize, off, data_start, local_end)
        )
        p = end
    return entries, comment


def member_records(blob: bytes) -> list[tuple[str, int, bytes]]:
    """Members of a package in directory order: (name, compression method, raw local record).

    The raw record is the local header, compressed data and data descriptor exactly as
    stored: two members with equal records are byte-identical in every respect but their
    offset. Raises :class:`PatchRefused` for packages this module cannot handle.
    """
    entries, _ = _read_zip(blob)
    return [(e.name, e.method, blob[e.local_start : e.local_end]) for e in entries]


def _inflate(blob: bytes, e: _ZipEntry) -> bytes:
    raw = blob[e.data_start : e.data_start + e.csize]
    if e.method == 8:
        d = zlib.decompressobj(-15)
        data = d.decompress(raw, e.usize + 1)
    else:
        data = bytes(raw)
    if len(data) != e.usize or zlib.crc32(data) != e.crc:
        raise _refuse(f"工作簿部件 {e.name} 已损坏（校验和不符）。请用 Excel 打开修复并另存后再试。")
    return data


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _build_zip(
    blob: bytes,
    entries: list[_ZipEntry],
    comment: bytes,
    replaced: dict[str, bytes],
    removed: set[str],
    added: list[tuple[str, bytes]],
    dos_time: tuple[int, int],
) -> list[bytes]:
    """Assemble the new package as a list of chunks (one per member, then the directory)."""
    chunks: list[bytes] = []
    cds: list[bytes] = []
    offset = 0
    for e in entries:
        if e.name in removed:
            continue
        if e.name in replaced:
            data = replaced[e.name]
            comp = _deflate(data) if e.method == 8 else data
            crc = zlib.crc32(data)
            _sig, vneed, _fl, _m, ltime, ldate, *_r, lnlen, lelen = struct.unpack(
                _LOCAL_FMT, blob[e.local_start : e.local_start + 30]
            )
            lname_extra = blob[e.local_start + 30 : e.local_start + 30 + lnlen + lelen]
            flags = e.flags & ~0x8
            header = struct.pack(
                _LOCAL_FMT, b"PK\x03\x04", vneed, flags, e.method, ltime, ldate, crc, len(comp), len(data), lnlen, lelen
            )
            chunk = header + lname_extra + comp
            rec = bytearray(e.cd)
            struct.pack_into("<H", rec, 8, flags)
            struct.pack_into("<III", rec, 16, crc, len(comp), len(data))
        else:
            chunk = blob[e.local_start : e.local_end]
            rec = bytearray(e.cd)
        struct.pack_into("<I", rec, 42, offset)
        chunks.append(chunk)
        cds.append(bytes(rec))
        offset += len(chunk)
    for name, data in added:
        raw_name = name.encode("utf-8")
        flags = 0x800 if not name.isascii() else 0
        comp = _deflate(data)
        crc = zlib.crc32(data)
        t, d = dos_time
        header = struct.pack(_LOCAL_FMT, b"PK\x03\x04", 20, flags, 8, t, d, crc, len(comp), len(data), len(raw_name), 0)
        chunks.append(header + raw_name + comp)
        cds.append(
            struct.pack(
                _CD_FMT,
                b"PK\x01\x02",
                20,
                20,
                flags,
                8,
                t,
                d,
                crc,
                len(comp),
                len(data),
                len(raw_name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + raw_name
        )
        offset += len(chunks[-1])
    cd = b"".join(cds)
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(cds), len(cds), len(cd), offset, len(comment)) + comment
    chunks.append(cd + eocd)
    return chunks


# ----------------------------------------------------------------------------- XML helpers
_NAME = rb"[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?"
_ATTRS = rb"(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*"
_TOKEN_RE = re.compile(
    rb"(<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!DOCTYPE|<!ENTITY)|<(/?)(" + _NAME + rb")(" + _ATTRS + rb")\s*(/?)>",
    re.S,
)
_SPECIAL_RE = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.S)
_ATTR_RE = re.compile(rb"([^\s=/>]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_ENTITY_RE = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_X_ESC_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# Every "_" that starts an _xHHHH_ pattern (overlaps included) is itself escaped as _x005F_.
_X_LITERAL_RE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
_BAD_XML_CHARS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _unescape(raw: bytes) -> str:
    text = raw.decode("utf-8")
    if "&" in text:
        text = _ENTITY_RE.sub(
            lambda m: (
                _ENTITIES.get(m.group(1))
                or chr(int(m.group(1)[2:], 16) if m.group(1)[1] in "xX" else int(m.group(1)[1:]))
            ),
            text,
        )
    return text


def _decode_ooxml_text(raw: bytes) -> str:
    """XML text → Python string, decoding ``_xHHHH_`` escapes (ST_Xstring)."""
    text = _unescape(raw)
    if "_x" in text:
        text = _X_ESC_RE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


def _encode_ooxml_text(text: str) -> bytes:
    """Python string → XML text: ``_xHHHH_`` literals protected, XML-illegal characters escaped."""
    if "_x" in text:
        text = _X_LITERAL_RE.sub("_x005F_", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A raw CR would be normalised to LF by every XML parser; a character reference keeps it.
    text = text.replace("\r", "&#13;")
    if _BAD_XML_CHARS_RE.search(text):
        text = _BAD_XML_CHARS_RE.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    return text.encode("utf-8")


def _escape_attr(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").encode("utf-8")


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR_RE.finditer(raw)}


def _set_attr(head: bytes, name: bytes, value: bytes) -> bytes:
    """Set ``name="value"`` in a start tag (replacing an existing value, else appending)."""
    pat = re.compile(rb"(\s" + re.escape(name) + rb"\s*=\s*)(\"[^\"]*\"|'[^']*')")
    if pat.search(head):
        return pat.sub(lambda m: m.group(1) + b'"' + value + b'"', head, count=1)
    m = re.search(rb"\s*/?>$", head)
    assert m is not None
    return head[: m.start()] + b" " + name + b'="' + value + b'"' + head[m.start() :]


@dataclass
class _Node:
    """A tag of a small XML part with its byte positions (for splicing)."""

    qname: bytes
    raw_attrs: bytes
    start: int
    head_end: int
    end: int = -1
    self_closing: bool = False
    children: list[_Node] = field(default_factory=list)

    @property
    def prefix(self) -> bytes:
        return self.qname.rpartition(b":")[0]

    @property
    def local(self) -> bytes:
        return self.qname.rpartition(b":")[2]

    def attrs(self) -> dict[bytes, bytes]:
        return _attrs(self.raw_attrs)

    def get(self, name: bytes) -> str | None:
        raw = self.attrs().get(name)
        return None if raw is None else _unescape(raw)

    def find(self, local: bytes) -> _Node | None:
        return next((c for c in self.children if c.local == local), None)

    def findall(self, local: bytes) -> list[_Node]:
        return [c for c in self.children if c.local == local]

    def close_pos(self) -> int:
        """Position of the end tag (where new children are inserted)."""
        return self.end - len(b"</" + self.qname + b">") if not self.self_closing else self.head_end


def _parse_tree(xml: bytes, part: str) -> _Node:
    """Tokenise a small XML part into a tree of :class:`_Node` (no DTDs, no entity expansion)."""
    if xml[:2] in (b"\xff\xfe", b"\xfe\xff") or re.match(rb"<\?xml[^>]*encoding=[\"']utf-16", xml[:100], re.I):
        raise _refuse(f"工作簿部件 {part} 使用 UTF-16 编码，无法安全写回。请用 Excel 打开并另存为 .xlsx 后再试。")
    root: _Node | None = None
    stack: list[_Node] = []
    for m in _TOKEN_RE.finditer(xml):
        special, closing, qname, raw_attrs, selfc = m.groups()
        if special is not None:
            if special in (b"<!DOCTYPE", b"<!ENTITY"):
                raise _refuse(f"工作簿部件 {part} 含有 DTD 声明，可能是恶意文件，已拒绝写回。")
            continue
        if closing:
            if not stack or stack[-1].qname != qname:
                raise _refuse(f"工作簿部件 {part} 的 XML 结构异常。请用 Excel 打开并另存为 .xlsx 后再试。")
            stack.pop().end = m.end()
            continue
        node = _Node(qname, raw_attrs, m.start(), m.end(), self_closing=bool(selfc))
        if stack:
            stack[-1].children.append(node)
        elif root is None:
            root = node
        if selfc:
            node.end = m.end()
        else:
            stack.append(node)
    if root is None or stack:
        raise _refuse(f"工作簿部件 {part} 的 XML 结构异常。请用 Excel 打开并另存为 .xlsx 后再试。")
    return root


def _ns_prefix(root: _Node, uri: bytes) -> bytes | None:
    """Prefix bound to ``uri`` on the root element (b"" for the default namespace)."""
    for name, value in root.attrs().items():
        if value == uri:
            if name == b"xmlns":
                return b""
            if name.startswith(b"xmlns:"):
                return name[6:]
    return None


def _q(prefix: bytes, local: bytes) -> bytes:
    return prefix + b":" + local if prefix else local


def _splice(xml: bytes, edits: Iterable[tuple[int, int, bytes]]) -> bytes:
    """Apply non-overlapping (start, end, replacement) edits."""
    out: list[bytes] = []
    pos = 0
    for start, end, rep in sorted(edits, key=lambda e: (e[0], e[1])):
        out.append(xml[pos:start])
        out.append(rep)
        pos = end
    out.append(xml[pos:])
    return b"".join(out)


def _resolve_target(base_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


def _rels_name(part: str) -> str:
    d, _, f = part.rpartition("/")
    return f"{d}/_rels/{f}.rels" if d else f"_rels/{f}.rels"


# ----------------------------------------------------------------------------- references
_REF_RE = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")


def _parse_ref(ref: str) -> tuple[int, int]:
    """``"B7"`` → (row 7, column index 1)."""
    m = _REF_RE.fullmatch(ref.strip())
    if not m:
        raise ValueError(ref)
    return int(m.group(2)), column_index(m.group(1))


def _parse_range(ref: str) -> tuple[int, int, int, int]:
    """``"A1:C4"`` → (row1, col1, row2, col2); a single cell is a 1×1 range."""
    a, _, b = ref.partition(":")
    r1, c1 = _parse_ref(a)
    r2, c2 = _parse_ref(b) if b else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def _col_index(letters: bytes) -> int:
    """``b"AB"`` → 27 (0-based), case-insensitive."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n - 1


def _in(r: int, c: int, rng: tuple[int, int, int, int]) -> bool:
    return rng[0] <= r <= rng[2] and rng[1] <= c <= rng[3]


# ----------------------------------------------------------------------------- values
_BUILTIN_FORMATS = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 11: "0.00E+00",
    12: "# ?/?", 13: "# ??/??", 14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy",
    18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "m/d/yy h:mm",
    45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0", 48: "##0.0E+0", 49: "@",
}  # fmt: skip
# Builtin ids a plan's num_format may map to (14 and friends display per locale: avoid).
_REUSABLE_BUILTINS = {v: k for k, v in _BUILTIN_FORMATS.items() if k in (0, 1, 2, 3, 4, 9, 10, 11, 49)}
_DATE_BUILTINS = set(range(14, 23)) | set(range(27, 37)) | {45, 46, 47} | set(range(50, 59))
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def _is_date_format(num_fmt_id: int, code: str | None) -> bool:
    if num_fmt_id in _DATE_BUILTINS:
        return True
    if code is None or num_fmt_id in _BUILTIN_FORMATS:
        return False
    stripped = re.sub(r'"[^"]*"|\\.|\[(?![hms]\])[^\]]*\]', "", code.split(";")[0])
    return code.lower() != "general" and bool(re.search(r"[ymdhs]", stripped, re.I))


def _excel_serial(value: date, date1904: bool) -> float:
    base = datetime(1904, 1, 1) if date1904 else datetime(1899, 12, 30)
    dt = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    delta = dt.replace(tzinfo=None) - base
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000


def _number_text(value: float | int) -> bytes:
    if isinstance(value, int):
        return str(value).encode()
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value)).encode()
    return repr(value).encode()


@dataclass(frozen=True)
class _OldCell:
    """A decoded existing cell (enough to decide whether a write would change it)."""

    kind: str  # "empty" | "s" | "n" | "b" | "e" | "d"
    value: object
    formula: str | None
    formula_type: bytes | None
    style: int
    has_content: bool
    is_shared_ref: bool  # value is a shared-string reference
    has_f: bool


# ----------------------------------------------------------------------------- shared strings
class _SharedStrings:
    """Append-only view of the shared-string table.

    Entries are kept as their raw XML and decoded only when a touched cell refers to them;
    deduplication looks a new text up by its encoded form among the plain (single ``<t>``)
    entries, so loading a 100k-entry table costs one regex pass.
    """

    def __init__(self, xml: bytes | None, part: str | None) -> None:
        self.xml = xml
        self.part = part or "xl/sharedStrings.xml"
        self._raw: list[bytes] | None = None
        self._plain: dict[bytes, int] = {}
        self._decoded: dict[int, str] = {}
        self.appended: list[str] = []
        self.count_delta = 0

    def _load(self) -> list[bytes]:
        if self._raw is None:
            self._raw = []
            if self.xml is not None:
                self._parse()
        return self._raw

    def _parse(self) -> None:
        assert self.xml is not None and self._raw is not None
        xml = self.xml
        root_m = next((m for m in _TOKEN_RE.finditer(xml) if m.group(1) is None), None)
        specials = [m.group(0) for m in _SPECIAL_RE.finditer(xml, root_m.end() if root_m else 0)]
        if root_m is None or specials or b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
            # Comments/CDATA/DTD: take the careful road (the tree tokeniser refuses DTDs).
            root = _parse_tree(xml, self.part)
            for si in root.children:
                if si.local == b"si":
                    raw = xml[si.head_end : si.close_pos()] if not si.self_closing else b""
                    self._add(raw, xml, si)
            return
        p = re.escape(root_m.group(3).rpartition(b":")[0] + b":" if b":" in root_m.group(3) else b"")
        si_re = re.compile(rb"<" + p + rb"si(?:\s[^>]*)?(?:/>|>(.*?)</" + p + rb"si\s*>)", re.S)
        plain_re = re.compile(rb"<" + p + rb"t(\s+xml:space=\"preserve\")?>([^<]*)</" + p + rb"t>\Z")
        for m in si_re.finditer(xml, root_m.end()):
            raw = m.group(1) or b""
            pm = plain_re.match(raw)
            if pm is not None:
                self._plain.setdefault(_plain_key(pm.group(2), bool(pm.group(1))), len(self._raw))
            self._raw.append(raw)

    def _add(self, raw: bytes, xml: bytes, si: _Node) -> None:
        assert self._raw is not None
        idx = len(self._raw)
        texts: list[str] = []
        _collect_text(si, xml, texts)
        self._decoded[idx] = "".join(texts)
        if len(si.children) == 1 and si.children[0].local == b"t":
            preserve = si.children[0].get(b"xml:space") == "preserve"
            self._plain.setdefault(_plain_key(_encode_ooxml_text(self._decoded[idx]), preserve), idx)
        self._raw.append(raw)

    def text(self, index: int) -> str | None:
        raw = self._load()
        if not 0 <= index < len(raw):
            return None
        if index not in self._decoded:
            pm = _SI_PLAIN_RE.match(raw[index])
            if pm is not None:
                self._decoded[index] = _decode_ooxml_text(pm.group(1))
                return self._decoded[index]
            node = _parse_tree(b"<si>" + raw[index] + b"</si>", self.part)
            texts: list[str] = []
            _collect_text(node, b"<si>" + raw[index] + b"</si>", texts)
            self._decoded[index] = "".join(texts)
        return self._decoded[index]

    def index_for(self, text: str) -> int:
        raw = self._load()
        enc = _encode_ooxml_text(text)
        # A text with edge whitespace may only reuse an entry marked xml:space="preserve".
        key = _plain_key(enc, True)
        idx = (
            self._plain.get(key)
            if _needs_preserve(text)
            else self._plain.get(_plain_key(enc, False), self._plain.get(key))
        )
        if idx is None:
            idx = len(raw)
            raw.append(b"")
            self._decoded[idx] = text
            self._plain[_plain_key(enc, _needs_preserve(text))] = idx
            self.appended.append(text)
        return idx

    def render(self) -> bytes | None:
        """New part bytes, or None when unchanged."""
        if self.xml is None or (not self.appended and not self.count_delta):
            return None
        xml = self.xml
        root_m = next(m for m in _TOKEN_RE.finditer(xml) if m.group(1) is None)
        qname = root_m.group(3)
        prefix = qname.rpartition(b":")[0]
        si, t = _q(prefix, b"si"), _q(prefix, b"t")
        new = b"".join(
            b"<" + si + b"><" + t + (b' xml:space="preserve"' if _needs_preserve(s) else b"") + b">"
            + _encode_ooxml_text(s) + b"</" + t + b"></" + si + b">"
            for s in self.appended
        )  # fmt: skip
        head = xml[root_m.start() : root_m.end()]
        attrs = _attrs(root_m.group(4))
        if b"uniqueCount" in attrs and self.appended:
            head = _set_attr(head, b"uniqueCount", str(int(attrs[b"uniqueCount"]) + len(self.appended)).encode())
        if b"count" in attrs and self.count_delta:
            head = _set_attr(head, b"count", str(max(0, int(attrs[b"count"]) + self.count_delta)).encode())
        if root_m.group(5):  # <sst .../>
            head = head[:-2].rstrip() + b">"
            return xml[: root_m.start()] + head + new + b"</" + qname + b">" + xml[root_m.end() :]
        close = xml.rfind(b"</" + qname)
        return xml[: root_m.start()] + head + xml[root_m.end() : close] + new + xml[close:]


_SI_PLAIN_RE = re.compile(rb"<(?:[\w.\-]+:)?t(?:\s+xml:space=\"preserve\")?>([^<]*)</(?:[\w.\-]+:)?t>\Z")


def _plain_key(raw: bytes, preserve: bool) -> bytes:
    return b"\x00P" + raw if preserve else raw


def _collect_text(node: _Node, xml: bytes, out: list[str]) -> None:
    """Text of an ``<si>``/``<is>``: its ``<t>`` and runs' ``<t>``, without phonetic ``<rPh>``."""
    for child in node.children:
        if child.local == b"t":
            if not child.self_closing:
                out.append(_text_of(xml, child))
        elif child.local == b"r":
            _collect_text(child, xml, out)


def _text_of(xml: bytes, node: _Node) -> str:
    """Text content of a leaf element (CDATA sections included)."""
    return _text_between(xml, node.head_end, node.close_pos())


def _text_between(xml: bytes, start: int, end: int) -> str:
    inner = xml[start:end]
    if b"<![CDATA[" in inner:
        parts = re.split(rb"<!\[CDATA\[(.*?)\]\]>", inner, flags=re.S)
        return "".join(
            _X_ESC_RE.sub(lambda m: chr(int(m.group(1), 16)), p.decode("utf-8")) if i % 2 else _decode_ooxml_text(p)
            for i, p in enumerate(parts)
        )
    return _decode_ooxml_text(inner)


def _needs_preserve(text: str) -> bool:
    return text != text.strip() or "\n" in text or "\t" in text


# ----------------------------------------------------------------------------- styles
def _child_key(node: _Node) -> tuple:
    return (node.local, tuple(sorted(node.attrs().items())), tuple(_child_key(c) for c in node.children))


class _Styles:
    """Append-only editor of styles.xml (numFmts, fonts, fills, cellXfs)."""

    def __init__(self, xml: bytes | None, part: str | None) -> None:
        self.xml = xml
        self.part = part
        self.added: dict[bytes, list[bytes]] = {b"numFmts": [], b"fonts": [], b"fills": [], b"cellXfs": []}
        self._cache: dict[tuple, int] = {}
        if xml is None:
            return
        self.root = _parse_tree(xml, part or "styles.xml")
        self.p = self.root.prefix
        self.containers = {c.local: c for c in self.root.children}
        self.num_fmts: dict[int, str] = {}
        nf = self.containers.get(b"numFmts")
        for n in nf.children if nf else []:
            if n.get(b"numFmtId") is not None:
                self.num_fmts[int(n.get(b"numFmtId") or 0)] = n.get(b"formatCode") or ""
        self.fonts = [c for c in self.containers[b"fonts"].children] if b"fonts" in self.containers else []
        self.fills = [c for c in self.containers[b"fills"].children] if b"fills" in self.containers else []
        self.xfs = [c for c in self.containers[b"cellXfs"].children] if b"cellXfs" in self.containers else []
        self.font_keys = {
            self._font_key([(ch.local, ch.raw_attrs) for ch in f.children]): i for i, f in enumerate(self.fonts)
        }
        self.fill_keys: dict[tuple, int] = {}
        for i, f in enumerate(self.fills):
            self.fill_keys.setdefault(_child_key(f), i)
        self.xf_keys: dict[tuple, int] = {}
        for i, x in enumerate(self.xfs):
            self.xf_keys.setdefault(self._xf_key_from_node(x), i)
        self.next_fmt_id = max([163, *self.num_fmts]) + 1

    @property
    def available(self) -> bool:
        return self.xml is not None and all(k in self.containers for k in (b"fonts", b"fills", b"cellXfs"))

    # --- lookups
    def num_fmt_of(self, xf: int) -> tuple[int, str | None]:
        if self.xml is None or not (0 <= xf < len(self.xfs)):
            return 0, "General"
        fid = int(self.xfs[xf].get(b"numFmtId") or 0)
        return fid, self.num_fmts.get(fid, _BUILTIN_FORMATS.get(fid))

    def is_date_xf(self, xf: int) -> bool:
        return _is_date_format(*self.num_fmt_of(xf))

    # --- keys
    @staticmethod
    def _font_key(children: list[tuple[bytes, bytes]]) -> tuple:
        return tuple((local, tuple(sorted(_attrs(raw).items()))) for local, raw in children)

    @staticmethod
    def _xf_key(attrs: dict[bytes, bytes], children: list[tuple[bytes, bytes]]) -> tuple:
        norm = {k: v for k, v in attrs.items() if not k.startswith(b"xmlns")}
        return (tuple(sorted(norm.items())), tuple((loc, tuple(sorted(_attrs(raw).items()))) for loc, raw in children))

    def _xf_key_from_node(self, node: _Node) -> tuple:
        return self._xf_key(node.attrs(), [(c.local, c.raw_attrs) for c in node.children if not c.children])

    # --- builders
    def _num_fmt_id(self, code: str) -> int:
        if code in _REUSABLE_BUILTINS:
            return _REUSABLE_BUILTINS[code]
        for fid, c in self.num_fmts.items():
            if c == code:
                return fid
        fid = self.next_fmt_id
        self.next_fmt_id += 1
        self.num_fmts[fid] = code
        self.added[b"numFmts"].append(
            b"<"
            + _q(self.p, b"numFmt")
            + b' numFmtId="'
            + str(fid).encode()
            + b'" formatCode="'
            + _escape_attr(code)
            + b'"/>'
        )
        return fid

    def _font_id(self, base: int, style: CellStyle) -> int:
        children = [(c.local, c.raw_attrs) for c in self.fonts[base].children] if 0 <= base < len(self.fonts) else []
        out: list[tuple[bytes, bytes]] = [(b"b", b"")] if style.bold else []
        color_done = False
        for local, raw in children:
            if local == b"b":
                continue
            if local == b"color" and style.font_color:
                out.append((b"color", b' rgb="FF' + style.font_color.upper().encode() + b'"'))
                color_done = True
                continue
            out.append((local, raw))
        if style.font_color and not color_done:
            pos = next((i + 1 for i, (loc, _) in enumerate(out) if loc == b"sz"), len(out))
            out.insert(pos, (b"color", b' rgb="FF' + style.font_color.upper().encode() + b'"'))
        key = self._font_key(out)
        if key in self.font_keys:
            return self.font_keys[key]
        fid = len(self.fonts) + len(self.added[b"fonts"])
        self.font_keys[key] = fid
        self.added[b"fonts"].append(
            b"<" + _q(self.p, b"font") + b">"
            + b"".join(b"<" + _q(self.p, loc) + raw + b"/>" for loc, raw in out)
            + b"</" + _q(self.p, b"font") + b">"
        )  # fmt: skip
        return fid

    def _fill_id(self, rgb: str | None) -> int:
        p = self.p
        if rgb is None:
            xml = (
                b"<"
                + _q(p, b"fill")
                + b"><"
                + _q(p, b"patternFill")
                + b' patternType="none"/></'
                + _q(p, b"fill")
                + b">"
            )
        else:
            xml = (
                b"<" + _q(p, b"fill") + b"><" + _q(p, b"patternFill") + b' patternType="solid"><'
                + _q(p, b"fgColor") + b' rgb="FF' + rgb.upper().encode() + b'"/><' + _q(p, b"bgColor")
                + b' indexed="64"/></' + _q(p, b"patternFill") + b"></" + _q(p, b"fill") + b">"
            )  # fmt: skip
        key = _child_key(_parse_tree(xml, "fill"))
        if key in self.fill_keys:
            return self.fill_keys[key]
        fid = len(self.fills) + len(self.added[b"fills"])
        self.fill_keys[key] = fid
        self.added[b"fills"].append(xml)
        return fid

    def resolve(self, base: int, style: CellStyle | None, value: CellValue) -> int:
        """The xf index for a cell currently styled ``base`` written with ``style``/``value``."""
        is_date = isinstance(value, date)
        key = (base, style, type(value) if is_date else None)
        if key in self._cache:
            return self._cache[key]
        if style is None and (not is_date or self.is_date_xf(base)):
            result = base
        else:
            result = self._derive(base, _normalise_style(style), value)
        self._cache[key] = result
        return result

    def _derive(self, base: int, style: CellStyle | None, value: CellValue) -> int:
        if not self.available:
            raise _refuse("工作簿缺少完整的样式表，无法写入带格式的单元格。请用 Excel 打开并另存一次后再试。")
        base = base if 0 <= base < len(self.xfs) else 0
        bnode = self.xfs[base] if self.xfs else None
        attrs = (
            dict(bnode.attrs())
            if bnode
            else {b"numFmtId": b"0", b"fontId": b"0", b"fillId": b"0", b"borderId": b"0", b"xfId": b"0"}
        )
        children = [(c.local, c.raw_attrs) for c in bnode.children if not c.children] if bnode else []
        # Number format.
        fmt_id = int(attrs.get(b"numFmtId", b"0"))
        if style is not None and style.num_format:
            fmt_id = self._num_fmt_id(style.num_format)
        if isinstance(value, date) and not _is_date_format(
            fmt_id, self.num_fmts.get(fmt_id, _BUILTIN_FORMATS.get(fmt_id))
        ):
            fmt_id = self._num_fmt_id(DATETIME_FORMAT if isinstance(value, datetime) else DATE_FORMAT)
        attrs[b"numFmtId"] = str(fmt_id).encode()
        if fmt_id:
            attrs[b"applyNumberFormat"] = b"1"
        if style is not None:
            attrs[b"fontId"] = str(self._font_id(int(attrs.get(b"fontId", b"0")), style)).encode()
            attrs[b"applyFont"] = b"1"
            attrs[b"fillId"] = str(self._fill_id(style.fill)).encode()
            attrs[b"applyFill"] = b"1"
            align = next((_attrs(raw) for loc, raw in children if loc == b"alignment"), {})
            align.pop(b"horizontal", None)
            align.pop(b"wrapText", None)
            if style.align:
                align[b"horizontal"] = style.align.encode()
            if style.wrap:
                align[b"wrapText"] = b"1"
            children = [(loc, raw) for loc, raw in children if loc != b"alignment"]
            if align:
                raw = b"".join(b" " + k + b'="' + v + b'"' for k, v in align.items())
                children.insert(0, (b"alignment", raw))
                attrs[b"applyAlignment"] = b"1"
        key = self._xf_key(attrs, children)
        if key in self.xf_keys:
            return self.xf_keys[key]
        xid = len(self.xfs) + len(self.added[b"cellXfs"])
        self.xf_keys[key] = xid
        head = b"<" + _q(self.p, b"xf") + b"".join(b" " + k + b'="' + v + b'"' for k, v in attrs.items())
        if children:
            body = b"".join(b"<" + _q(self.p, loc) + raw + b"/>" for loc, raw in children)
            self.added[b"cellXfs"].append(head + b">" + body + b"</" + _q(self.p, b"xf") + b">")
        else:
            self.added[b"cellXfs"].append(head + b"/>")
        return xid

    def render(self) -> bytes | None:
        if self.xml is None or not any(self.added.values()):
            return None
        edits: list[tuple[int, int, bytes]] = []
        for local in (b"numFmts", b"fonts", b"fills", b"cellXfs"):
            new = self.added[local]
            if not new:
                continue
            node = self.containers.get(local)
            if node is None:  # only numFmts can be missing here: it goes first
                assert local == b"numFmts"
                pos = self.root.children[0].start if self.root.children else self.root.close_pos()
                q = _q(self.p, local)
                edits.append(
                    (
                        pos,
                        pos,
                        b"<" + q + b' count="' + str(len(new)).encode() + b'">' + b"".join(new) + b"</" + q + b">",
                    )
                )
                continue
            total = len(node.children) + len(new)
            head = _set_attr(self.xml[node.start : node.head_end], b"count", str(total).encode())
            if node.self_closing:
                head = head[:-2].rstrip() + b">"
                edits.append((node.start, node.end, head + b"".join(new) + b"</" + node.qname + b">"))
            else:
                edits.append((node.start, node.head_end, head))
                edits.append((node.close_pos(), node.close_pos(), b"".join(new)))
        return _splice(self.xml, edits)

    @property
    def xfs_added(self) -> int:
        return len(self.added[b"cellXfs"])


# ----------------------------------------------------------------------------- workbook
@dataclass
class _SheetInfo:
    name: str
    part: str | None
    kind: str  # worksheet / chartsheet / dialogsheet / macrosheet / unknown
    node: _Node


class _Package:
    """The parsed package: members, workbook, relationships."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self.entries, self.comment = _read_zip(blob)
        self.by_name = {e.name: e for e in self.entries}
        self.by_lower = {e.name.lower(): e for e in self.entries}
        self._cache: dict[str, bytes] = {}
        rels = self._rels("", "_rels/.rels")
        wb_target = next((t for ty, t in rels.values() if ty.endswith("/officeDocument")), None)
        if wb_target is None:
            if "xl/workbook.xml" not in self.by_name:
                raise _refuse("文件不是有效的 Excel 工作簿（找不到 workbook.xml）。请用 Excel 打开确认后另存一份再试。")
            wb_target = "/xl/workbook.xml"
        self.wb_part = _resolve_target("", wb_target)
        self.wb_xml = self.read(self.wb_part)
        self.wb_root = _parse_tree(self.wb_xml, self.wb_part)
        ns = _ns_prefix(self.wb_root, MAIN_NS)
        if ns is None or ns != self.wb_root.prefix:
            if _ns_prefix(self.wb_root, STRICT_NS) is not None:
                raise _refuse(
                    "工作簿是“Strict Open XML”格式，无法安全写回。请在 Excel 中另存为普通的“Excel 工作簿(*.xlsx)”后再试。"
                )
            raise _refuse("工作簿的 XML 命名空间无法识别。请用 Excel 打开并另存为 .xlsx 后再试。")
        self.wb_rels_part = _rels_name(self.wb_part)
        self.wb_rels = self._rels(self.wb_part, self.wb_rels_part)
        self.rel_prefix = _ns_prefix(self.wb_root, REL_NS)
        pr = self.wb_root.find(b"workbookPr")
        self.date1904 = pr is not None and (pr.get(b"date1904") or "").lower() in ("1", "true")
        self.sheets: list[_SheetInfo] = []
        sheets = self.wb_root.find(b"sheets")
        for node in sheets.children if sheets else []:
            rid = next((v for k, v in node.attrs().items() if k.endswith(b":id") and k != b"xml:id"), None)
            rel = self.wb_rels.get(_unescape(rid)) if rid is not None else None
            part = _resolve_target(self.wb_part, rel[1]) if rel else None
            kind = rel[0].rsplit("/", 1)[-1] if rel else "unknown"
            self.sheets.append(_SheetInfo(node.get(b"name") or "", part, kind, node))

    def read(self, name: str) -> bytes:
        if name not in self._cache:
            e = self.by_name.get(name) or self.by_lower.get(name.lower())
            if e is None:
                raise KeyError(name)
            self._cache[name] = _inflate(self.blob, e)
        return self._cache[name]

    def has(self, name: str) -> bool:
        return name in self.by_name or name.lower() in self.by_lower

    def member_name(self, name: str) -> str:
        e = self.by_name.get(name) or self.by_lower.get(name.lower())
        return e.name if e else name

    def _rels(self, part: str, rels_part: str) -> dict[str, tuple[str, str]]:
        """``{rId: (type, target)}``; external targets are skipped."""
        if not self.has(rels_part):
            return {}
        root = _parse_tree(self.read(rels_part), rels_part)
        out: dict[str, tuple[str, str]] = {}
        for rel in root.children:
            if rel.local == b"Relationship" and (rel.get(b"TargetMode") or "") != "External":
                out[rel.get(b"Id") or ""] = (rel.get(b"Type") or "", rel.get(b"Target") or "")
        return out

    def part_rels(self, part: str) -> dict[str, tuple[str, str]]:
        return self._rels(part, _rels_name(part))

    def wb_part_of_type(self, suffix: str) -> str | None:
        for ty, target in self.wb_rels.values():
            if ty.endswith(suffix):
                part = _resolve_target(self.wb_part, target)
                return self.member_name(part) if self.has(part) else None
        return None


# ----------------------------------------------------------------------------- sheet patching
_R_ATTR_RE = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([A-Za-z]{1,3})(\d+)[\"']")
_ROW_R_RE = re.compile(rb"(?:^|\s)r\s*=\s*[\"'](\d+)[\"']")
_S_ATTR_RE = re.compile(rb"(?:^|\s)s\s*=\s*[\"'](\d+)[\"']")
_T_ATTR_RE = re.compile(rb"(?:^|\s)t\s*=\s*[\"'](\w+)[\"']")
_VM_CM_RE = re.compile(rb"(?:^|\s)(?:vm|cm)\s*=")
_SPANS_RE = re.compile(rb"(\sspans\s*=\s*[\"'])(\d+):(\d+)([\"'])")


_LETTERS: dict[int, str] = {}


@dataclass
class _Area:
    kind: str  # table-header / table-totals / pivot / array
    name: str
    rng: tuple[int, int, int, int]


class _SheetPatcher:
    """Rebuilds the touched rows of one worksheet XML."""

    def __init__(
        self,
        name: str,
        xml: bytes,
        plan: SheetPlan,
        *,
        strings: _SharedStrings,
        styles: _Styles,
        date1904: bool,
        areas: list[_Area],
        owned: bool,
    ) -> None:
        self.name = name
        self.xml = xml
        self.plan = plan
        self.strings = strings
        self.styles = styles
        self.date1904 = date1904
        self.areas = areas
        self.owned = owned
        self.use_shared = strings.xml is not None
        self.written = 0
        self.cleared: list[tuple[int, str]] = []
        self.removed_formula = False
        self.header_values: dict[int, object] = {}
        self._st_cache: dict[bytes, tuple[int, bytes]] = {}
        self._parse_root()

    # --- structure
    def _parse_root(self) -> None:
        xml = self.xml
        if xml[:2] in (b"\xff\xfe", b"\xfe\xff") or re.match(rb"<\?xml[^>]*encoding=[\"']utf-16", xml[:100], re.I):
            raise _refuse(
                f"工作表「{self.name}」使用 UTF-16 编码，无法安全写回。请用 Excel 打开并另存为 .xlsx 后再试。",
                self.name,
            )
        root_m = None
        for m in _TOKEN_RE.finditer(xml):
            if m.group(1) is not None:
                if m.group(1) in (b"<!DOCTYPE", b"<!ENTITY"):
                    raise _refuse(f"工作表「{self.name}」含有 DTD 声明，可能是恶意文件，已拒绝写回。", self.name)
                continue
            root_m = m
            break
        if root_m is None:
            raise _refuse(f"工作表「{self.name}」的内容为空或已损坏。请用 Excel 打开并另存为 .xlsx 后再试。", self.name)
        root = _Node(root_m.group(3), root_m.group(4), root_m.start(), root_m.end())
        prefix = root.prefix
        if _ns_prefix(root, MAIN_NS) != prefix:
            raise _refuse(
                f"工作表「{self.name}」的 XML 命名空间无法识别（可能是 Strict 格式）。请用 Excel 另存为普通 .xlsx 后再试。",
                self.name,
            )
        self.p = prefix + b":" if prefix else b""
        self.root_end = root_m.end()
        tail = xml[self.root_end :]
        if b"<!DOCTYPE" in tail or b"<!ENTITY" in tail:
            raise _refuse(f"工作表「{self.name}」含有 DTD 声明，可能是恶意文件，已拒绝写回。", self.name)
        # Comments, CDATA and processing instructions may hide tag-like text: mask them.
        self.spans: list[tuple[int, int]] = []
        if b"<!" in tail or b"<?" in tail:
            self.spans = [(m.start(), m.end()) for m in _SPECIAL_RE.finditer(xml, self.root_end)]
        self.span_starts = [s for s, _ in self.spans]
        p = re.escape(self.p)
        self.row_re = re.compile(rb"<" + p + rb"row(?=[\s/>])(" + _ATTRS + rb")\s*(/?)>")
        self.row_end_re = re.compile(rb"</" + p + rb"row\s*>")
        self.cell_re = re.compile(rb"<" + p + rb"c(?=[\s/>])(" + _ATTRS + rb")\s*(/?)>")
        self.cell_end_re = re.compile(rb"</" + p + rb"c\s*>")
        self.cell_quick_re = re.compile(rb"<" + p + rb"c(?=[\s/>])(?:\s+r\s*=\s*[\"']([A-Za-z]{1,3})\d+[\"'])?")
        # <c r=".." s=".." t=".."><v>..</v></c> and <c .../>: the shape of almost every cell.
        self.simple_cell_re = re.compile(
            rb"<"
            + p
            + rb"c((?:\s+[\w:]+=\"[^\"]*\")*)\s*(?:/>|>(?:<"
            + p
            + rb"v>([^<]*)</"
            + p
            + rb"v>)?</"
            + p
            + rb"c>)"
        )
        self.v_re = re.compile(rb"<" + p + rb"v(?:\s[^>]*)?>(.*?)</" + p + rb"v\s*>", re.S)
        self.f_re = re.compile(rb"<" + p + rb"f(?=[\s/>])(" + _ATTRS + rb")\s*(/?)>")
        self.f_end_re = re.compile(rb"</" + p + rb"f\s*>")
        self.is_re = re.compile(rb"<" + p + rb"is(?=[\s/>])")
        self.t_re = re.compile(rb"<" + p + rb"t(?=[\s/>])(" + _ATTRS + rb")\s*(/?)>")
        self.t_end_re = re.compile(rb"</" + p + rb"t\s*>")
        self.rph_re = re.compile(rb"<" + p + rb"rPh(?=[\s/>]).*?</" + p + rb"rPh\s*>", re.S)
        sd = self._search(re.compile(rb"<" + p + rb"sheetData(?=[\s/>])(" + _ATTRS + rb")\s*(/?)>"), self.root_end)
        if sd is None:
            raise _refuse(
                f"工作表「{self.name}」缺少 sheetData，文件可能已损坏。请用 Excel 打开并另存为 .xlsx 后再试。",
                self.name,
            )
        self.sd_match = sd
        if sd.group(2):
            self.sd_start = self.sd_end = sd.end()
        else:
            end = self._search(re.compile(rb"</" + p + rb"sheetData\s*>"), sd.end())
            if end is None:
                raise _refuse(
                    f"工作表「{self.name}」的 XML 结构异常。请用 Excel 打开并另存为 .xlsx 后再试。", self.name
                )
            self.sd_start, self.sd_end = sd.end(), end.start()
        self.sd_close_end = self.sd_end if sd.group(2) else end.end()

    def _masked(self, pos: int) -> tuple[int, int] | None:
        i = bisect_right(self.span_starts, pos) - 1
        if i >= 0 and self.spans[i][0] <= pos < self.spans[i][1]:
            return self.spans[i]
        return None

    def _search(self, regex: re.Pattern[bytes], pos: int, end: int | None = None) -> re.Match[bytes] | None:
        end = len(self.xml) if end is None else end
        while True:
            m = regex.search(self.xml, pos, end)
            if m is None or not self.spans:
                return m
            span = self._masked(m.start())
            if span is None:
                return m
            pos = span[1]

    # --- main
    def run(self) -> bytes:
        """The new worksheet XML (the original object when nothing changes)."""
        plan, xml = self.plan, self.xml
        self.wants: dict[int, dict[int, CellWrite]] = {}
        for cw in plan.cells:
            self.wants.setdefault(cw.row, {})[column_index(cw.column)] = cw
        self.clear_cols = {column_index(c) for c in plan.owned_columns}
        self.clear_from = plan.clear_from_row
        self.header_row = self.clear_from - 1
        self.header_cols = {column_index(c.column) for c in plan.cells} | self.clear_cols
        self.merges = self._merges()
        self.array_ranges = self._array_ranges()
        self.extent: list[tuple[int, int]] = []

        out: list[bytes] = []
        emitted = scan = self.sd_start
        prev_r = 0
        pending = sorted(self.wants)
        pi = 0
        shifted = False  # the next row without r would be numbered wrongly
        changed = False
        while True:
            m = self._search(self.row_re, scan, self.sd_end)
            if m is None:
                break
            rm = _ROW_R_RE.search(m.group(1))
            r = int(rm.group(1)) if rm else prev_r + 1
            if r <= prev_r or r > MAX_ROW:
                raise _refuse(
                    f"工作表「{self.name}」第 {r} 行的行号顺序异常，文件可能已损坏。请用 Excel 打开并另存为 .xlsx 后再试。",
                    self.name,
                )
            if m.group(2):
                content_end = row_end = m.end()
            else:
                e = self._search(self.row_end_re, m.end(), self.sd_end)
                if e is None:
                    raise _refuse(
                        f"工作表「{self.name}」第 {r} 行的 XML 结构异常。请用 Excel 打开并另存为 .xlsx 后再试。",
                        self.name,
                    )
                content_end, row_end = e.start(), e.end()
            while pi < len(pending) and pending[pi] < r:
                new_row = self._new_row(pending[pi])
                if new_row:
                    out.append(xml[emitted : m.start()])
                    out.append(new_row)
                    emitted = m.start()
                    changed = shifted = True
                pi += 1
            if pi < len(pending) and pending[pi] == r:
                pi += 1
            row_wants = self.wants.get(r, {})
            clearing = r >= self.clear_from and (self.owned or bool(self.clear_cols))
            new: bytes | None = None
            if row_wants or clearing or (r == self.header_row and not self.owned):
                new = self._rebuild_row(r, m, content_end, row_wants, clearing)
            if new is None and shifted and rm is None:
                new = self._with_row_r(xml[m.start() : row_end], r)
            if new is not None:
                out.append(xml[emitted : m.start()])
                out.append(new)
                emitted = row_end
                changed = True
            shifted = new == b""  # a dropped row: the next row without r would be renumbered
            prev_r = r
            scan = row_end
        while pi < len(pending):
            new_row = self._new_row(pending[pi])
            if new_row:
                out.append(xml[emitted : self.sd_end])
                out.append(new_row)
                emitted = self.sd_end
                changed = True
            pi += 1
        self._check_header()
        if not changed:
            return xml
        out.append(xml[emitted : self.sd_end])
        body = b"".join(out)
        head = self._update_head(xml[: self.sd_match.start()])
        sd_head = xml[self.sd_match.start() : self.sd_match.end()]
        if self.sd_match.group(2):
            sd_head = sd_head[:-2].rstrip() + b">"
            tail = b"</" + self.p + b"sheetData>" + xml[self.sd_close_end :]
        else:
            tail = xml[self.sd_end :]
        return head + sd_head + body + tail

    def _with_row_r(self, row_xml: bytes, r: int) -> bytes:
        n = 1 + len(self.p) + 3
        return row_xml[:n] + b' r="' + str(r).encode() + b'"' + row_xml[n:]

    # --- rows
    def _cell_starts(self, start: int, end: int, r: int) -> list[tuple[int, int, bool]]:
        """Every cell of a row as (column, start offset, has an ``r`` attribute).

        Only start tags are located (a cell's content holds no ``<c`` tag, and comments/CDATA
        are masked); the end of a cell is found only for the cells that are rewritten.
        """
        out: list[tuple[int, int, bool]] = []
        prev_c = -1
        spans = self.spans
        for cm in self.cell_quick_re.finditer(self.xml, start, end):
            if spans and self._masked(cm.start()) is not None:
                continue
            letters = cm.group(1)
            if letters is None:  # r is not the first attribute, or absent
                full = self.cell_re.match(self.xml, cm.start())
                rr = _R_ATTR_RE.search(full.group(1)) if full else None
                letters = rr.group(1) if rr else None
            col = _col_index(letters) if letters is not None else prev_c + 1
            if col <= prev_c or col >= MAX_COL:
                raise _refuse(
                    f"工作表「{self.name}」第 {r} 行的单元格顺序异常，文件可能已损坏。请用 Excel 打开并另存为 .xlsx 后再试。",
                    self.name,
                )
            out.append((col, cm.start(), letters is not None))
            prev_c = col
        return out

    def _cell_extent(self, s: int, limit: int, r: int) -> tuple[int, bytes, int]:
        """(end, attributes, end of start tag) of the cell starting at ``s``."""
        cm = self.cell_re.match(self.xml, s)
        if cm is None:
            raise _refuse(
                f"工作表「{self.name}」第 {r} 行的 XML 结构异常。请用 Excel 打开并另存为 .xlsx 后再试。", self.name
            )
        if cm.group(2):
            return cm.end(), cm.group(1), cm.end()
        e = self._search(self.cell_end_re, cm.end(), limit)
        if e is None:
            raise _refuse(
                f"工作表「{self.name}」第 {r} 行的 XML 结构异常。请用 Excel 打开并另存为 .xlsx 后再试。", self.name
            )
        return e.end(), cm.group(1), cm.end()

    def _rebuild_row(
        self,
        r: int,
        m: re.Match[bytes],
        content_end: int,
        row_wants: dict[int, CellWrite],
        clearing: bool,
    ) -> bytes | None:
        """New bytes of an existing row; None when unchanged, b"" when the row is dropped."""
        xml = self.xml
        is_header = r == self.header_row and not self.owned
        if not self.owned and not is_header and not self.spans:
            fast = self._rebuild_row_fast(r, m, content_end, row_wants, clearing)
            if fast is not False:
                return fast
        starts = self._cell_starts(m.end(), content_end, r)
        if self.owned and clearing or not all(has_r for _, _, has_r in starts):
            interest: set[int] | None = None  # every cell (cells without r shift when others move)
        else:
            interest = set(row_wants)
            if clearing:
                interest |= self.clear_cols
            if is_header:
                interest |= self.header_cols
        parts: list[bytes] = []
        last = m.end()
        row_changed = shifted = False
        kept = 0
        todo = sorted(row_wants)
        wi = 0
        new_cols: list[int] = []
        for col, s, has_r in starts:
            while wi < len(todo) and todo[wi] < col:
                new = self._write_cell(r, todo[wi], row_wants[todo[wi]], None)
                if new:
                    parts.append(xml[last:s])
                    parts.append(new)
                    last = s
                    new_cols.append(todo[wi])
                    row_changed = shifted = True
                wi += 1
            if interest is not None and col not in interest:
                continue  # copied verbatim with the next gap
            e, attrs, hend = self._cell_extent(s, content_end, r)
            if is_header and col in self.header_cols:
                self.header_values[col] = self._decode(s, e, attrs, hend).value
            new = None
            if wi < len(todo) and todo[wi] == col:
                new = self._write_cell(r, col, row_wants[col], (s, e, attrs, hend))
                wi += 1
            elif clearing and (self.owned or col in self.clear_cols):
                new = self._clear_cell(r, col, (s, e, attrs, hend))
            if new is None and shifted and not has_r:
                new = (
                    xml[s : s + 2 + len(self.p)]
                    + b' r="'
                    + self._ref(r, col).encode()
                    + b'"'
                    + xml[s + 2 + len(self.p) : e]
                )
            if new is None:
                kept += 1
                shifted = False
            else:
                parts.append(xml[last:s])
                parts.append(new)
                last = e
                row_changed = True
                shifted = new == b""
                kept += new != b""
        if wi < len(todo):
            tail_at = self._cell_extent(starts[-1][1], content_end, r)[0] if starts else m.end()
            for col in todo[wi:]:
                new = self._write_cell(r, col, row_wants[col], None)
                if new:
                    parts.append(xml[last:tail_at])
                    parts.append(new)
                    last = tail_at
                    new_cols.append(col)
                    row_changed = True
        if not row_changed:
            return None
        if self.owned and r >= self.clear_from and kept == 0 and not new_cols:
            return b""
        parts.append(xml[last:content_end])
        head = xml[m.start() : m.end()]
        if not _ROW_R_RE.search(m.group(1)):
            head = self._with_row_r(head, r)
        sm = _SPANS_RE.search(head)
        if sm and new_cols:
            lo, hi = int(sm.group(2)), int(sm.group(3))
            lo2, hi2 = min(lo, min(new_cols) + 1), max(hi, max(new_cols) + 1)
            if (lo2, hi2) != (lo, hi):
                head = head[: sm.start()] + sm.group(1) + f"{lo2}:{hi2}".encode() + sm.group(4) + head[sm.end() :]
        if m.group(2):  # <row .../> gains content
            head = head[:-2].rstrip() + b">"
        return head + b"".join(parts) + b"</" + self.p + b"row>"

    def _rebuild_row_fast(
        self, r: int, m: re.Match[bytes], content_end: int, row_wants: dict[int, CellWrite], clearing: bool
    ) -> bytes | None | bool:
        """Staff-sheet row whose every cell of interest exists and starts ``<c r="..."``.

        Such a row needs no insertion, so its cells are located with plain ``bytes.find``;
        returns False when the general path is needed.
        """
        xml = self.xml
        cols = set(row_wants)
        if clearing:
            cols |= self.clear_cols
        found: list[tuple[int, int]] = []
        lt_c = b"<" + self.p + b'c r="'
        for col in cols:
            s = xml.find(lt_c + self._ref(r, col).encode() + b'"', m.end(), content_end)
            if s < 0:
                if col in row_wants:
                    return False  # a cell must be inserted
                continue  # nothing to clear, unless the cell is written another way: check below
            found.append((s, col))
        if len(found) < len(cols):
            # A cell to clear was not found by its r: make sure it is really absent.
            return False
        found.sort()
        parts: list[bytes] = []
        last = m.end()
        for s, col in found:
            e, attrs, hend = self._cell_extent(s, content_end, r)
            if col in row_wants:
                new = self._write_cell(r, col, row_wants[col], (s, e, attrs, hend))
            else:
                new = self._clear_cell(r, col, (s, e, attrs, hend))
            if new is not None:
                parts.append(xml[last:s])
                parts.append(new)
                last = e
        if not parts:
            return None
        parts.append(xml[last:content_end])
        head = xml[m.start() : m.end()]
        if not _ROW_R_RE.search(m.group(1)):
            head = self._with_row_r(head, r)
        return head + b"".join(parts) + b"</" + self.p + b"row>"

    def _new_row(self, r: int) -> bytes:
        row_wants = self.wants[r]
        cells = [self._write_cell(r, col, row_wants[col], None) for col in sorted(row_wants)]
        body = b"".join(c for c in cells if c)
        if not body:
            return b""
        return b"<" + self.p + b'row r="' + str(r).encode() + b'">' + body + b"</" + self.p + b"row>"

    # --- cells
    @staticmethod
    def _ref(r: int, col: int) -> str:
        letters = _LETTERS.get(col)
        if letters is None:
            letters = _LETTERS[col] = column_letter(col)
        return f"{letters}{r}"

    def _decode(self, s: int, e: int, attrs: bytes, hend: int) -> _OldCell:
        xml = self.xml
        style, t = self._style_type(attrs)
        if hend == e:  # <c .../>
            return _OldCell("empty", None, None, None, style, False, False, False)
        sc = self.simple_cell_re.match(xml, s, e)
        if sc is not None and sc.end() == e:
            raw_v = sc.group(2)
            if raw_v is None:
                return _OldCell("empty", None, None, None, style, False, False, False)
            return self._decode_value(t, raw_v, None, None, style, False)
        formula = ftype = None
        has_f = False
        fm = self._search(self.f_re, hend, e)
        if fm is not None:
            has_f = True
            fa = _attrs(fm.group(1))
            ftype = fa.get(b"t")
            if not fm.group(2):
                fe = self._search(self.f_end_re, fm.end(), e)
                formula = _decode_ooxml_text(xml[fm.end() : fe.start()]) if fe else ""
            else:
                formula = ""
        vm = self._search(self.v_re, hend, e)
        raw_v = vm.group(1) if vm else None
        if t == b"inlineStr":
            ism = self._search(self.is_re, hend, e)
            if ism is None:
                return _OldCell("empty", None, formula, ftype, style, has_f, False, has_f)
            inner = self.rph_re.sub(b"", xml[ism.start() : e])
            texts = []
            pos = 0
            while True:
                tmm = self.t_re.search(inner, pos)
                if tmm is None:
                    break
                if tmm.group(2):
                    pos = tmm.end()
                    continue
                te = self.t_end_re.search(inner, tmm.end())
                if te is None:
                    break
                texts.append(_text_between(inner, tmm.end(), te.start()))
                pos = te.end()
            return _OldCell("s", "".join(texts), formula, ftype, style, True, False, has_f)
        if raw_v is None:
            return _OldCell("empty", None, formula, ftype, style, has_f, False, has_f)
        return self._decode_value(t, raw_v, formula, ftype, style, has_f)

    def _style_type(self, attrs: bytes) -> tuple[int, bytes]:
        """(s, t) of a cell's attributes, cached on the attributes after ``r``."""
        key = attrs[attrs.index(b'"', attrs.index(b'"') + 1) + 1 :] if attrs.lstrip().startswith(b'r="') else attrs
        hit = self._st_cache.get(key)
        if hit is None:
            sm = _S_ATTR_RE.search(attrs)
            tm = _T_ATTR_RE.search(attrs)
            hit = (int(sm.group(1)) if sm else 0, tm.group(1) if tm else b"n")
            self._st_cache[key] = hit
        return hit

    def _decode_value(
        self, t: bytes, raw_v: bytes, formula: str | None, ftype: bytes | None, style: int, has_f: bool
    ) -> _OldCell:
        if t == b"s":
            try:
                text = self.strings.text(int(raw_v))
            except ValueError:
                text = None
            return _OldCell("s", text, formula, ftype, style, True, True, has_f)
        if t == b"str":
            return _OldCell("s", _decode_ooxml_text(raw_v), formula, ftype, style, True, False, has_f)
        if t == b"b":
            return _OldCell("b", raw_v.strip() in (b"1", b"true"), formula, ftype, style, True, False, has_f)
        if t == b"e":
            return _OldCell("e", _unescape(raw_v), formula, ftype, style, True, False, has_f)
        if t == b"d":
            return _OldCell("d", _unescape(raw_v), formula, ftype, style, True, False, has_f)
        try:
            num: object = float(raw_v)
        except ValueError:
            num = _unescape(raw_v)
        return _OldCell("n", num, formula, ftype, style, True, False, has_f)

    def _equivalent(self, old: _OldCell, value: CellValue, style: int) -> bool:
        if old.style != style:
            return False
        if isinstance(value, Formula):
            if not old.has_f or old.formula_type not in (None, b"normal") or old.formula != _formula_text(value):
                return False
            cached = value.cached
            if cached is None:
                return old.kind == "empty"
            if isinstance(cached, str):
                return old.kind == "s" and not old.is_shared_ref and old.value == cached
            if isinstance(cached, bool):
                return old.kind == "b" and old.value == cached
            return old.kind == "n" and old.value == float(cached)
        if old.has_f:
            return False
        if value is None:
            return not old.has_content
        if isinstance(value, bool):
            return old.kind == "b" and old.value == value
        if isinstance(value, (int, float)):
            return old.kind == "n" and old.value == float(value)
        if isinstance(value, date):
            return (
                old.kind == "n"
                and isinstance(old.value, float)
                and abs(old.value - _excel_serial(value, self.date1904)) < 1e-9
            )
        return old.kind == "s" and old.value == value

    def _check_touch(self, r: int, col: int, old: _OldCell | None, attrs: bytes, value: CellValue) -> None:
        ref = self._ref(r, col)
        where = f"工作表「{self.name}」的 {ref}"
        if old is not None and old.formula_type == b"shared":
            raise _refuse(
                f"{where} 属于共享公式（Excel 拖动填充公式时生成），改写它会破坏同组其他单元格的公式。"
                "请确认写入的是“【自动】”列；如确需由工具填写，请先在 Excel 中清除该列的公式。",
                self.name,
                ref,
            )
        if old is not None and old.formula_type in (b"array", b"dataTable"):
            raise _refuse(
                f"{where} 含有数组公式或模拟运算表，工具不能改写它。请先在 Excel 中删除该公式，或把它移出“【自动】”列。",
                self.name,
                ref,
            )
        for rng in self.array_ranges:
            if _in(r, col, rng):
                raise _refuse(
                    f"{where} 位于数组公式的区域内，工具不能改写它。请先在 Excel 中删除该数组公式，或把它移出“【自动】”列。",
                    self.name,
                    ref,
                )
        if _VM_CM_RE.search(attrs):
            raise _refuse(
                f"{where} 含有单元格内图片、复选框或动态数组等特殊内容，工具不能改写它。请把这些内容移出“【自动】”列后再运行。",
                self.name,
                ref,
            )
        for area in self.areas:
            if _in(r, col, area.rng):
                if area.kind == "table-header":
                    raise _refuse(
                        f"{where} 是表格“{area.name}”的标题行，改写后 Excel 会报告文件损坏。"
                        "请在 Excel 中手工填写该表头（或把表格转换为普通区域）后再运行。",
                        self.name,
                        ref,
                    )
                if area.kind == "table-totals":
                    raise _refuse(
                        f"{where} 是表格“{area.name}”的汇总行，工具不能改写它。请在 Excel 中关闭该表格的汇总行，或把表格移出“【自动】”列。",
                        self.name,
                        ref,
                    )
                raise _refuse(
                    f"{where} 位于数据透视表“{area.name}”的区域内，工具不能改写它。请把数据透视表移到其他位置后再运行。",
                    self.name,
                    ref,
                )
        if value is not None:
            for rng in self.merges:
                if _in(r, col, rng) and (r, col) != (rng[0], rng[1]):
                    top_left = self._ref(rng[0], rng[1])
                    raise _refuse(
                        f"{where} 位于合并单元格 {top_left}:{self._ref(rng[2], rng[3])} 中但不是左上角单元格，写入的内容不会显示。"
                        "请在 Excel 中取消该合并后再运行。",
                        self.name,
                        ref,
                    )

    def _write_cell(self, r: int, col: int, cw: CellWrite, old_pos: tuple[int, int, bytes, int] | None) -> bytes | None:
        """New XML of a plan cell, or None when the cell already holds exactly this."""
        value = cw.value
        if old_pos is not None:
            s, e, attrs, hend = old_pos
            old = self._decode(s, e, attrs, hend)
            base: int | None = old.style if (old.style or _S_ATTR_RE.search(attrs)) else None
        else:
            old, attrs, base = None, b"", None
        if cw.style is None and not isinstance(value, date):
            style = base
        else:
            style = self.styles.resolve(base or 0, cw.style, value)
        if old is not None and self._equivalent(old, value, style or 0):
            return None
        if old is None and value is None and not style:
            return None
        self._check_touch(r, col, old, attrs, value)
        if old is not None:
            if old.is_shared_ref:
                self.strings.count_delta -= 1
            if old.has_f and not isinstance(value, Formula):
                self.removed_formula = True
        self.written += 1
        if value is not None:
            self.extent.append((r, col))
        return self._cell_xml(r, col, style, value)

    def _clear_cell(self, r: int, col: int, old_pos: tuple[int, int, bytes, int]) -> bytes | None:
        """Empty a cell outside the plan (owned column: keep style; owned sheet: remove)."""
        s, e, attrs, hend = old_pos
        old = self._decode(s, e, attrs, hend)
        if not old.has_content:
            return b"" if self.owned else None
        self._check_touch(r, col, old, attrs, None)
        if old.is_shared_ref:
            self.strings.count_delta -= 1
        if old.has_f:
            self.removed_formula = True
        self.cleared.append((r, column_letter(col)))
        if self.owned:
            return b""
        sm = _S_ATTR_RE.search(attrs)
        return self._cell_xml(r, col, int(sm.group(1)) if sm else None, None)

    def _cell_xml(self, r: int, col: int, style: int | None, value: CellValue) -> bytes:
        p = self.p
        head = b"<" + p + b'c r="' + self._ref(r, col).encode() + b'"' + (b' s="%d"' % style if style else b"")
        if value is None:
            return head + b"/>"
        v_open, v_close = b"<" + p + b"v>", b"</" + p + b"v>"
        if isinstance(value, Formula):
            f = b"<" + p + b"f>" + _encode_ooxml_text(_formula_text(value)) + b"</" + p + b"f>"
            cached = value.cached
            if cached is None:
                return head + b">" + f + b"</" + p + b"c>"
            if isinstance(cached, bool):
                return head + b' t="b">' + f + v_open + (b"1" if cached else b"0") + v_close + b"</" + p + b"c>"
            if isinstance(cached, str):
                return head + b' t="str">' + f + v_open + _encode_ooxml_text(cached) + v_close + b"</" + p + b"c>"
            return head + b">" + f + v_open + _number_text(cached) + v_close + b"</" + p + b"c>"
        if isinstance(value, bool):
            return head + b' t="b">' + v_open + (b"1" if value else b"0") + v_close + b"</" + p + b"c>"
        if isinstance(value, (int, float)):
            return head + b">" + v_open + _number_text(value) + v_close + b"</" + p + b"c>"
        if isinstance(value, date):
            return (
                head + b">" + v_open + _number_text(_excel_serial(value, self.date1904)) + v_close + b"</" + p + b"c>"
            )
        if self.use_shared:
            self.strings.count_delta += 1
            idx = self.strings.index_for(value)
            return head + b' t="s">' + v_open + str(idx).encode() + v_close + b"</" + p + b"c>"
        t = b"<" + p + b"t" + (b' xml:space="preserve"' if _needs_preserve(value) else b"") + b">"
        return (
            head
            + b' t="inlineStr"><'
            + p
            + b"is>"
            + t
            + _encode_ooxml_text(value)
            + b"</"
            + p
            + b"t></"
            + p
            + b"is></"
            + p
            + b"c>"
        )

    # --- sheet-level facts
    def _merges(self) -> list[tuple[int, int, int, int]]:
        tail = self.xml[self.sd_close_end :]
        if b"mergeCell" not in tail:
            return []
        rx = re.compile(rb"<" + re.escape(self.p) + rb"mergeCell(?=[\s/>])(" + _ATTRS + rb")")
        out = []
        for m in rx.finditer(tail):
            ref = _attrs(m.group(1)).get(b"ref")
            if ref:
                try:
                    out.append(_parse_range(ref.decode()))
                except ValueError:
                    continue
        return out

    def _array_ranges(self) -> list[tuple[int, int, int, int]]:
        region = self.xml[self.sd_start : self.sd_end]
        if b"array" not in region:
            return []
        out = []
        for m in self.f_re.finditer(region):
            a = _attrs(m.group(1))
            if a.get(b"t") == b"array" and a.get(b"ref"):
                try:
                    out.append(_parse_range(a[b"ref"].decode()))
                except ValueError:
                    continue
        return out

    def _check_header(self) -> None:
        if self.owned or not self.header_cols:
            return
        if self.header_row < 1:
            raise _refuse(
                f"写入计划有误：工作表「{self.name}」不是工具专用表，clear_from_row 必须大于 1（其上一行是表头）。",
                self.name,
            )
        planned = self.wants.get(self.header_row, {})
        # A plan model that names staff columns it may write (county consolidation) exempts them.
        exempt = {column_index(c) for c in getattr(self.plan, "staff_columns", ())}
        for col in sorted(self.header_cols - exempt):
            value = planned[col].value if col in planned else self.header_values.get(col)
            if not (isinstance(value, str) and value.strip().startswith(OWNED_PREFIX)):
                shown = "" if value is None else str(value)
                raise _refuse(
                    f"工作表「{self.name}」的 {column_letter(col)} 列（表头 {column_letter(col)}{self.header_row}「{shown}」）不是以“{OWNED_PREFIX}”开头的工具列，"
                    "工具不会改写员工填写的列。请检查第 "
                    f"{self.header_row} 行的表头：只有表头以“{OWNED_PREFIX}”开头的列才由工具填写。",
                    self.name,
                    f"{column_letter(col)}{self.header_row}",
                )

    def _update_head(self, head: bytes) -> bytes:
        p = re.escape(self.p)
        if self.extent:
            dm = re.search(rb"<" + p + rb"dimension(?=[\s/>])(" + _ATTRS + rb")\s*/?>", head)
            if dm is not None:
                ref = _attrs(dm.group(1)).get(b"ref")
                try:
                    r1, c1, r2, c2 = _parse_range(ref.decode()) if ref else (1, 0, 1, 0)
                except ValueError:
                    r1, c1, r2, c2 = (1, 0, 1, 0)
                rows = [r for r, _ in self.extent]
                cols = [c for _, c in self.extent]
                nr1, nc1, nr2, nc2 = min(r1, *rows), min(c1, *cols), max(r2, *rows), max(c2, *cols)
                if (nr1, nc1, nr2, nc2) != (r1, c1, r2, c2):
                    new_ref = self._ref(nr1, nc1) + (":" + self._ref(nr2, nc2) if (nr1, nc1) != (nr2, nc2) else "")
                    tag = _set_attr(head[dm.start() : dm.end()], b"ref", new_ref.encode())
                    head = head[: dm.start()] + tag + head[dm.end() :]
        if self.owned and self.plan.column_widths:
            cols_xml = _cols_xml(self.p, self.plan.column_widths)
            cm = re.search(rb"<" + p + rb"cols(?:\s[^>]*)?(?:/>|>.*?</" + p + rb"cols\s*>)", head, re.S)
            if cm is None:
                head = head + cols_xml
            elif head[cm.start() : cm.end()] != cols_xml:
                head = head[: cm.start()] + cols_xml + head[cm.end() :]
        return head


def _cols_xml(p: bytes, widths: dict[str, float]) -> bytes:
    items = sorted((column_index(c) + 1, w) for c, w in widths.items())
    body = b"".join(
        b"<" + p + b'col min="%d" max="%d" width="%s" customWidth="1"/>' % (i, i, _number_text(float(w)))
        for i, w in items
    )
    return b"<" + p + b"cols>" + body + b"</" + p + b"cols>"


def _formula_text(value: Formula) -> str:
    text = value.text.strip()
    return text[1:] if text.startswith("=") else text


# ----------------------------------------------------------------------------- plan checks
_COLUMN_RE = re.compile(r"[A-Z]{1,3}")
_RGB_RE = re.compile(r"#?[0-9A-Fa-f]{6}")
_BAD_SHEET_CHARS = set("[]:*?/\\")


def _validate_plan(plan: WritePlan) -> None:
    """Refuse plans that are malformed (duplicate cells, bad references, bad values)."""
    names: set[str] = set()
    for sp in plan.sheets:
        if sp.sheet in names:
            raise _refuse(f"写入计划有误：工作表「{sp.sheet}」在计划中出现了两次。", sp.sheet)
        names.add(sp.sheet)
        if sp.clear_from_row < 1 or sp.clear_from_row > MAX_ROW:
            raise _refuse(f"写入计划有误：工作表「{sp.sheet}」的起始清理行 {sp.clear_from_row} 超出范围。", sp.sheet)
        for letters in (*sp.owned_columns, *sp.column_widths):
            if not _COLUMN_RE.fullmatch(letters) or column_index(letters) >= MAX_COL:
                raise _refuse(
                    f"写入计划有误：工作表「{sp.sheet}」的列名“{letters}”无效，应为 A～XFD 的大写字母。", sp.sheet
                )
        for letters, width in sp.column_widths.items():
            if not (isinstance(width, (int, float)) and 0 < width <= 255):
                raise _refuse(
                    f"写入计划有误：工作表「{sp.sheet}」{letters} 列的列宽 {width} 应在 0～255 之间。", sp.sheet
                )
        seen: set[tuple[int, str]] = set()
        columns_ok: dict[str, bool] = {}
        styles_ok: set[CellStyle] = set()
        for cw in sp.cells:
            ok = columns_ok.get(cw.column)
            if ok is None:
                ok = columns_ok[cw.column] = bool(_COLUMN_RE.fullmatch(cw.column)) and column_index(cw.column) < MAX_COL
            if not ok or not 1 <= cw.row <= MAX_ROW:
                raise _refuse(
                    f"写入计划有误：工作表「{sp.sheet}」的单元格 {cw.column}{cw.row} 超出 Excel 的范围。", sp.sheet
                )
            key = (cw.row, cw.column)
            if key in seen:
                ref = f"{cw.column}{cw.row}"
                raise _refuse(f"写入计划有误：工作表「{sp.sheet}」的 {ref} 在计划中出现了两次。", sp.sheet, ref)
            seen.add(key)
            value = cw.value
            if value is not None and (type(value) is not str or len(value) > MAX_TEXT or not _encodable(value)):
                _validate_value(sp.sheet, f"{cw.column}{cw.row}", value)
            if cw.style is not None and cw.style not in styles_ok:
                _validate_style(sp.sheet, f"{cw.column}{cw.row}", cw.style)
                styles_ok.add(cw.style)


def _validate_value(sheet: str, ref: str, value: CellValue) -> None:
    where = f"写入计划有误：工作表「{sheet}」的 {ref}"
    if isinstance(value, Formula):
        text = _formula_text(value)
        if not text or len(text) > 8192 or not _encodable(text):
            raise _refuse(f"{where} 的公式为空、超过 8192 个字符或含有无效字符。", sheet, ref)
        _validate_value(sheet, ref, value.cached)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, (int, float)):
        if not math.isfinite(value) or abs(value) > 9.99999999999999e307:
            raise _refuse(f"{where} 的数值 {value} 无法保存到 Excel（不是有限数）。", sheet, ref)
    elif isinstance(value, date):
        if (value.date() if isinstance(value, datetime) else value) < date(1900, 3, 1):
            raise _refuse(f"{where} 的日期 {value} 早于 1900-03-01，Excel 无法正确表示。", sheet, ref)
    elif isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise _refuse(f"{where} 的文字超过 Excel 单元格上限 32767 个字符，请缩短。", sheet, ref)
        if not _encodable(value):
            raise _refuse(
                f"{where} 的文字含有无法保存的字符（不成对的代理字符或 U+FFFE/U+FFFF，多为乱码），请检查这段文字的来源。",
                sheet,
                ref,
            )
    else:
        raise _refuse(f"{where} 的值类型 {type(value).__name__} 不受支持。", sheet, ref)


def _encodable(text: str) -> bool:
    """No lone surrogates and no U+FFFE/U+FFFF: characters no XML file (and no reader) can carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\ufffe" not in text and "\uffff" not in text


def _validate_style(sheet: str, ref: str, style: CellStyle) -> None:
    where = f"写入计划有误：工作表「{sheet}」的 {ref}"
    for colour in (style.fill, style.font_color):
        if colour is not None and not _RGB_RE.fullmatch(colour):
            raise _refuse(f"{where} 的颜色“{colour}”无效，应为 RRGGBB 形式的十六进制颜色。", sheet, ref)
    if style.align not in (None, "left", "center", "right"):
        raise _refuse(f"{where} 的对齐方式“{style.align}”无效，应为 left、center 或 right。", sheet, ref)
    if style.num_format is not None and not (0 < len(style.num_format) <= 255):
        raise _refuse(f"{where} 的数字格式为空或过长。", sheet, ref)


def _normalise_style(style: CellStyle | None) -> CellStyle | None:
    if style is None:
        return None
    return CellStyle(
        fill=style.fill.lstrip("#").upper() if style.fill else None,
        font_color=style.font_color.lstrip("#").upper() if style.font_color else None,
        bold=style.bold,
        num_format=style.num_format,
        wrap=style.wrap,
        align=style.align,
    )


def _check_sheet_name(name: str, existing: Iterable[str]) -> None:
    if not name or len(name) > 31 or set(name) & _BAD_SHEET_CHARS or name[0] == "'" or name[-1] == "'":
        raise _refuse(
            f"写入计划有误：不能新建工作表「{name}」：表名须为 1～31 个字符，不能含 [ ] : * ? / \\，不能以单引号开头或结尾。",
            name,
        )
    for other in existing:
        if other.lower() == name.lower():
            raise _refuse(
                f"工作簿中已有名称仅大小写不同的工作表「{other}」，无法新建「{name}」。请重命名其中一个。", name
            )


def _areas(pkg: _Package, part: str) -> list[_Area]:
    """Table header/totals rows and pivot-table areas of a worksheet."""
    areas: list[_Area] = []
    for ty, target in pkg.part_rels(part).values():
        kind = ty.rsplit("/", 1)[-1]
        if kind not in ("table", "pivotTable"):
            continue
        tpart = _resolve_target(part, target)
        if not pkg.has(tpart):
            continue
        root = _parse_tree(pkg.read(tpart), tpart)
        try:
            if kind == "table":
                r1, c1, r2, c2 = _parse_range(root.get(b"ref") or "")
                name = root.get(b"displayName") or root.get(b"name") or ""
                if (root.get(b"headerRowCount") or "1") != "0":
                    areas.append(_Area("table-header", name, (r1, c1, r1, c2)))
                if int(root.get(b"totalsRowCount") or "0") > 0:
                    areas.append(_Area("table-totals", name, (r2, c1, r2, c2)))
            else:
                loc = root.find(b"location")
                if loc is not None:
                    areas.append(_Area("pivot", root.get(b"name") or "", _parse_range(loc.get(b"ref") or "")))
        except ValueError:
            raise _refuse(f"工作簿部件 {tpart} 中的区域引用无法识别。请用 Excel 打开并另存为 .xlsx 后再试。") from None
    return areas


def _new_sheet_xml(widths: dict[str, float]) -> bytes:
    cols = _cols_xml(b"", widths) if widths else b""
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        b'<worksheet xmlns="' + MAIN_NS + b'" xmlns:r="' + REL_NS + b'">'
        b'<dimension ref="A1"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        b'<sheetFormatPr defaultRowHeight="15"/>' + cols + b"<sheetData/>"
        b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
    )


# ----------------------------------------------------------------------------- orchestration
@dataclass
class PreparedPatch:
    """A fully computed patch: every check has passed; :meth:`write` only writes bytes."""

    summary: PatchSummary
    _pkg: _Package
    _replaced: dict[str, bytes]
    _removed: set[str]
    _added: list[tuple[str, bytes]]

    @property
    def changed(self) -> bool:
        return self.summary.changed

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
        wb_entry = self._pkg.by_name.get(self._pkg.wb_part)
        dos_time = struct.unpack("<HH", wb_entry.cd[12:16]) if wb_entry else (0, 0x21)
        chunks = _build_zip(
            self._pkg.blob, self._pkg.entries, self._pkg.comment, self._replaced, self._removed, self._added, dos_time
        )
        with open(dst, "wb") as fh:
            for i, chunk in enumerate(chunks):
                fh.write(chunk)
                if progress is not None:
                    fh.flush()
                    progress(i + 1, len(chunks))
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())


def prepare_patch(src: str | Path | bytes, plan: WritePlan) -> PreparedPatch:
    """Check ``plan`` against the workbook at ``src`` and compute every changed member in memory.

    Raises :class:`PatchRefused` (nothing written anywhere) when the plan or the file cannot be
    handled safely.
    """
    blob = src if isinstance(src, bytes) else Path(src).read_bytes()
    _validate_plan(plan)
    pkg = _Package(blob)
    sst_part = pkg.wb_part_of_type("/sharedStrings")
    strings = _SharedStrings(pkg.read(sst_part) if sst_part else None, sst_part)
    styles_part = pkg.wb_part_of_type("/styles")
    styles = _Styles(pkg.read(styles_part) if styles_part else None, styles_part)

    replaced: dict[str, bytes] = {}
    added: list[tuple[str, bytes]] = []
    new_sheets: list[tuple[str, str]] = []  # (sheet name, part)
    written = cleared_n = 0
    cleared: dict[str, tuple[tuple[int, str], ...]] = {}
    removed_formula = False
    taken = {e.name.lower() for e in pkg.entries}
    by_name = {s.name: s for s in pkg.sheets}
    for sp in plan.sheets:
        info = by_name.get(sp.sheet)
        if info is None:
            if not sp.owned_sheet:
                raise _refuse(
                    f"工作簿中找不到工作表「{sp.sheet}」。请确认表名没有被修改（可在 Excel 中把表名改回「{sp.sheet}」）。",
                    sp.sheet,
                )
            _check_sheet_name(sp.sheet, by_name)
            n = 1
            while f"xl/worksheets/sheet{n}.xml" in taken:
                n += 1
            part = f"xl/worksheets/sheet{n}.xml"
            taken.add(part)
            patcher = _SheetPatcher(
                sp.sheet, _new_sheet_xml(sp.column_widths), sp, strings=strings, styles=styles,
                date1904=pkg.date1904, areas=[], owned=True,
            )  # fmt: skip
            added.append((part, patcher.run()))
            new_sheets.append((sp.sheet, part))
        else:
            if info.kind != "worksheet" or info.part is None or not pkg.has(info.part):
                raise _refuse(
                    f"「{sp.sheet}」不是普通工作表（可能是图表工作表或宏表），工具不能写入。请检查写入计划中的表名。",
                    sp.sheet,
                )
            part = pkg.member_name(info.part)
            xml = pkg.read(part)
            patcher = _SheetPatcher(
                sp.sheet, xml, sp, strings=strings, styles=styles, date1904=pkg.date1904,
                areas=_areas(pkg, part), owned=sp.owned_sheet,
            )  # fmt: skip
            new_xml = patcher.run()
            if new_xml is not xml and new_xml != xml:
                replaced[part] = new_xml
        written += patcher.written
        cleared_n += len(patcher.cleared)
        if patcher.cleared:
            cleared[sp.sheet] = tuple(patcher.cleared)
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
        _edit_workbook(pkg, new_sheets, replaced, calc_part if calc_chain_removed else None)

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
    )
    return PreparedPatch(summary, pkg, replaced, removed, added)


def _edit_workbook(
    pkg: _Package, new_sheets: list[tuple[str, str]], replaced: dict[str, bytes], calc_part: str | None
) -> None:
    """workbook.xml (new sheets, fullCalcOnLoad), its rels and [Content_Types].xml."""
    wb, root = pkg.wb_xml, pkg.wb_root
    p = root.prefix
    edits: list[tuple[int, int, bytes]] = []
    rels_xml = pkg.read(pkg.wb_rels_part) if pkg.has(pkg.wb_rels_part) else None
    rels_root = _parse_tree(rels_xml, pkg.wb_rels_part) if rels_xml is not None else None
    rel_edits: list[tuple[int, int, bytes]] = []
    ct_part = "[Content_Types].xml"
    ct_xml = pkg.read(ct_part)
    ct_root = _parse_tree(ct_xml, ct_part)
    ct_edits: list[tuple[int, int, bytes]] = []

    if new_sheets:
        if rels_root is None:
            raise _refuse(
                "工作簿缺少关系文件（workbook.xml.rels），无法新建工作表。请用 Excel 打开并另存为 .xlsx 后再试。"
            )
        sheets = root.find(b"sheets")
        if sheets is None:
            raise _refuse("工作簿结构异常（缺少 sheets）。请用 Excel 打开并另存为 .xlsx 后再试。")
        ids = [int(s.get(b"sheetId") or 0) for s in sheets.children]
        next_id = max([0, *ids]) + 1
        used_rids = {r.get(b"Id") for r in rels_root.children}
        k = 1
        sheet_xml = b""
        rel_xml = b""
        ct_new = b""
        rp = rels_root.prefix
        cp = ct_root.prefix
        for name, part in new_sheets:
            while f"rId{k}" in used_rids:
                k += 1
            rid = f"rId{k}"
            used_rids.add(rid)
            if pkg.rel_prefix:
                rattr = pkg.rel_prefix + b':id="' + rid.encode() + b'"'
            else:
                rattr = b'xmlns:r="' + REL_NS + b'" r:id="' + rid.encode() + b'"'
            sheet_xml += (
                b"<" + _q(p, b"sheet") + b' name="' + _escape_attr(name) + b'" sheetId="%d" ' % next_id + rattr + b"/>"
            )
            next_id += 1
            target = posixpath.relpath(part, posixpath.dirname(pkg.wb_part) or ".")
            rel_xml += (
                b"<" + _q(rp, b"Relationship") + b' Id="' + rid.encode() + b'" Type="' + _REL_BASE.encode() + b'worksheet" Target="'
                + _escape_attr(target) + b'"/>'
            )  # fmt: skip
            ct_new += (
                b"<"
                + _q(cp, b"Override")
                + b' PartName="/'
                + _escape_attr(part)
                + b'" ContentType="'
                + WORKSHEET_CT.encode()
                + b'"/>'
            )
        if sheets.self_closing:
            head = wb[sheets.start : sheets.head_end][:-2].rstrip() + b">"
            edits.append((sheets.start, sheets.end, head + sheet_xml + b"</" + sheets.qname + b">"))
        else:
            edits.append((sheets.close_pos(), sheets.close_pos(), sheet_xml))
        rel_edits.append((rels_root.close_pos(), rels_root.close_pos(), rel_xml))
        ct_edits.append((ct_root.close_pos(), ct_root.close_pos(), ct_new))

    calc = root.find(b"calcPr")
    if calc is not None:
        if calc.get(b"fullCalcOnLoad") not in ("1", "true"):
            edits.append(
                (calc.start, calc.head_end, _set_attr(wb[calc.start : calc.head_end], b"fullCalcOnLoad", b"1"))
            )
    else:
        before = [
            c
            for c in root.children
            if c.local in (b"sheets", b"functionGroups", b"externalReferences", b"definedNames")
        ]
        pos = max(c.end for c in before) if before else root.close_pos()
        edits.append((pos, pos, b"<" + _q(p, b"calcPr") + b' fullCalcOnLoad="1"/>'))

    if calc_part is not None:
        if rels_root is not None:
            for rel in rels_root.children:
                if (rel.get(b"Type") or "").endswith("/calcChain"):
                    rel_edits.append((rel.start, rel.end, b""))
        for ov in ct_root.children:
            if ov.local == b"Override" and (ov.get(b"PartName") or "").lstrip("/").lower() == calc_part.lower():
                ct_edits.append((ov.start, ov.end, b""))

    if edits:
        replaced[pkg.wb_part] = _splice(wb, edits)
    if rel_edits and rels_xml is not None:
        replaced[pkg.wb_rels_part] = _splice(rels_xml, rel_edits)
    if ct_edits:
        replaced[ct_part] = _splice(ct_xml, ct_edits)


def apply_plan(src_path: str | Path, plan: WritePlan, dst_path: str | Path) -> PatchSummary:
    """Write a copy of the workbook at ``src_path`` with ``plan`` applied to ``dst_path``.

    All checks run before ``dst_path`` is opened; on :class:`PatchRefused` nothing is written.
    The caller handles temporary names, verification and the atomic rename
    (see :func:`toolkit.excel.safe_write.write_safely`).
    """
    prepared = prepare_patch(src_path, plan)
    prepared.write(dst_path)
    return prepared.summary
