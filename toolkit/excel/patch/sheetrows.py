"""Worksheet parts (``xl/worksheets/sheetN.xml``): rewriting the touched ``<row>``/``<c>`` elements.

A worksheet is not re-serialised: its bytes are kept and only the touched ``<row>`` elements
are rebuilt and spliced in, cell by cell (untouched cells inside a touched row are copied
verbatim too). Rows and cells are located with regular expressions over the bytes; comments,
CDATA and processing instructions are masked so tag-like text inside them is never matched.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import date, datetime
from typing import Any

from toolkit.core.plan import CellValue, CellWrite, Formula, SheetPlan
from toolkit.core.schema import column_index
from toolkit.excel.patch.cells import (
    MAX_COL,
    MAX_ROW,
    OldCell,
    cell_ref,
    column_of,
    excel_serial,
    formula_text,
    letters_of,
    number_text,
    parse_range,
)
from toolkit.excel.patch.checks import Area, check_header, check_touch
from toolkit.excel.patch.errors import refuse
from toolkit.excel.patch.package import MAIN_NS, REL_NS
from toolkit.excel.patch.sharedstrings import SharedStrings, needs_preserve, text_between
from toolkit.excel.patch.styles import Styles
from toolkit.excel.patch.xmltree import (
    ATTRS,
    SPECIAL_RE,
    TOKEN_RE,
    Node,
    decode_ooxml_text,
    encode_ooxml_text,
    ns_prefix,
    parse_attrs,
    set_attr,
    unescape,
)

_R_ATTR_RE = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([A-Za-z]{1,3})(\d+)[\"']")
_ROW_R_RE = re.compile(rb"(?:^|\s)r\s*=\s*[\"'](\d+)[\"']")
_S_ATTR_RE = re.compile(rb"(?:^|\s)s\s*=\s*[\"'](\d+)[\"']")
_T_ATTR_RE = re.compile(rb"(?:^|\s)t\s*=\s*[\"'](\w+)[\"']")
_SPANS_RE = re.compile(rb"(\sspans\s*=\s*[\"'])(\d+):(\d+)([\"'])")


class SheetPatcher:
    """Rebuilds the touched rows of one worksheet XML."""

    def __init__(
        self,
        name: str,
        xml: bytes,
        plan: SheetPlan,
        *,
        strings: SharedStrings,
        styles: Styles,
        date1904: bool,
        areas: list[Area],
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
        # Every cell whose XML is rewritten, added or removed (value or formatting changes).
        self.rewritten: list[tuple[int, str]] = []
        self.removed_formula = False
        self.header_values: dict[int, object] = {}
        self._st_cache: dict[bytes, tuple[int, bytes]] = {}
        # Outcome per (cell bytes after r="...", planned value and style), see _rebuild_row_fast.
        self._cell_cache: dict[tuple, tuple | None] = {}
        # Outcome per run row: (its cells' bytes after r="...", their plans), see _rebuild_row_fast.
        self._row_cache: dict[tuple, tuple | None] = {}
        # Outcome per (value class, value, style number) of a cell written where the sheet has none (_new_cell).
        self._new_cache: dict[tuple, tuple | None] = {}
        self._needles: dict[int, bytes] = {}  # column → b'<c r="' + letters
        self._runs: dict[tuple[int, ...], tuple | None] = {}  # see _run_of
        self._style_canon: dict[int, int] = {}  # id(style) → number of its value
        self._style_ids: dict[object, int] = {}
        self._style_keep: list[object] = []
        self._last_old: OldCell | None = None  # the cell last decoded by _write_cell/_clear_cell
        self._blocked: list[tuple[int, int, int, int]] = []
        # Header rows of tables (ListObjects): a planned header equal in value is left as is.
        self._table_headers = [a.rng for a in areas if a.kind == "table-header"]
        self._parse_root()

    # --- structure
    def _parse_root(self) -> None:
        xml = self.xml
        if xml[:2] in (b"\xff\xfe", b"\xfe\xff") or re.match(rb"<\?xml[^>]*encoding=[\"']utf-16", xml[:100], re.I):
            raise refuse(
                f"工作表「{self.name}」使用 UTF-16 编码，无法安全写回。请用 Excel 打开并另存为 .xlsx 后再试。",
                self.name,
            )
        root_m = None
        for m in TOKEN_RE.finditer(xml):
            if m.group(1) is not None:
                if m.group(1) in (b"<!DOCTYPE", b"<!ENTITY"):
                    raise refuse(f"工作表「{self.name}」含有 DTD 声明，可能是恶意文件，已拒绝写回。", self.name)
                continue
            root_m = m
            break
        if root_m is None:
            raise refuse(f"工作表「{self.name}」的内容为空或已损坏。请用 Excel 打开并另存为 .xlsx 后再试。", self.name)
        root = Node(root_m.group(3), root_m.group(4), root_m.start(), root_m.end())
        prefix = root.prefix
        if ns_prefix(root, MAIN_NS) != prefix:
            raise refuse(
                f"工作表「{self.name}」的 XML 命名空间无法识别（可能是 Strict 格式）。请用 Excel 另存为普通 .xlsx 后再试。",
                self.name,
            )
        self.p = prefix + b":" if prefix else b""
        self._close_c = b"</" + self.p + b"c>"
        self.root_end = root_end = root_m.end()
        # "<!" / "<?" searched only when the single byte "!" / "?" occurs at all: exact (no such byte,
        # no such pair), and a one-byte search (memchr) is much faster than a two-byte one.
        bang = xml.find(b"!", root_end) >= 0 and xml.find(b"<!", root_end) >= 0
        if bang and (xml.find(b"<!DOCTYPE", root_end) >= 0 or xml.find(b"<!ENTITY", root_end) >= 0):
            raise refuse(f"工作表「{self.name}」含有 DTD 声明，可能是恶意文件，已拒绝写回。", self.name)
        # Comments, CDATA and processing instructions may hide tag-like text: mask them.
        self.spans: list[tuple[int, int]] = []
        if bang or (xml.find(b"?", root_end) >= 0 and xml.find(b"<?", root_end) >= 0):
            self.spans = [(m.start(), m.end()) for m in SPECIAL_RE.finditer(xml, root_end)]
        self.span_starts = [s for s, _ in self.spans]
        p = re.escape(self.p)
        self.row_re = re.compile(rb"<" + p + rb"row(?=[\s/>])(" + ATTRS + rb")\s*(/?)>")
        self.row_end_re = re.compile(rb"</" + p + rb"row\s*>")
        self.cell_re = re.compile(rb"<" + p + rb"c(?=[\s/>])(" + ATTRS + rb")\s*(/?)>")
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
        self.f_re = re.compile(rb"<" + p + rb"f(?=[\s/>])(" + ATTRS + rb")\s*(/?)>")
        self.f_end_re = re.compile(rb"</" + p + rb"f\s*>")
        self.is_re = re.compile(rb"<" + p + rb"is(?=[\s/>])")
        self.t_re = re.compile(rb"<" + p + rb"t(?=[\s/>])(" + ATTRS + rb")\s*(/?)>")
        self.t_end_re = re.compile(rb"</" + p + rb"t\s*>")
        self.rph_re = re.compile(rb"<" + p + rb"rPh(?=[\s/>]).*?</" + p + rb"rPh\s*>", re.S)
        sd = self._search(re.compile(rb"<" + p + rb"sheetData(?=[\s/>])(" + ATTRS + rb")\s*(/?)>"), self.root_end)
        if sd is None:
            raise refuse(
                f"工作表「{self.name}」缺少 sheetData，文件可能已损坏。请用 Excel 打开并另存为 .xlsx 后再试。",
                self.name,
            )
        self.sd_match = sd
        if sd.group(2):
            self.sd_start = self.sd_end = sd.end()
        else:
            end = self._sheet_data_end(p, sd.end())
            if end is None:
                raise refuse(f"工作表「{self.name}」的 XML 结构异常。请用 Excel 打开并另存为 .xlsx 后再试。", self.name)
            self.sd_start, self.sd_end = sd.end(), end.start()
        self.sd_close_end = self.sd_end if sd.group(2) else end.end()

    def _sheet_data_end(self, p: bytes, pos: int) -> re.Match[bytes] | None:
        """The first ``</sheetData>`` after ``pos`` (not masked): a plain find, then the regex at each hit."""
        end_re = re.compile(rb"</" + p + rb"sheetData\s*>")
        if self.spans:
            return self._search(end_re, pos)
        needle = b"</" + self.p + b"sheetData"
        xml = self.xml
        while True:
            i = xml.find(needle, pos)
            if i < 0:
                return None
            m = end_re.match(xml, i)
            if m is not None:
                return m
            pos = i + 1

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
    def run(self, stream: Any = None) -> bytes:
        """The new worksheet XML (the original object when nothing changes).

        ``stream`` (optional: ``feed(bytes)``, ``cancel()``) receives the new XML in order while it is
        made, from the sheet's original head (a guess: the dimension may still change), in pieces of
        about a megabyte. When the head turns out unchanged, everything has been fed and
        ``self.streamed`` is True; otherwise (or when nothing changes, or on a refusal) the stream is
        cancelled and the caller uses the returned bytes.
        """
        self.streamed = False
        try:
            return self._run(stream)
        except BaseException:
            if stream is not None:
                stream.cancel()
            raise

    def _run(self, stream: Any) -> bytes:
        plan, xml = self.plan, self.xml
        self.wants: dict[int, dict[int, CellWrite]] = {}
        index: dict[str, int] = {}  # column letters → index, converted once per distinct column
        for cw in plan.cells:
            col = index.get(cw.column)
            if col is None:
                col = index[cw.column] = column_index(cw.column)
            self.wants.setdefault(cw.row, {})[col] = cw
        self.clear_cols = {column_index(c) for c in plan.owned_columns}
        self.clear_from = plan.clear_from_row
        self.header_row = self.clear_from - 1
        self.header_cols = set(index.values()) | self.clear_cols
        self.merges = self._merges()
        self.array_ranges = self._array_ranges()
        self._blocked = [*self.array_ranges, *(a.rng for a in self.areas), *self.merges]
        self.extent: list[tuple[int, int]] = []

        # Unchanged stretches are kept as views of the source: the new XML is built in one join,
        # without an intermediate copy of each stretch or of the whole body.
        src = memoryview(xml)
        out: list[bytes | memoryview] = []
        emitted = scan = self.sd_start
        # Streaming: what has been fed is out[:fed]; a piece of about a megabyte is fed at a time (as
        # bytes: no view of the source outlives this call). The head fed is the original one.
        fed = 0
        unfed = 0
        head_guess = xml[: self.sd_match.start()] if stream is not None else b""
        if stream is not None:
            sd_guess = xml[self.sd_match.start() : self.sd_match.end()]
            if self.sd_match.group(2):
                sd_guess = sd_guess[:-2].rstrip() + b">"
            stream.feed(head_guess + sd_guess)
        prev_r = 0
        pending = sorted(self.wants)
        pi = 0
        shifted = False  # the next row without r would be numbered wrongly
        changed = False
        sd_end = self.sd_end
        masked = bool(self.spans)
        row_search = self.row_re.search
        close_row = b"</" + self.p + b"row"
        n_close_row = len(close_row)
        clear_from, header_row = self.clear_from, self.header_row
        clears = self.owned or bool(self.clear_cols)
        staff_fast = not self.owned and not self.spans  # as in _rebuild_row
        fast = self._rebuild_row_fast
        wants_get = self.wants.get
        no_wants: dict[int, CellWrite] = {}
        while True:
            m = self._search(self.row_re, scan, sd_end) if masked else row_search(xml, scan, sd_end)
            if m is None:
                break
            rm = _ROW_R_RE.search(m.group(1))
            r = int(rm.group(1)) if rm else prev_r + 1
            if r <= prev_r or r > MAX_ROW:
                raise refuse(
                    f"工作表「{self.name}」第 {r} 行的行号顺序异常，文件可能已损坏。请用 Excel 打开并另存为 .xlsx 后再试。",
                    self.name,
                )
            tag_end = m.end()
            if m.group(2):
                content_end = row_end = tag_end
            else:
                # The row's end: a plain find of "</row>" when nothing is masked, else the regex.
                i = -1 if masked else xml.find(close_row, tag_end, sd_end)
                if i >= 0 and xml[i + n_close_row : i + n_close_row + 1] == b">":
                    content_end, row_end = i, i + n_close_row + 1
                else:
                    e = self._search(self.row_end_re, tag_end, sd_end)
                    if e is None:
                        raise refuse(
                            f"工作表「{self.name}」第 {r} 行的 XML 结构异常。请用 Excel 打开并另存为 .xlsx 后再试。",
                            self.name,
                        )
                    content_end, row_end = e.start(), e.end()
            while pi < len(pending) and pending[pi] < r:
                new_row = self._new_row(pending[pi])
                if new_row:
                    out.append(src[emitted : m.start()])
                    out.append(new_row)
                    emitted = m.start()
                    changed = shifted = True
                pi += 1
            if pi < len(pending) and pending[pi] == r:
                pi += 1
            row_wants = wants_get(r, no_wants)
            clearing = r >= clear_from and clears
            new: bytes | None = None
            if staff_fast and r != header_row and (row_wants or clearing):
                # _rebuild_row's fast path, called directly (the common case of a staff sheet).
                new = fast(r, m, tag_end, content_end, row_wants, clearing, rm is not None)
                if new is False:
                    new = self._rebuild_row(r, m, content_end, row_wants, clearing, try_fast=False)
            elif row_wants or clearing or (r == header_row and not self.owned):
                new = self._rebuild_row(r, m, content_end, row_wants, clearing)
            if new is None and shifted and rm is None:
                new = self._with_row_r(xml[m.start() : row_end], r)
            if new is not None:
                out.append(src[emitted : m.start()])
                out.append(new)
                if stream is not None:
                    unfed += m.start() - emitted + len(new)
                    if unfed >= _STREAM_PIECE:
                        stream.feed(b"".join(out[fed:]))
                        fed, unfed = len(out), 0
                emitted = row_end
                changed = True
            shifted = new == b""  # a dropped row: the next row without r would be renumbered
            prev_r = r
            scan = row_end
        while pi < len(pending):
            new_row = self._new_row(pending[pi])
            if new_row:
                out.append(src[emitted : self.sd_end])
                out.append(new_row)
                emitted = self.sd_end
                changed = True
            pi += 1
        if not self.owned and self.header_cols:
            check_header(
                self.name,
                self.plan,
                self.header_row,
                self.header_cols,
                self.wants.get(self.header_row, {}),
                self.header_values,
            )
        if not changed:
            if stream is not None:
                stream.cancel()
            return xml
        out.append(src[emitted : self.sd_end])
        head = self._update_head(xml[: self.sd_match.start()])
        sd_head = xml[self.sd_match.start() : self.sd_match.end()]
        if self.sd_match.group(2):
            sd_head = sd_head[:-2].rstrip() + b">"
            tail: list[bytes | memoryview] = [b"</" + self.p + b"sheetData>", src[self.sd_close_end :]]
        else:
            tail = [src[self.sd_end :]]
        if stream is not None:
            if head == head_guess:
                stream.feed(b"".join([*out[fed:], *tail]))
                self.streamed = True
            else:  # the dimension grew: what was fed began with the old head
                stream.cancel()
        new = b"".join([head, sd_head, *out, *tail])
        del out, tail
        src.release()
        return new

    def drop_source(self) -> None:
        """Forget the source XML (the results — counts, cleared cells, merges — stay)."""
        self.xml = b""
        self.sd_match = None

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
            col = column_of(letters) if letters is not None else prev_c + 1
            if col <= prev_c or col >= MAX_COL:
                raise refuse(
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
            raise refuse(
                f"工作表「{self.name}」第 {r} 行的 XML 结构异常。请用 Excel 打开并另存为 .xlsx 后再试。", self.name
            )
        if cm.group(2):
            return cm.end(), cm.group(1), cm.end()
        e = self._search(self.cell_end_re, cm.end(), limit)
        if e is None:
            raise refuse(
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
        try_fast: bool = True,
    ) -> bytes | None:
        """New bytes of an existing row; None when unchanged, b"" when the row is dropped."""
        xml = self.xml
        is_header = r == self.header_row and not self.owned
        if try_fast and not self.owned and not is_header and not self.spans:
            fast = self._rebuild_row_fast(
                r, m, m.end(), content_end, row_wants, clearing, _ROW_R_RE.search(m.group(1)) is not None
            )
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
                    + cell_ref(r, col).encode()
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
        self,
        r: int,
        m: re.Match[bytes],
        row_start: int,
        content_end: int,
        row_wants: dict[int, CellWrite],
        clearing: bool,
        has_r: bool,
    ) -> bytes | None | bool:
        """Staff-sheet row whose every cell of interest exists and starts ``<c r="..."``.

        Such a row needs no insertion, so its cells are located with plain ``bytes.find``;
        returns False when the general path is needed. ``row_start`` is the end of the row's
        start tag ``m``; ``has_r`` tells whether that tag has an ``r`` attribute.

        Cells are decided through a cache keyed on the cell's bytes after ``r="..."`` and what is
        planned for it (see :func:`_cell_key`): the first cell with given bytes and plan goes
        through :meth:`_write_cell`/:meth:`_clear_cell`, which record their outcome (left alone,
        or the new bytes after ``r="..."`` plus the bookkeeping it did); later identical cells
        replay that outcome. The outcome depends only on those bytes and that plan, except for
        the position checks (array formulas, tables, pivot tables, merged ranges), so a cell in
        such an area always takes the full path. A row whose every cell replays "left alone" is
        not rebuilt (None).
        """
        xml = self.xml
        clear_cols = self.clear_cols
        if clearing and not (row_wants.keys() >= clear_cols):
            cols = row_wants.keys() | clear_cols
        else:
            cols = row_wants
        row_tail = b'%d"' % r
        find = xml.find
        found = None
        run = self._runs.get(tuple(cols), _MISS)
        if run is _MISS:
            run = self._run_of(tuple(cols))
        row_key = None
        if run is not None:
            # The cells of interest are adjacent columns: the first one is found by its r, the
            # rest (and the quick end of each) by one regex match right after it.
            run_cols, first, run_re, before_re, widths = run
            s = find(first + row_tail, row_start, content_end)
            if s < 0:
                return False  # a cell must be inserted (or the general path decides)
            rm = run_re.match(xml, s, content_end)
            # Each cell must be its r's first occurrence in the row, as a find would take it: up to the
            # last cell's end, the later columns' cells occur exactly once each.
            if rm is not None and len(before_re.findall(xml, row_start, rm.end())) == len(run_cols) - 1:
                row_key = self._run_key(r, rm, run_cols, row_wants)
                if row_key is not None:
                    hit = self._row_cache.get(row_key, _MISS)
                    if hit is not _MISS:
                        return self._replay_row(r, m, row_start, content_end, has_r, rm, row_tail, hit)
                n_tail = len(row_tail)
                found = []
                for k, col in enumerate(run_cols, 2):
                    after_r = rm.start(k)
                    found.append((after_r - widths[col] - n_tail, col, after_r, rm.end(k)))
        if found is None:
            found = self._find_cells(r, cols, row_wants, row_start, content_end)
            if found is None:
                return False
        parts: list[bytes] | None = None
        last = row_start
        cache_get = self._cell_cache.get
        blocked = self._blocked
        wants_get = row_wants.get
        for s, col, after_r, qe in found:
            cw = wants_get(col)
            # The quick end found here is only used as a cache key: a wrong guess cannot equal the
            # bytes of a real cell, whose end was found by the full path.
            key = None
            if qe >= 0:
                if cw is None:
                    key = (xml[after_r:qe], None)
                else:
                    plan = self._plan_key(cw)
                    if plan is not None:
                        key = (xml[after_r:qe], *plan)
                if key is not None:
                    hit = cache_get(key, _MISS)
                    if hit is None:
                        continue  # left alone
                    if hit is not _MISS and not (blocked and self._is_blocked(r, col)):
                        tail, d_count, formula_gone, wrote, cleared, extends = hit
                        self.strings.count_delta += d_count
                        if formula_gone:
                            self.removed_formula = True
                        letters = letters_of(col)
                        if wrote:
                            self.written += 1
                        if cleared:
                            self.cleared.append((r, letters))
                        self.rewritten.append((r, letters))
                        if extends:
                            self.extent.append((r, col))
                        if parts is None:
                            parts = []
                        parts.append(xml[last:after_r])
                        parts.append(tail)
                        last = qe
                        continue
            e, attrs, hend = self._cell_extent(s, content_end, r)
            before = (self.strings.count_delta, self.written, len(self.cleared), len(self.extent))
            formula_before = self.removed_formula
            self._last_old = None
            if cw is not None:
                new = self._write_cell(r, col, cw, (s, e, attrs, hend))
            else:
                new = self._clear_cell(r, col, (s, e, attrs, hend))
            if key is not None and e == qe and not (blocked and self._is_blocked(r, col)):
                old = self._last_old
                # A shared-string index outside the table reads as nothing now but may name a
                # string appended later: such a cell is never cached.
                if old is not None and not (old.is_shared_ref and old.value is None):
                    if new is None:
                        self._cell_cache[key] = None
                    elif new.startswith(xml[s:after_r]):
                        self._cell_cache[key] = (
                            new[after_r - s :],
                            self.strings.count_delta - before[0],
                            self.removed_formula and not formula_before,
                            self.written - before[1],
                            len(self.cleared) - before[2],
                            len(self.extent) - before[3],
                        )
            if new is not None:
                if parts is None:
                    parts = []
                parts.append(xml[last:s])
                parts.append(new)
                last = e
        if row_key is not None:
            self._remember_row(row_key, run_cols)
        if parts is None:
            return None
        parts.append(xml[last:content_end])
        head = xml[m.start() : row_start]
        if not has_r:
            head = self._with_row_r(head, r)
        return head + b"".join(parts) + b"</" + self.p + b"row>"

    def _run_key(self, r: int, rm: re.Match[bytes], run_cols: tuple[int, ...],
                 row_wants: dict[int, CellWrite]) -> tuple | None:
        """A run row's key: its cells' bytes after r="..." (up to each quick end) and, per cell, the cell cache's
        plan part (value class, value, style number; None for a cell only cleared). None when a cell's outcome
        may depend on where it is (a cell in a blocked area) or on more than its bytes (a value the cell cache
        skips)."""
        lo, hi = run_cols[0], run_cols[-1]
        for r1, c1, r2, c2 in self._blocked:
            if r1 <= r <= r2 and c1 <= hi and lo <= c2:
                return None
        plans = []
        for col in run_cols:
            cw = row_wants.get(col)
            if cw is None:
                plans.append(None)
                continue
            plan = self._plan_key(cw)
            if plan is None:
                return None
            plans.append(plan)
        return rm.groups()[1:], tuple(plans)

    def _plan_key(self, cw: CellWrite) -> tuple | None:
        """What the outcome caches key a planned cell on: (value class, value, style number); equal styles from
        different objects share a number. None for a value the caches skip (a formula, …)."""
        value = cw.value
        cls = value.__class__
        if cls not in _CACHEABLE:
            return None
        style = cw.style
        sid = self._style_canon.get(id(style))
        if sid is None:
            sid = self._canonical_style(style)
        return cls, value, sid

    def _remember_row(self, row_key: tuple, run_cols: tuple[int, ...]) -> None:
        """After a run row went cell by cell: its outcome as one entry, when every cell's outcome was cached.

        The entry holds the pieces that :meth:`_replay_row` joins with the row's number (the run's new bytes,
        from the first cell's ``<c r="X`` on) and the bookkeeping of all its cells, in cell order. None: every
        cell was left alone (the row is not rebuilt).
        """
        tails, plans = row_key
        outcomes = []
        for tail, plan in zip(tails, plans, strict=True):
            hit = self._cell_cache.get((tail, None) if plan is None else (tail, *plan), _MISS)
            if hit is _MISS:
                return  # a cell's outcome was not cached (see _rebuild_row_fast): no row entry either
            outcomes.append(hit)
        if all(hit is None for hit in outcomes):
            self._row_cache[row_key] = None
            return
        close_quote = b'"'
        pieces = [self._needle(run_cols[0])]
        d_count = written = 0
        formula_gone = False
        cleared, rewritten, extends = [], [], []
        for k, (col, tail, hit) in enumerate(zip(run_cols, tails, outcomes, strict=True)):
            if hit is None:
                new_tail = tail
            else:
                new_tail, dc, fg, wrote, was_cleared, extended = hit
                d_count += dc
                formula_gone = formula_gone or fg
                written += bool(wrote)
                letters = letters_of(col)
                if was_cleared:
                    cleared.append(letters)
                rewritten.append(letters)
                if extended:
                    extends.append(col)
            following = self._needle(run_cols[k + 1]) if k + 1 < len(run_cols) else b""
            pieces.append(close_quote + new_tail + following)
        # The row's number goes between the pieces: b'<c r="P' + b'17' + b'"…<c r="Q' + b'17' + …
        self._row_cache[row_key] = (tuple(pieces), d_count, formula_gone, written, tuple(cleared), tuple(rewritten),
                                    tuple(extends))

    def _replay_row(self, r: int, m: re.Match[bytes], row_start: int, content_end: int, has_r: bool,
                    rm: re.Match[bytes], row_tail: bytes, hit: tuple | None) -> bytes | None:
        """A run row whose key is in the row cache: the cached outcome with this row's number, and its cells'
        bookkeeping, in the order the cell-by-cell path keeps."""
        if hit is None:
            return None
        pieces, d_count, formula_gone, written, cleared, rewritten, extends = hit
        self.strings.count_delta += d_count
        if formula_gone:
            self.removed_formula = True
        self.written += written
        if cleared:
            self.cleared.extend([(r, letters) for letters in cleared])
        self.rewritten.extend([(r, letters) for letters in rewritten])
        if extends:
            self.extent.extend([(r, col) for col in extends])
        xml = self.xml
        head = xml[m.start() : row_start]
        if not has_r:
            head = self._with_row_r(head, r)
        number = row_tail[:-1]  # b'17"' without its quote: the quote is in the pieces
        return b"".join((head, xml[row_start : rm.start()], number.join(pieces), xml[rm.end() : content_end],
                         b"</", self.p, b"row>"))

    def _needle(self, col: int) -> bytes:
        """``<c r="`` and the column's letters (the row number and quote follow)."""
        prefix = self._needles.get(col)
        if prefix is None:
            prefix = self._needles[col] = b"<" + self.p + b'c r="' + letters_of(col).encode()
        return prefix

    def _find_cells(
        self, r: int, cols: object, row_wants: dict[int, CellWrite], row_start: int, content_end: int
    ) -> list[tuple[int, int, int, int]] | None:
        """(start, column, end of r="...", quick end or -1) of each cell of ``cols`` in row order, each
        found by its r (first occurrence); None when a planned cell is missing (the general path)."""
        xml = self.xml
        find = xml.find
        row_tail = b'%d"' % r
        close_c = self._close_c
        n_close = len(close_c)
        found: list[tuple[int, int, int, int]] = []
        for col in cols:
            needle = self._needle(col) + row_tail
            s = find(needle, row_start, content_end)
            if s < 0:
                if col in row_wants:
                    return None  # a cell must be inserted
                continue  # nothing to clear, unless the cell is written another way: check below
            after_r = s + len(needle)
            qe = find(b">", after_r, content_end)
            if qe >= 0:
                if xml[qe - 1] == 47:  # "/>"
                    qe += 1
                else:
                    qe = find(close_c, qe, content_end)
                    if qe >= 0:
                        qe += n_close
            found.append((s, col, after_r, qe))
        if len(found) < len(cols):
            # A cell to clear was not found by its r: make sure it is really absent.
            return None
        if len(found) > 1:
            found.sort()
        return found

    def _run_of(self, cols: tuple[int, ...]) -> tuple | None:
        """For cells of interest in adjacent columns (say P, Q, R, S): a regex matching them in a row from
        the first one's start, each cell followed by the next, capturing each cell's bytes after r="..."
        up to its quick end (the first ">"; "/>" ends it, else the first "</c>"), and a regex finding any
        of the later columns' cells (to make sure each occurs once). None otherwise (cached)."""
        run = None
        ordered = tuple(sorted(cols))
        if 1 < len(ordered) <= 20 and ordered[-1] - ordered[0] == len(ordered) - 1:
            close = re.escape(self._close_c)
            tail = rb"([^>]*+>(?:(?<=/>)|[^<]*+(?:<(?!" + close[1:] + rb")[^<]*+)*+" + close + rb"))"
            parts = [re.escape(self._needle(ordered[0])) + rb"(\d+)\"" + tail]
            parts += [re.escape(self._needle(col)) + rb"\1\"" + tail for col in ordered[1:]]
            later = b"|".join(re.escape(letters_of(col).encode()) for col in ordered[1:])
            before = re.compile(re.escape(b"<" + self.p + b'c r="') + rb"(?:" + later + rb")\d")
            widths = {col: len(self._needle(col)) for col in ordered}
            run = (ordered, self._needle(ordered[0]), re.compile(b"".join(parts)), before, widths)
        self._runs[cols] = run
        return run

    def _canonical_style(self, style: object) -> int:
        """A number per distinct style value (equal styles from different objects share it)."""
        sid = self._style_ids.get(style)
        if sid is None:
            sid = self._style_ids[style] = len(self._style_ids)
        self._style_canon[id(style)] = sid
        self._style_keep.append(style)  # keeps id(style) from being reused while cached
        return sid

    def _is_blocked(self, r: int, col: int) -> bool:
        """Is (r, col) in an array formula, a table header/totals row, a pivot table or a merged range?"""
        for rng in self._blocked:
            if rng[0] <= r <= rng[2] and rng[1] <= col <= rng[3]:
                return True
        return False

    def _new_row(self, r: int) -> bytes:
        row_wants = self.wants[r]
        cells = [self._new_cell(r, col, row_wants[col]) for col in sorted(row_wants)]
        body = b"".join(c for c in cells if c)
        if not body:
            return b""
        return b"<" + self.p + b'row r="' + str(r).encode() + b'">' + body + b"</" + self.p + b"row>"

    def _new_cell(self, r: int, col: int, cw: CellWrite) -> bytes | None:
        """:meth:`_write_cell` of a cell the sheet does not have yet. Its outcome depends only on the planned value
        (with its type) and style, except for the position checks: a cell outside every blocked area replays the
        outcome of the first one with the same plan (its bytes after ``r="…"``, the shared-string count, the
        bookkeeping); the first one, and any cell in a blocked area, takes the full path."""
        key = self._plan_key(cw)
        if key is None or (self._blocked and self._is_blocked(r, col)):
            return self._write_cell(r, col, cw, None)
        hit = self._new_cache.get(key, _MISS)
        if hit is _MISS:
            before = (self.strings.count_delta, self.written, len(self.extent))
            new = self._write_cell(r, col, cw, None)
            if new is None:
                self._new_cache[key] = None
            else:
                head = self._cell_head(r, col)
                if new.startswith(head):
                    self._new_cache[key] = (new[len(head):], self.strings.count_delta - before[0],
                                            self.written - before[1], len(self.extent) - before[2])
            return new
        if hit is None:
            return None
        tail, d_count, wrote, extends = hit
        self.strings.count_delta += d_count
        self.written += wrote
        self.rewritten.append((r, letters_of(col)))
        if extends:
            self.extent.append((r, col))
        return self._cell_head(r, col) + tail

    def _cell_head(self, r: int, col: int) -> bytes:
        """``<c r="B7"`` (with the sheet's prefix): how every cell :meth:`_cell_xml` writes begins."""
        return b"<" + self.p + b'c r="' + cell_ref(r, col).encode() + b'"'

    # --- cells
    def _decode(self, s: int, e: int, attrs: bytes, hend: int) -> OldCell:
        xml = self.xml
        style, t = self._style_type(attrs)
        if hend == e:  # <c .../>
            return OldCell("empty", None, None, None, style, False, False, False)
        sc = self.simple_cell_re.match(xml, s, e)
        if sc is not None and sc.end() == e:
            raw_v = sc.group(2)
            if raw_v is None:
                return OldCell("empty", None, None, None, style, False, False, False)
            return self._decode_value(t, raw_v, None, None, style, False)
        formula = ftype = None
        has_f = False
        fm = self._search(self.f_re, hend, e)
        if fm is not None:
            has_f = True
            fa = parse_attrs(fm.group(1))
            ftype = fa.get(b"t")
            if not fm.group(2):
                fe = self._search(self.f_end_re, fm.end(), e)
                formula = decode_ooxml_text(xml[fm.end() : fe.start()]) if fe else ""
            else:
                formula = ""
        vm = self._search(self.v_re, hend, e)
        raw_v = vm.group(1) if vm else None
        if t == b"inlineStr":
            ism = self._search(self.is_re, hend, e)
            if ism is None:
                return OldCell("empty", None, formula, ftype, style, has_f, False, has_f)
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
                texts.append(text_between(inner, tmm.end(), te.start()))
                pos = te.end()
            return OldCell("s", "".join(texts), formula, ftype, style, True, False, has_f)
        if raw_v is None:
            return OldCell("empty", None, formula, ftype, style, has_f, False, has_f)
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
    ) -> OldCell:
        if t == b"s":
            try:
                text = self.strings.text(int(raw_v))
            except ValueError:
                text = None
            return OldCell("s", text, formula, ftype, style, True, True, has_f)
        if t == b"str":
            return OldCell("s", decode_ooxml_text(raw_v), formula, ftype, style, True, False, has_f)
        if t == b"b":
            return OldCell("b", raw_v.strip() in (b"1", b"true"), formula, ftype, style, True, False, has_f)
        if t == b"e":
            return OldCell("e", unescape(raw_v), formula, ftype, style, True, False, has_f)
        if t == b"d":
            return OldCell("d", unescape(raw_v), formula, ftype, style, True, False, has_f)
        try:
            num: object = float(raw_v)
        except ValueError:
            num = unescape(raw_v)
        return OldCell("n", num, formula, ftype, style, True, False, has_f)

    def _equivalent(self, old: OldCell, value: CellValue, style: int) -> bool:
        if old.style != style:
            return False
        if isinstance(value, Formula):
            if not old.has_f or old.formula_type not in (None, b"normal") or old.formula != formula_text(value):
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
                and abs(old.value - excel_serial(value, self.date1904)) < 1e-9
            )
        return old.kind == "s" and old.value == value

    def _write_cell(self, r: int, col: int, cw: CellWrite, old_pos: tuple[int, int, bytes, int] | None) -> bytes | None:
        """New XML of a plan cell, or None when the cell already holds exactly this."""
        value = cw.value
        if old_pos is not None:
            s, e, attrs, hend = old_pos
            old = self._last_old = self._decode(s, e, attrs, hend)
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
        if old is not None and self._in_table_header(r, col) and self._equivalent(old, value, old.style):
            # A table header holding the planned text already: rewriting it only for its formatting
            # would be refused (table headers are not rewritten), so it keeps the staff's format.
            return None
        check_touch(
            self.name, r, col, old, attrs, value, array_ranges=self.array_ranges, areas=self.areas, merges=self.merges
        )
        if old is not None:
            if old.is_shared_ref:
                self.strings.count_delta -= 1
            if old.has_f and not isinstance(value, Formula):
                self.removed_formula = True
        self.written += 1
        self.rewritten.append((r, letters_of(col)))
        if value is not None:
            self.extent.append((r, col))
        return self._cell_xml(r, col, style, value)

    def _in_table_header(self, r: int, col: int) -> bool:
        return any(rng[0] <= r <= rng[2] and rng[1] <= col <= rng[3] for rng in self._table_headers)

    def _clear_cell(self, r: int, col: int, old_pos: tuple[int, int, bytes, int]) -> bytes | None:
        """Empty a cell outside the plan (owned column: keep style; owned sheet: remove)."""
        s, e, attrs, hend = old_pos
        old = self._last_old = self._decode(s, e, attrs, hend)
        if not old.has_content:
            if not self.owned:
                return None
            self.rewritten.append((r, letters_of(col)))  # a formatted empty cell goes
            return b""
        check_touch(
            self.name, r, col, old, attrs, None, array_ranges=self.array_ranges, areas=self.areas, merges=self.merges
        )
        if old.is_shared_ref:
            self.strings.count_delta -= 1
        if old.has_f:
            self.removed_formula = True
        self.cleared.append((r, letters_of(col)))
        self.rewritten.append((r, letters_of(col)))
        if self.owned:
            return b""
        sm = _S_ATTR_RE.search(attrs)
        return self._cell_xml(r, col, int(sm.group(1)) if sm else None, None)

    def _cell_xml(self, r: int, col: int, style: int | None, value: CellValue) -> bytes:
        p = self.p
        head = self._cell_head(r, col) + (b' s="%d"' % style if style else b"")
        if value is None:
            return head + b"/>"
        v_open, v_close = b"<" + p + b"v>", b"</" + p + b"v>"
        if isinstance(value, Formula):
            f = b"<" + p + b"f>" + encode_ooxml_text(formula_text(value)) + b"</" + p + b"f>"
            cached = value.cached
            if cached is None:
                return head + b">" + f + b"</" + p + b"c>"
            if isinstance(cached, bool):
                return head + b' t="b">' + f + v_open + (b"1" if cached else b"0") + v_close + b"</" + p + b"c>"
            if isinstance(cached, str):
                return head + b' t="str">' + f + v_open + encode_ooxml_text(cached) + v_close + b"</" + p + b"c>"
            return head + b">" + f + v_open + number_text(cached) + v_close + b"</" + p + b"c>"
        if isinstance(value, bool):
            return head + b' t="b">' + v_open + (b"1" if value else b"0") + v_close + b"</" + p + b"c>"
        if isinstance(value, (int, float)):
            return head + b">" + v_open + number_text(value) + v_close + b"</" + p + b"c>"
        if isinstance(value, date):
            return head + b">" + v_open + number_text(excel_serial(value, self.date1904)) + v_close + b"</" + p + b"c>"
        if self.use_shared:
            self.strings.count_delta += 1
            idx = self.strings.index_for(value)
            return head + b' t="s">' + v_open + str(idx).encode() + v_close + b"</" + p + b"c>"
        t = b"<" + p + b"t" + (b' xml:space="preserve"' if needs_preserve(value) else b"") + b">"
        return (
            head
            + b' t="inlineStr"><'
            + p
            + b"is>"
            + t
            + encode_ooxml_text(value)
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
        rx = re.compile(rb"<" + re.escape(self.p) + rb"mergeCell(?=[\s/>])(" + ATTRS + rb")")
        out = []
        for m in rx.finditer(tail):
            ref = parse_attrs(m.group(1)).get(b"ref")
            if ref:
                try:
                    out.append(parse_range(ref.decode()))
                except ValueError:
                    continue
        return out

    def _array_ranges(self) -> list[tuple[int, int, int, int]]:
        if self.xml.find(b"array", self.sd_start, self.sd_end) < 0:
            return []
        region = self.xml[self.sd_start : self.sd_end]
        out = []
        for m in self.f_re.finditer(region):
            a = parse_attrs(m.group(1))
            if a.get(b"t") == b"array" and a.get(b"ref"):
                try:
                    out.append(parse_range(a[b"ref"].decode()))
                except ValueError:
                    continue
        return out

    def _update_head(self, head: bytes) -> bytes:
        p = re.escape(self.p)
        if self.extent:
            dm = re.search(rb"<" + p + rb"dimension(?=[\s/>])(" + ATTRS + rb")\s*/?>", head)
            if dm is not None:
                ref = parse_attrs(dm.group(1)).get(b"ref")
                try:
                    r1, c1, r2, c2 = parse_range(ref.decode()) if ref else (1, 0, 1, 0)
                except ValueError:
                    r1, c1, r2, c2 = (1, 0, 1, 0)
                rows = [r for r, _ in self.extent]
                cols = [c for _, c in self.extent]
                nr1, nc1, nr2, nc2 = min(r1, *rows), min(c1, *cols), max(r2, *rows), max(c2, *cols)
                if (nr1, nc1, nr2, nc2) != (r1, c1, r2, c2):
                    new_ref = cell_ref(nr1, nc1) + (":" + cell_ref(nr2, nc2) if (nr1, nc1) != (nr2, nc2) else "")
                    tag = set_attr(head[dm.start() : dm.end()], b"ref", new_ref.encode())
                    head = head[: dm.start()] + tag + head[dm.end() :]
        if self.owned and self.plan.column_widths:
            cols_xml = render_cols(self.p, self.plan.column_widths)
            cm = re.search(rb"<" + p + rb"cols(?:\s[^>]*)?(?:/>|>.*?</" + p + rb"cols\s*>)", head, re.S)
            if cm is None:
                head = head + cols_xml
            elif head[cm.start() : cm.end()] != cols_xml:
                head = head[: cm.start()] + cols_xml + head[cm.end() :]
        return head


# The new XML of a streamed sheet is fed to the compressor in pieces of about this size.
_STREAM_PIECE = 1 << 20

# Plain values only are cached (by class too: 1, 1.0 and True are equal in Python but not in a cell).
_CACHEABLE = frozenset((str, int, float, bool, date, datetime, type(None)))
_MISS = object()


def render_cols(p: bytes, widths: dict[str, float]) -> bytes:
    items = sorted((column_index(c) + 1, w) for c, w in widths.items())
    body = b"".join(
        b"<" + p + b'col min="%d" max="%d" width="%s" customWidth="1"/>' % (i, i, number_text(float(w)))
        for i, w in items
    )
    return b"<" + p + b"cols>" + body + b"</" + p + b"cols>"


def new_sheet_xml(widths: dict[str, float]) -> bytes:
    cols = render_cols(b"", widths) if widths else b""
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        b'<worksheet xmlns="' + MAIN_NS + b'" xmlns:r="' + REL_NS + b'">'
        b'<dimension ref="A1"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        b'<sheetFormatPr defaultRowHeight="15"/>' + cols + b"<sheetData/>"
        b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
    )
