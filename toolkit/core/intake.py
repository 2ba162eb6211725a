"""Tables of cells (from any reader) → a :class:`Ledger`, with located issues for what cannot be read.

Columns are found by header text (canonical name or synonym, full-width/space insensitive, a trailing
remark in brackets ignored), in any order, with a title row allowed above the header. What staff
edits would otherwise make a silent guess is said as a located issue: two columns for one field,
a missing sheet or column (recorded in ``ledger.layout.missing_sheets`` / ``missing_columns``), an
ambiguous header row, table notes (注：…, 制表人：…) and repeated header rows below the data, which
are not records. The rules are written out in docs/rules/intake.md. Pure: no Excel library.
"""

from __future__ import annotations

import difflib
import functools
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from toolkit.core import layouts as L
from toolkit.core import schema as S
from toolkit.core.dates import parse_staff_date, year_reference
from toolkit.core.model import (
    CellError,
    County,
    Deadline,
    Ledger,
    NoticeParagraph,
    Person,
    Problem,
    Table,
    Task,
)
from toolkit.core.report import WARNING, Issue, Location

HEADER_SCAN_ROWS = 10
TRUE_WORDS = {"是", "true", "yes", "y", "1", "√", "按工作日", "工作日", "对"}
FALSE_WORDS = {"否", "false", "no", "n", "0", "×", "按自然日", "自然日", "不"}


def is_sheet(name: str, canonical: str) -> bool:
    """``name`` is the ledger sheet ``canonical`` (its name or a synonym, as normalised)."""
    return S.normalize_header(name) in {S.normalize_header(n) for n in S.SHEET_SYNONYMS.get(canonical, (canonical,))}


def find_sheet(tables: dict[str, Table], canonical: str) -> str | None:
    """The actual name of a ledger sheet, matching its canonical name or a synonym."""
    return next((name for name in tables if is_sheet(name, canonical)), None)


def cell_text(value: Any) -> str:
    """A cell as text for free-text fields: trimmed, Excel's ``_x000D_`` and CR debris removed."""
    if type(value) is str:  # fast path: most cells are clean text
        if "\r" not in value and "_x000D_" not in value:
            return value.strip()
    elif value is None or isinstance(value, CellError):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    s = str(value).replace("_x000D_", "").replace("\r\n", "\n").replace("\r", "\n")
    return s.strip()


def cell_id(value: Any) -> str:
    """An identifier: numbers without .0, full-width digits folded, spaces removed."""
    if value is None or isinstance(value, CellError):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "".join(unicodedata.normalize("NFKC", str(value)).split())


def cell_texts(values: Iterable[Any]) -> list[str]:
    """:func:`cell_text` of each value. Clean text and empty cells (nearly all) are done inline, without a
    call each; every other value goes through :func:`cell_text` itself."""
    return [v.strip() if v.__class__ is str and "\r" not in v and "_x000D_" not in v
            else "" if v is None else cell_text(v) for v in values]


def cell_ids(values: Iterable[Any]) -> list[str]:
    """:func:`cell_id` of each value. Text cells are done inline (NFKC leaves ASCII text as it is, so an ASCII
    cell only loses its spaces); every other value goes through :func:`cell_id` itself."""
    nfkc = unicodedata.normalize
    return [("".join(v.split()) if v.isascii() else "".join(nfkc("NFKC", v).split())) if v.__class__ is str
            else "" if v is None else cell_id(v) for v in values]


@functools.lru_cache(maxsize=8192)
def _normalized_text(text: str) -> str:
    """:func:`normalize_header` of a short text, cached: data columns repeat the same few texts."""
    return S.normalize_header(text)


_NONE = [None]  # appended to a row so that an absent column's index (-1) reads None (see _Sheet.values)


def _column(rows: list[list[Any]], j: int, shortest: int) -> list[Any]:
    """Column ``j`` of ``rows`` (None where a row is too short); ``shortest``: the length of the shortest row."""
    return list(map(operator.itemgetter(j), rows)) if j < shortest else [r[j] if j < len(r) else None for r in rows]


RECORD_KEYS: dict[str, tuple[str, ...]] = {
    S.SHEET_PROBLEMS: ("id", "title"),
    S.SHEET_TASKS: ("id", "problem_id", "measure"),
    S.SHEET_PEOPLE: ("name",),
    S.SHEET_COUNTIES: ("name",),
    S.SHEET_NOTICE_TEXT: ("section",),
}
"""The columns that make a row a record: a table note leaves them blank (or holds its own text there)."""

RECORD_WORDS = {S.SHEET_PROBLEMS: "问题", S.SHEET_TASKS: "整改任务", S.SHEET_PEOPLE: "人员", S.SHEET_COUNTIES: "县区",
                S.SHEET_NOTICE_TEXT: "通报段落"}

# A table note starts with one of these (compared after NFKC, so "注：" and "注:" are the same, spaces removed).
NOTE_LABELS = ("注", "附注", "说明", "备注", "制表人", "制表", "填表人", "填报人", "审核人", "审核", "复核人",
               "负责人", "单位负责人", "联系人", "联系电话", "制表单位", "填报单位", "制表日期", "填报日期", "统计日期")
NOTE_WORDS = ("填表说明", "填报说明", "制表说明")
_NOTE_RE = re.compile(
    r"^(?:(?:" + "|".join(sorted(NOTE_LABELS, key=len, reverse=True)) + r")\d*[:、.]|注\d+|"
    + "|".join(NOTE_WORDS) + ")"
)
_BRACKET_TAIL = re.compile(r"[(\[【][^()\[\]【】]*[)\]】]$")


def is_note_text(value: Any) -> bool:
    """True for a cell that reads as a table note: ``注：…``, ``说明：…``, ``填表说明…``, ``制表人：…`` and the like."""
    if not isinstance(value, str) or value.isascii():  # every note label is Chinese; NFKC keeps ASCII ASCII
        return False
    return _NOTE_RE.match("".join(unicodedata.normalize("NFKC", value).split())) is not None


def header_key(text: object) -> str:
    """A header as matched, with a trailing remark in brackets dropped: ``完成时限（年月日）`` → ``完成时限``."""
    h = S.normalize_header(text)
    stripped = _BRACKET_TAIL.sub("", h)
    return S.normalize_header(stripped) if stripped else h


class HeaderMatch:
    """The header row's cells matched to fields: the column read for each field, and the other matches."""

    def __init__(self, normalized: list[str], columns: tuple[S.Column, ...]):
        names: dict[str, tuple[str, bool]] = {}
        for col in columns:
            names[S.normalize_header(col.header)] = (col.key, True)
        for col in columns:
            for syn in col.synonyms:
                names.setdefault(S.normalize_header(syn), (col.key, False))
        self.cells: dict[str, list[tuple[int, bool]]] = {}  # key -> [(index, exact name?)] left to right
        for j, h in enumerate(normalized):
            if not h:
                continue
            hit = names.get(h) or names.get(header_key(h))
            if hit is not None:
                self.cells.setdefault(hit[0], []).append((j, hit[1]))
        self.mapping: dict[str, int] = {}
        self.ignored: dict[str, list[int]] = {}  # key -> indices of further columns naming the same field
        for key, found in self.cells.items():
            exact = [j for j, is_exact in found if is_exact]
            used = exact[0] if exact else found[0][0]
            self.mapping[key] = used
            others = [j for j, _ in found if j != used]
            if others:
                self.ignored[key] = others


def locate_header(table: Table, columns: tuple[S.Column, ...]) -> tuple[int, dict[str, int]] | None:
    """Find the header row (index into ``table.rows``) and map column key → index.

    The header is the row among the first few that names the most known columns (at least two,
    or the sheet's first required column); on a tie the upper row.
    Exact names are preferred over synonyms; a header with a trailing remark in brackets counts.
    """
    found = _header_candidates(table, columns)
    if not found:
        return None
    i, match = max(found, key=lambda c: (len(c[1].mapping), -c[0]))
    return i, match.mapping


def _header_candidates(table: Table, columns: tuple[S.Column, ...]) -> list[tuple[int, HeaderMatch]]:
    out = []
    for i, row in enumerate(table.rows[:HEADER_SCAN_ROWS]):
        match = HeaderMatch(_normalized_row(row), columns)
        # Two known headers make a header row; a single-column sheet needs its required column.
        if len(match.mapping) >= 2 or any(c.required and c.key in match.mapping for c in columns[:1]):
            out.append((i, match))
    return out


def _normalized_row(row: list[Any]) -> list[str]:
    return [S.normalize_header(v) if isinstance(v, str) else "" for v in row]


def map_columns(normalized: list[str], columns: tuple[S.Column, ...]) -> dict[str, int]:
    """Field key → index of the header cell read for it (see :class:`HeaderMatch`)."""
    return HeaderMatch(normalized, columns).mapping


class _Sheet:
    """A located staff sheet: header, column map, and iteration over data rows."""

    def __init__(self, ledger: Ledger, canonical: str, table: Table, header_idx: int, cols: dict[str, int],
                 *, record_keys: tuple[str, ...] | None = None, headings: bool = False):
        self.ledger = ledger
        # A one-sheet ledger's category heading rows (Excel row, category), when asked for (see _heading).
        self.heading_rows: list[tuple[int, str]] | None = [] if headings else None
        self.record_keys = RECORD_KEYS.get(canonical, ()) if record_keys is None else record_keys
        self.canonical = canonical
        self.table = table
        self.header_idx = header_idx
        self.cols = cols
        self.name = table.name
        layout = ledger.layout
        layout.sheet_names[canonical] = table.name
        layout.header_rows[canonical] = table.excel_row(header_idx)
        layout.columns[canonical] = {k: table.letter(j) for k, j in cols.items()}
        layout.last_rows[canonical] = table.excel_row(len(table.rows) - 1) if table.rows else 0
        layout.next_free_column[canonical] = table.first_col + table.width
        header = table.rows[header_idx]
        normalized = _normalized_row(header)
        self.normalized_header = normalized
        for col in S.SHEET_OWNED.get(canonical, ()):
            target = S.normalize_header(col.header)
            if target in normalized:
                layout.columns[canonical]["owned:" + col.key] = table.letter(normalized.index(target))
        owned = {S.normalize_header(c.header) for c in S.SHEET_OWNED.get(canonical, ())}
        prefix = S.normalize_header(S.OWNED_PREFIX)
        # Only cells under the header count (a stray cell right of the table does not make a row a record).
        self.staff_cols = [j for j, h in enumerate(normalized) if h not in owned and not h.startswith(prefix)]
        self._header_probe()

    def loc(self, row: int, key: str | None = None, field: str | None = None) -> Location:
        letter = self.ledger.layout.column(self.canonical, key) if key else None
        return Location(self.ledger.source, self.name, row, letter, field)

    def _is_note(self, row: list[Any], first: int) -> bool:
        if not is_note_text(row[first]):
            return False
        n = len(row)
        for key in self.record_keys:
            j = self.cols.get(key)
            if j is None or j >= n:
                continue
            v = row[j]
            if v is not None and not (isinstance(v, str) and (not v.strip() or is_note_text(v))):
                return False
        return True

    def _is_repeated_header(self, row: list[Any]) -> bool:
        """At least two of the mapped columns, and at least half of them, hold their header text again
        (as normalised). Exact, but cheap for data rows: it stops at the first miss more than the header
        can afford, and rejects a cell without normalising it when that cannot give the header (see
        _header_probe)."""
        slack = self._repeat_slack  # misses a repeated header can have
        if slack < 0:
            return False  # fewer mapped columns than a repeated header needs
        n = len(row)
        for j, wanted, limit, wanted_ascii in self._repeat_probe:
            value = row[j] if j < n else None
            # NFKC leaves ASCII text ASCII: an ASCII cell cannot normalise to a non-ASCII header.
            if (value.__class__ is str and len(value) <= limit and (wanted_ascii or not value.isascii())
                    and _normalized_text(value) == wanted):
                continue
            if not slack:
                return False
            slack -= 1
        return True

    def _repeated_header_rows(self, body: list[list[Any]], shortest: int) -> set[int] | None:
        """The indices into ``body`` of the rows :meth:`_is_repeated_header` accepts, found column by column.

        A repeated header misses at most ``slack`` of the mapped columns, so it matches in at least one of any
        ``slack + 1`` of them: only the rows that match there (by each column's distinct values) are asked. The
        columns looked at are the cheapest: an empty header matches nothing and needs no look, then those with
        the fewest distinct values in the first rows (ids and long texts cost the most). None when a cell cannot
        be hashed (then each row is asked as before).
        """
        slack = self._repeat_slack
        if slack < 0:
            return set()
        sample = body[:64]

        def cost(p: tuple[int, str, int, bool]) -> int:
            if p[2] < 0:
                return -1
            try:
                return len(set(_column(sample, p[0], shortest)))  # shortest of body: no longer than the sample's
            except TypeError:
                return len(sample)

        probe = sorted(self._repeat_probe, key=cost)[: slack + 1]
        candidates: set[int] = set()
        for j, wanted, limit, wanted_ascii in probe:
            if limit < 0:
                continue
            col = _column(body, j, shortest)
            try:
                distinct = set(col)
            except TypeError:
                return None
            hits = {v for v in distinct if v.__class__ is str and len(v) <= limit
                    and (wanted_ascii or not v.isascii()) and _normalized_text(v) == wanted}
            if hits:
                candidates.update(k for k, v in enumerate(col) if v in hits)
        is_header = self._is_repeated_header
        return {k for k in candidates if is_header(body[k])}

    def _header_probe(self) -> None:
        """Per mapped column: (index, normalised header, longest cell worth normalising, header is ASCII)."""
        probe = []
        for j in self.cols.values():
            wanted = self.normalized_header[j] if j < len(self.normalized_header) else ""
            # A header is short: a cell much longer than it is data (normalising every long data cell of
            # a 100k-row sheet would cost seconds). An empty header matches nothing.
            probe.append((j, wanted, 4 * len(wanted) + 8 if wanted else -1, wanted.isascii()))
        self._repeat_probe = probe
        need = max(2, (len(self.cols) + 1) // 2)
        self._repeat_slack = len(probe) - need  # negative: never (fewer mapped columns than needed)

    def _heading(self, row: list[Any], first: int) -> str | None:
        """The category a heading row names (layouts.heading_category), or None. Its first filled cell is not right
        of the table's first field column (a text alone under 存在问题 is a problem, not a heading), and no staff
        cell holds anything but text (a merged range spreads one text over the cells it covers)."""
        if not self.staff_cols or first > min(self.cols.values(), default=-1):
            return None
        texts: list[str] = []
        for j in self.staff_cols:
            v = row[j] if j < len(row) else None
            if v is None:
                continue
            if v.__class__ is not str:
                return None
            text = "".join(v.split())
            if text and text not in texts:
                texts.append(text)
                if len(texts) > 2:
                    return None
        return L.heading_category(texts)

    def _title_rows_are_records(self, kinds: list[tuple[int, str, int]], heading_of: dict[int, str]) -> None:
        """A row that looks like a category heading (一 and a text) but is a problem's title row above its measures
        (layouts.is_title_row, with the record row right below it) is a record: the problem, not a category."""
        if "title" not in self.cols:
            return
        rows, cols = self.table.rows, self.cols

        def shape(row: list[Any]) -> tuple[str, list[str]]:
            return _title_shape(lambda key: row[j] if 0 <= (j := cols.get(key, -1)) < len(row) else None)

        for n, (i, kind, first) in enumerate(kinds):
            if kind == "heading" and n + 1 < len(kinds) and kinds[n + 1][1] == "data":
                if L.is_title_row(*shape(rows[i]), *shape(rows[kinds[n + 1][0]])):
                    kinds[n] = (i, "data", first)
                    del heading_of[i]

    def _column_numbers(self, row: list[Any]) -> bool:
        """The row numbers the columns (1 2 3 … left to right, at least three, each staff cell filled one more than
        the one before; 栏目序号 under the header of many official forms): not a record."""
        want = 1
        for j in self.staff_cols:
            v = row[j] if j < len(row) else None
            if v is None or (v.__class__ is str and not v.strip()):
                continue
            if v.__class__ is str and v.strip().isascii() and v.strip().isdigit():
                v = int(v.strip())
            if v.__class__ is not int or v != want:
                return False
            want += 1
        return want > 3

    def _single_text(self, row: list[Any]) -> bool:
        values = {row[j] for j in self.staff_cols if j < len(row) and row[j] is not None
                  and not (isinstance(row[j], str) and not row[j].strip())}
        return len(values) == 1 and isinstance(next(iter(values)), str)

    def rows(self, issues: list[Issue]) -> Iterator[tuple[int, dict[str, Any]]]:
        """(Excel row, {key: raw value}) for every data row that is a record.

        Blank rows are skipped without a word. Table notes, their continuation lines and repeated header
        rows are skipped with a warning each (see docs/rules/intake.md).
        """
        keys = tuple(self.cols)
        for excel_row, vals in self.values(issues, keys):
            yield excel_row, dict(zip(keys, vals))

    def values(self, issues: list[Issue], keys: tuple[str, ...]) -> Iterator[tuple[int, tuple[Any, ...]]]:
        """As :meth:`rows`, each record as a tuple of the raw values of ``keys`` (None where a column is absent).

        The same rows in the same order, with the same warnings; cheaper than a dict per row.
        """
        indices = [self.cols.get(k, -1) for k in keys]
        widest = max(indices, default=-1)
        pad = -1 in indices  # an absent column reads the None appended to the row
        # itemgetter returns a bare value for one index (and cannot be made for none): always a tuple here.
        pick = operator.itemgetter(*indices) if len(indices) > 1 else lambda row: tuple(row[j] for j in indices)
        for excel_row, row in self._records(issues):
            if len(row) > widest:  # every mapped cell is there (rows of one table are equally wide)
                yield excel_row, pick(row + _NONE if pad else row)
            else:
                yield excel_row, tuple(row[j] if 0 <= j < len(row) else None for j in indices)

    def columns(self, issues: list[Issue], keys: tuple[str, ...]) -> tuple[list[int], list[list[Any]], list[int]]:
        """Every record (as :meth:`rows`) column by column: the Excel rows, the raw values of each of ``keys``
        (None where a column is absent or a row is too short), and for each record how many warnings of
        skipped rows had been added to ``issues`` when it came (they are added in sheet order)."""
        start = len(issues)
        excel_rows: list[int] = []
        rows: list[list[Any]] = []
        marks: list[int] = []
        for excel_row, row in self._records(issues):
            excel_rows.append(excel_row)
            rows.append(row)
            marks.append(len(issues) - start)
        shortest = min(map(len, rows), default=0)
        columns = []
        for key in keys:
            j = self.cols.get(key, -1)
            columns.append([None] * len(rows) if j < 0 else _column(rows, j, shortest))
        return excel_rows, columns, marks

    def _records(self, issues: list[Issue]) -> Iterator[tuple[int, list[Any]]]:
        """(Excel row, the row's cells) of every record row; the warnings of the rows skipped go to ``issues``."""
        table = self.table
        kinds: list[tuple[int, str, int]] = []  # (index, kind, first filled index)
        staff_cols = self.staff_cols
        is_total, is_note, is_header = L.is_total_text, self._is_note, self._is_repeated_header
        headings, heading_of = self.heading_rows, {}
        rows = table.rows
        lo = self.header_idx + 1
        body = rows[lo:]
        if body and staff_cols:
            shortest = min(map(len, body))
            j0, later_cols = staff_cols[0], staff_cols[1:]
            col0 = _column(body, j0, shortest)
            # Rows that can be a repeated header, found column by column (None: ask row by row).
            headers = self._repeated_header_rows(body, shortest)
            append = kinds.append
            for k, v in enumerate(col0):
                if v is not None and (v.__class__ is not str or v.strip()):
                    first = j0  # the first filled cell (owned 【自动】 cells don't count)
                else:
                    row = body[k]
                    n = len(row)
                    first = None
                    for j in later_cols:
                        if j < n:
                            v = row[j]
                            if v is not None and (v.__class__ is not str or v.strip()):
                                first = j
                                break
                    if first is None:
                        continue
                if not kinds and self._column_numbers(body[k]):  # only the first row below the header
                    append((lo + k, "numbers", first))
                # A total or a note starts with Chinese text: an ASCII or non-text first cell is neither.
                elif v.__class__ is str and not v.isascii() and is_total(v):
                    append((lo + k, "total", first))
                elif v.__class__ is str and not v.isascii() and is_note(body[k], first):
                    append((lo + k, "note", first))
                # Every heading's first text holds a Chinese character (an ordinal, or 方面; NFKC keeps ASCII ASCII):
                # an ASCII first cell (a problem id such as P01) is never asked (layouts.heading_category).
                elif (headings is not None and v.__class__ is str and not v.isascii()
                      and (category := self._heading(body[k], first))):
                    append((lo + k, "heading", first))
                    heading_of[lo + k] = category
                elif (k in headers) if headers is not None else is_header(body[k]):
                    append((lo + k, "header", first))
                else:
                    append((lo + k, "data", first))
            if heading_of:
                self._title_rows_are_records(kinds, heading_of)
        # Lines below a note that hold one text only, up to the end of the sheet, continue the note.
        pending: list[int] = []
        for n in range(len(kinds) - 1, -1, -1):
            i, kind, first = kinds[n]
            if kind == "note":
                for m in pending:
                    kinds[m] = (kinds[m][0], "continuation", kinds[m][2])
                pending = []
            elif kind == "data" and self._single_text(table.rows[i]):
                pending.append(n)
            elif kind in ("data", "total"):
                break
        word = RECORD_WORDS.get(self.canonical, "记录")
        skipped = self.ledger.layout.skipped_rows.setdefault(self.canonical, [])
        note_text = ""
        first_row = table.first_row  # table.excel_row(i), without a call per row
        for i, kind, first in kinds:
            if kind == "data":
                yield first_row + i, rows[i]
                continue
            row = rows[i]
            excel_row = first_row + i
            skipped.append(excel_row)
            where = Location(self.ledger.source, self.name, excel_row, table.letter(first))
            if kind == "total":
                issues.append(Issue("total-row", f"此行“{_snippet(row[first])}”是合计行，不作为{word}读取，不计入统计"
                                    "（统计由工具计算）", where, WARNING))
            elif kind == "note":
                note_text = _snippet(row[first])
                message = (f"此行“{note_text}”是表格注释，不作为{word}读取，不计入统计。"
                           f"如果这其实是一项{word}，请把注释文字移出本行并填写编号")
                issues.append(Issue("table-note", message, where, WARNING))
            elif kind == "numbers":
                issues.append(Issue("column-numbers", f"此行（1、2、3…）是表头下的栏目序号行，不作为{word}读取，不计入统计",
                                    where, WARNING))
            elif kind == "heading":
                category = heading_of[i]
                self.heading_rows.append((excel_row, category))
                # 问题清单 (three lists): 问题方面; a one-sheet ledger: 问题类别.
                what, column = ("问题", "问题方面") if word == "问题" else (f"问题或{word}", "问题类别")
                issues.append(Issue("category-heading", f"此行“{_snippet(category, 24)}”是类别标题行，不作为{what}读取；"
                                    f"其下的问题（到下一个类别标题行为止）归入类别“{_snippet(category, 24)}”"
                                    f"（“{column}”列有填写的，以该列为准）", where, WARNING))
            elif kind == "continuation":
                message = (f"此行“{_snippet(row[first])}”位于表格注释“{note_text}”之后，视为注释的续行，"
                           f"不作为{word}读取，不计入统计")
                issues.append(Issue("table-note", message, where, WARNING))
            else:
                issues.append(Issue("repeated-header", f"此行与第{self.ledger.layout.header_rows[self.canonical]}行表头"
                                    "相同（重复的表头行），已跳过，不计入统计；如不需要可删除此行", where, WARNING))


def _snippet(value: Any, limit: int = 16) -> str:
    text = " ".join(cell_text(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scan_errors(ledger: Ledger, table: Table) -> Iterator[Issue]:
    if table.has_errors is False:  # the reader placed every error value and placed none
        return
    for i, row in enumerate(table.rows):
        if CellError not in map(type, row):  # C-speed scan: error cells are rare
            continue
        for j, v in enumerate(row):
            if isinstance(v, CellError):
                yield Issue(
                    "excel-error",
                    f"单元格是 Excel 错误值 {v.code}（公式出错），请修正公式或改为直接填写内容",
                    Location(ledger.source, table.name, table.excel_row(i), table.letter(j)),
                )


# Sheets the toolkit writes itself: never proposed as the staff sheet someone renamed.
_OWNED_SHEETS = {S.SHEET_CHECK, S.SHEET_STATS, S.SHEET_CHANGELOG, S.SHEET_MONTHLY, S.SHEET_LISTS}


def missing_sheet_message(tables: dict[str, Table], canonical: str, fix: str) -> str:
    """找不到工作表…: the names accepted for it, the sheets the workbook has, and a likely rename."""
    accepted = S.SHEET_SYNONYMS.get(canonical, (canonical,))
    others = "、".join(f"“{n}”" for n in accepted if n != canonical)
    # Sheets the toolkit writes are left out: they mean nothing here, and a message that changed once the
    # first run created 统计 would make a second run rewrite 校验结果.
    found = [n for n in tables if n not in _OWNED_SHEETS]
    claimed = {find_sheet(tables, c) for c in S.SHEET_SYNONYMS if c != canonical}
    spare = [n for n in found if n not in claimed]
    near = difflib.get_close_matches(canonical, spare, n=1, cutoff=0.4) or \
        [n for n in spare if any(ch in n for ch in canonical[:2])][:1]
    message = f"找不到工作表“{canonical}”"
    message += f"（也可命名为{others}）" if others else ""
    message += "。本工作簿中的工作表（不含工具生成的）有：" + ("、".join(f"“{n}”" for n in found) if found else "（无）")
    if near:
        message += f"；如“{near[0]}”就是{canonical}，请把它改名为“{canonical}”"
    return message + f"。{fix}"


def _open_sheet(ledger: Ledger, tables: dict[str, Table], canonical: str, issues: list[Issue], *, required: bool,
                headings: bool = False):
    name = find_sheet(tables, canonical)
    columns = S.SHEET_COLUMNS[canonical]
    if name is None:
        if required:
            ledger.layout.missing_sheets.append(canonical)
            issues.append(
                Issue(
                    "missing-sheet",
                    missing_sheet_message(tables, canonical, "否则请按模板添加该工作表（可用 zhenggai init 生成空白台账参照）"),
                    Location(ledger.source, canonical),
                )
            )
        return None
    table = tables[name]
    candidates = _header_candidates(table, columns)
    if not candidates:
        ledger.layout.missing_columns[canonical] = [c.key for c in columns if c.required]
        issues.append(
            Issue(
                "missing-header",
                f"工作表“{name}”前{HEADER_SCAN_ROWS}行中找不到表头（应包含 "
                + "、".join(c.header for c in columns if c.required)
                + " 等列名），请补上表头行",
                Location(ledger.source, name, table.first_row, table.letter(0)),
            )
        )
        return None
    header_idx, match = max(candidates, key=lambda c: (len(c[1].mapping), -c[0]))
    cols = match.mapping
    sheet = _Sheet(ledger, canonical, table, header_idx, cols, headings=headings)
    header_row = table.excel_row(header_idx)
    above = [i for i, _ in candidates if i < header_idx]
    if above:
        rows = "、".join(f"第{table.excel_row(i)}行" for i in above)
        issues.append(Issue(
            "header-ambiguous",
            f"{rows}也含有列名，本次以识别出列名更多的第{header_row}行为表头，其上各行不读取；"
            "如表头不对，请删除多余的表头行",
            Location(ledger.source, name, header_row, table.letter(cols[min(cols, key=cols.get)])),
            WARNING,
        ))
    by_key = {c.key: c for c in columns}
    header_cells = table.rows[header_idx]
    for key, others in match.ignored.items():
        col = by_key[key]
        used = cols[key]
        used_exact = next(e for j, e in match.cells[key] if j == used)
        for j in others:
            exact = next(e for jj, e in match.cells[key] if jj == j)
            text_used, text_other = cell_text(header_cells[used]), cell_text(header_cells[j])
            lu, lo = table.letter(used), table.letter(j)
            where = Location(ledger.source, name, header_row, lo, col.header)
            if used_exact and not exact:
                issues.append(Issue(
                    "ignored-synonym-column",
                    f"{lo}列“{text_other}”也可表示“{col.header}”，但本表已有“{text_used}”列（{lu}列），"
                    f"“{col.header}”按 {lu}列 读取，{lo}列 的内容未被读取。若 {lo}列 才是要用的，请删除 {lu}列 "
                    f"或改其表头；若 {lo}列 是别的内容，可把它的表头改为其他名称以消除本提示",
                    where, WARNING,
                ))
            else:
                both = (f"表头“{text_used}”出现了两次（{lu}列和 {lo}列）" if header_key(text_used) == header_key(text_other)
                        else f"{lu}列“{text_used}”和 {lo}列“{text_other}”都表示“{col.header}”")
                issues.append(Issue(
                    "duplicate-column",
                    f"{both}，本次按左边的 {lu}列 读取，{lo}列 的内容未被读取。"
                    "请删除多余的一列，或把其中一列的表头改为其他名称",
                    where,
                ))
    missing = [c for c in columns if c.required and c.key not in cols]
    if missing:
        ledger.layout.missing_columns[canonical] = [c.key for c in missing]
    claimed = set(cols.values()) | {j for js in match.ignored.values() for j in js}
    owned = {S.normalize_header(c.header) for c in S.SHEET_OWNED.get(canonical, ())}
    spare = {cell_text(v): j for j, v in enumerate(header_cells)
             if j not in claimed and isinstance(v, str) and v.strip() and S.normalize_header(v) not in owned}
    for col in missing:
        message = f"工作表“{name}”第{header_row}行（表头）缺少“{col.header}”列"
        message += "（也可用：" + "、".join(col.synonyms) + "）" if col.synonyms else ""
        near = difflib.get_close_matches(col.header, list(spare), n=1, cutoff=0.5)
        if near:
            message += f"。表头中的“{near[0]}”（{table.letter(spare[near[0]])}列）如果就是该列，请把表头改为“{col.header}”"
        else:
            message += "，请在表头行添加该列"
        message += "；在此之前，依赖该列的逐行检查不进行"
        issues.append(Issue("missing-column", message, Location(ledger.source, name, header_row, None, col.header)))
    return sheet


def _categories_from_headings(ledger: Ledger, sheet: _Sheet, issues: list[Issue]) -> None:
    """问题清单 with category heading rows (docs/rules/adopt.md): each problem whose 问题方面 is blank takes the category
    of the heading row above it; with heading rows, a missing 问题方面 column is not reported."""
    headings = sheet.heading_rows or []
    h, category = 0, ""
    for problem in ledger.problems:
        while h < len(headings) and headings[h][0] < problem.row:
            category = headings[h][1]
            h += 1
        if not problem.category:
            problem.category = category
    missing = ledger.layout.missing_columns.get(S.SHEET_PROBLEMS, [])
    if "category" in missing:
        missing.remove("category")
        if not missing:
            del ledger.layout.missing_columns[S.SHEET_PROBLEMS]
        header = next(c.header for c in S.PROBLEM_COLUMNS if c.key == "category")
        issues[:] = [i for i in issues if not (i.code == "missing-column" and i.location.sheet == sheet.name
                                               and i.location.field == header)]


def _parse_date_field(sheet: _Sheet, row: int, key: str, label: str, raw: Any, issues: list[Issue], *,
                      reference: date | None, allow_words: bool = False):
    parsed = parse_staff_date(raw, reference=reference, allow_words=allow_words)
    if parsed.kind == "error" or parsed.note:
        _date_issue(sheet, row, key, label, parsed, issues)
    return parsed


def _date_issue(sheet: _Sheet, row: int, key: str, label: str, parsed: Any, issues: list[Issue]) -> None:
    """The issue of a date cell that could not be read, or was read by an assumption."""
    if parsed.kind == "error":
        issues.append(Issue("bad-date", f"{label}：{parsed.error}", sheet.loc(row, key, label)))
    elif parsed.note:  # what was assumed (a year not written, "6月前"): say so at the cell
        issues.append(Issue("date-assumed", f"{label}：{parsed.note}", sheet.loc(row, key, label), WARNING))


def load_settings(ledger: Ledger, tables: dict[str, Table], issues: list[Issue], *,
                  one_sheet: OneSheet | None = None) -> None:
    """基本信息: a label in one cell, its value in the cell to its right.

    A one-sheet ledger (``one_sheet``) may have no 基本信息: the defaults hold, what its title block says
    is taken (单位名称, 巡察轮次 …), and each required setting still missing is a warning saying what it is
    needed for (see docs/rules/adopt.md).
    """
    name = find_sheet(tables, S.SHEET_SETTINGS)
    if name is None and one_sheet is not None:
        _settings_from_title(ledger, one_sheet)
        for setting in S.SETTINGS:
            if setting.required and not getattr(ledger.settings, setting.key):
                issues.append(Issue(
                    "setting-missing",
                    f"台账没有“基本信息”工作表，“{setting.label}”暂为空：{setting.purpose or '通报'}需要它。"
                    "请运行 zhenggai adopt 台账 --yes 添加“基本信息”工作表后填写"
                    + (f"（{setting.help}）" if setting.help else ""),
                    Location(ledger.source, S.SHEET_SETTINGS, None, None, setting.label),
                    WARNING,
                ))
        return
    if name is None:
        issues.append(
            Issue(
                "missing-sheet",
                missing_sheet_message(tables, S.SHEET_SETTINGS,
                                      "否则请添加该工作表（两列：项目、内容），填写单位名称、巡察轮次、反馈日期等"),
                Location(ledger.source, S.SHEET_SETTINGS),
            )
        )
        return
    table = tables[name]
    ledger.layout.sheet_names[S.SHEET_SETTINGS] = name
    by_name = {S.normalize_header(n): s for s in S.SETTINGS for n in s.names()}
    found: dict[str, tuple[Any, int, str]] = {}
    for i, row in enumerate(table.rows):
        for j, v in enumerate(row):
            if not isinstance(v, str) or not v.strip():
                continue
            setting = by_name.get(S.normalize_header(v))
            if setting is None:
                continue
            # The value sits in the cell right of the label (past a label merged over several cells);
            # further right is free for notes.
            vj = j + 1
            while vj < len(row) and row[vj] == v:
                vj += 1
            value = row[vj] if vj < len(row) else None
            if setting.key not in found:
                found[setting.key] = (value, table.excel_row(i), table.letter(vj))
            break
    st = ledger.settings
    # An absent setting is shown at the first row below the sheet's contents: where it is to be added.
    add_row = table.excel_row(len(table.rows)) if table.rows else 1
    for setting in S.SETTINGS:
        if setting.key not in found:
            if setting.required and one_sheet is not None:
                issues.append(Issue(
                    "setting-missing",
                    f"基本信息缺少“{setting.label}”：{setting.purpose or '通报'}需要它。请新增一行：左格写“{setting.label}”，"
                    "右格填写内容" + (f"（{setting.help}）" if setting.help else ""),
                    Location(ledger.source, name, add_row, table.letter(0), setting.label),
                    WARNING,
                ))
            elif setting.required:
                issues.append(
                    Issue(
                        "setting-missing",
                        f"基本信息缺少“{setting.label}”，请新增一行：左格写“{setting.label}”，右格填写内容"
                        + (f"（{setting.help}）" if setting.help else ""),
                        Location(ledger.source, name, add_row, table.letter(0), setting.label),
                    )
                )
            continue
        raw, row, col = found[setting.key]
        st.cells[setting.key] = (row, col)
        loc = Location(ledger.source, name, row, col, setting.label)
        blank = raw is None or (isinstance(raw, str) and not raw.strip())
        if blank:
            if setting.required and one_sheet is not None:
                issues.append(Issue("setting-missing", f"基本信息“{setting.label}”未填写：{setting.purpose or '通报'}"
                                    "需要它，请填写" + (f"（{setting.help}）" if setting.help else ""), loc, WARNING))
            elif setting.required:
                issues.append(Issue("setting-missing", f"基本信息“{setting.label}”未填写，请填写"
                                    + (f"（{setting.help}）" if setting.help else ""), loc))
            continue
        if isinstance(raw, CellError):
            continue  # reported by the error scan
        if setting.kind == S.DATE:
            parsed = parse_staff_date(raw)
            if parsed.kind != "date":
                issues.append(Issue("setting-bad", f"基本信息“{setting.label}”：{parsed.error or '应为日期'}", loc))
                continue
            setattr(st, setting.key, parsed.on)
        elif setting.kind == "int":
            text = cell_id(raw).removesuffix("天").removesuffix("个工作日").removesuffix("日")
            try:
                number = int(float(text))
                if number < 0:
                    raise ValueError
            except ValueError:
                issues.append(Issue("setting-bad", f"基本信息“{setting.label}”应为不小于0的整数，现为“{raw}”，请改为如 7", loc))
                continue
            setattr(st, setting.key, number)
        elif setting.kind == "bool":
            text = cell_id(raw).lower() if not isinstance(raw, bool) else ("是" if raw else "否")
            if text in TRUE_WORDS:
                setattr(st, setting.key, True)
            elif text in FALSE_WORDS:
                setattr(st, setting.key, False)
            else:
                issues.append(Issue("setting-bad", f"基本信息“{setting.label}”应填“是”或“否”，现为“{raw}”", loc))
        elif setting.kind == "choice":
            text = cell_text(raw)
            if text not in setting.choices:
                issues.append(
                    Issue("setting-bad", f"基本信息“{setting.label}”应为以下之一：{'、'.join(setting.choices)}，现为“{text}”", loc)
                )
                continue
            setattr(st, setting.key, text)
        else:
            setattr(st, setting.key, cell_text(raw))
    if st.notice_levels not in (1, 2, 3) and "notice_levels" in found:
        _, row, col = found["notice_levels"]
        issues.append(Issue("setting-bad", "基本信息“通报编号层级”只能是 1、2 或 3",
                            Location(ledger.source, name, row, col, "通报编号层级")))
        st.notice_levels = 2


def normalize_state(raw: Any) -> str:
    """Staff's completion word → one of the four states, or "" when not recognised."""
    return _state_of(cell_id(raw))


def _state_of(text: str) -> str:
    """:func:`normalize_state` of a cell already read as an id (:func:`cell_id`)."""
    if text in S.STATES:
        return text
    return S.STATE_SYNONYMS.get(text, "")


TASK_FIELDS = ("measure", "progress", "leader", "unit", "person", "evidence", "signed_off_by", "remark", "state",
               "deadline", "extended_deadline", "completed_on", "signed_off_on", "id", "problem_id")
"""The raw values :func:`read_tasks` takes, in this order (``_Sheet.values(issues, TASK_FIELDS)``)."""

PROBLEM_FIELDS = ("id", "category", "title", "finding", "leader", "department")


def task_values(v: dict[str, Any]) -> tuple[Any, ...]:
    """A row read as a dict (:meth:`_Sheet.rows`) as the tuple :func:`read_tasks` takes."""
    return tuple(v.get(k) for k in TASK_FIELDS)


_OTHER_DATES = (("extended_deadline", "延期时限", 10), ("completed_on", "完成日期", 11), ("signed_off_on", "销号日期", 12))


def read_tasks(sheet: _Sheet, rows: Sequence[int], columns: Sequence[Sequence[Any]], issues: list[Issue],
               reference: date | None, task_ids: Sequence[str] | None = None,
               problem_ids: Sequence[str] | None = None, ends: list[int] | None = None) -> list[Task]:
    """Task rows (any layout), given as their Excel rows and the raw values of :data:`TASK_FIELDS` column by
    column: free text trimmed, state normalised, dates parsed with located issues (row by row, deadline
    first, in sheet order).

    ``task_ids`` / ``problem_ids`` (one per record) replace the 任务编号 / 问题编号 cells (a one-sheet ledger
    numbers them itself). The text columns are cleaned column by column (:func:`cell_texts`). ``ends``, when
    given, receives ``len(issues)`` after each record (see :func:`_read_task_sheet`).
    """
    if not rows:
        return []
    measure, progress, leader, unit, person, evidence, signer, remark, state_text = map(cell_texts, columns[:9])
    states = list(map(_state_of, cell_ids(columns[8])))
    ids = cell_ids(columns[13]) if task_ids is None else task_ids
    pids = cell_ids(columns[14]) if problem_ids is None else problem_ids
    deadline_raws = columns[9]
    others = [(key, label, columns[j]) for key, label, j in _OTHER_DATES]
    parsed_of: dict[tuple[type, Any], Any] = {}  # one parse per distinct value of these three columns
    deadlines: dict[tuple[type, Any], tuple[Any, Deadline | None]] = {}  # one parse and one Deadline per value
    read_deadline = functools.partial(_read_deadline, reference=reference)
    parse_date = functools.partial(parse_staff_date, reference=reference)
    tasks = []
    for k, row in enumerate(rows):
        parsed, deadline = _once_per_value(deadlines, deadline_raws[k], read_deadline)
        if parsed.kind == "error" or parsed.note:
            _date_issue(sheet, row, "deadline", "完成时限", parsed, issues)
        task = Task(ids[k], pids[k], measure[k], progress[k], leader[k], unit[k], person[k], deadline, None,
                    states[k], state_text[k], None, evidence[k], None, signer[k], remark[k], row)
        for key, label, column in others:
            value = column[k]
            if value is None:  # the usual case for these three: nothing to parse, nothing to say
                continue
            parsed = _once_per_value(parsed_of, value, parse_date)
            if parsed.kind == "error" or parsed.note:
                _date_issue(sheet, row, key, label, parsed, issues)
            if parsed.kind == "date":
                setattr(task, key, parsed.on)
        tasks.append(task)
        if ends is not None:
            ends.append(len(issues))
    return tasks


def _read_task_sheet(sheet: _Sheet, issues: list[Issue], reference: date | None) -> list[Task]:
    """Every task record of 任务清单, with the issues in sheet order: a skipped row's warning (合计, 注：…)
    between the date issues of the rows above and below it, as when each row was read as it came."""
    start = len(issues)
    rows, columns, marks = sheet.columns(issues, TASK_FIELDS)
    skipped = issues[start:]
    del issues[start:]
    own: list[Issue] = []
    ends: list[int] = []
    tasks = read_tasks(sheet, rows, columns, own, reference, ends=ends)
    taken_skipped = taken_own = 0
    for mark, end in zip(marks, ends, strict=True):
        issues.extend(skipped[taken_skipped:mark])
        issues.extend(own[taken_own:end])
        taken_skipped, taken_own = mark, end
    issues.extend(skipped[taken_skipped:])
    return tasks


def _once_per_value(cache: dict[tuple[type, Any], Any], value: Any, compute: Callable[[Any], Any]) -> Any:
    """``compute(value)``, computed once per distinct value (keyed by type and value, so that True, 1 and 1.0 stay
    apart); an unhashable value is computed on its own."""
    try:
        return cache[value.__class__, value]
    except KeyError:
        result = cache[value.__class__, value] = compute(value)
        return result
    except TypeError:
        return compute(value)


def _read_deadline(raw: Any, reference: date | None) -> tuple[Any, Deadline | None]:
    """完成时限 as parsed, and the task's Deadline (None when empty)."""
    parsed = parse_staff_date(raw, reference=reference, allow_words=True)
    kind = parsed.kind
    if kind in ("date", "immediate"):
        return parsed, Deadline(parsed.on, "date", cell_text(raw))
    if kind == "long_term":
        return parsed, Deadline(None, "long_term", cell_text(raw))
    if kind == "error":
        return parsed, Deadline(None, "invalid", cell_text(raw))
    return parsed, None


def load_ledger(tables: dict[str, Table], *, source: str = "") -> tuple[Ledger, list[Issue]]:
    """Build the ledger model from sheet tables; parsing problems come back as located issues.

    The layout is recognised first (:func:`detect_one_sheet`): a one-sheet ledger is read by
    :func:`load_one_sheet`, the three lists as they are.
    """
    ledger = Ledger(source=source)
    head: list[Issue] = []
    one = detect_one_sheet(ledger, tables, head)
    issues: list[Issue] = []
    load_settings(ledger, tables, issues, one_sheet=one)
    reference = year_reference(ledger.settings)  # one rule for year-less dates (also county returns)

    if one is not None:
        load_one_sheet(ledger, one, issues, reference)
    if one is None and (sheet := _open_sheet(ledger, tables, S.SHEET_PROBLEMS, issues, required=True, headings=True)):
        rows, (pid, *texts), _ = sheet.columns(issues, PROBLEM_FIELDS)
        ledger.problems.extend(Problem(*fields) for fields in zip(cell_ids(pid), *map(cell_texts, texts), rows))
        if sheet.heading_rows:
            _categories_from_headings(ledger, sheet, issues)
    if one is None and (sheet := _open_sheet(ledger, tables, S.SHEET_TASKS, issues, required=True)):
        ledger.tasks.extend(_read_task_sheet(sheet, issues, reference))
    if sheet := _open_sheet(ledger, tables, S.SHEET_PEOPLE, issues, required=False):
        for row, v in sheet.rows(issues):
            ledger.people.append(Person(cell_text(v.get("name")), cell_text(v.get("post")),
                                        cell_text(v.get("unit")), cell_text(v.get("phone")), row))
    if sheet := _open_sheet(ledger, tables, S.SHEET_COUNTIES, issues, required=False):
        for row, v in sheet.rows(issues):
            ledger.counties.append(County(cell_text(v.get("name")), cell_text(v.get("contact")),
                                          cell_text(v.get("phone")), row))
    if sheet := _open_sheet(ledger, tables, S.SHEET_NOTICE_TEXT, issues, required=False):
        for row, v in sheet.rows(issues):
            section = cell_id(v.get("section")).removesuffix("、").removeprefix("第")
            order_raw = cell_id(v.get("order"))
            try:
                order = int(float(order_raw)) if order_raw else len(ledger.notice_text)
            except ValueError:
                issues.append(Issue("bad-number", f"顺序应为整数，现为“{order_raw}”", sheet.loc(row, "order", "顺序")))
                order = len(ledger.notice_text)
            if section not in ("一", "三"):
                issues.append(Issue("bad-section", f"部分只能填“一”（主体责任情况）或“三”（下一步工作安排），现为“{section}”",
                                    sheet.loc(row, "section", "部分")))
                continue
            ledger.notice_text.append(NoticeParagraph(section, order, cell_text(v.get("lead")),
                                                      cell_text(v.get("text")), row))
    load_public_flags(ledger, tables, issues)
    load_full_names(ledger, tables)
    load_outcomes(ledger, tables, issues)
    # Error cells are listed right after the layout's own issues, sheet by sheet in this order. They are
    # looked for last so that each sheet is first needed where it is read: a reader that is still parsing the
    # task sheet (toolkit.excel.read.PipelinedTables) gives the other sheets meanwhile.
    for canonical in (S.SHEET_SETTINGS, S.SHEET_PROBLEMS, S.SHEET_TASKS, S.SHEET_PEOPLE, S.SHEET_COUNTIES,
                      S.SHEET_NOTICE_TEXT):
        name = find_sheet(tables, canonical)
        if name is not None and (one is None or name != one.table.name):
            head.extend(_scan_errors(ledger, tables[name]))
    if one is not None:
        head.extend(_scan_errors(ledger, one.table))
    head.extend(issues)
    return ledger, head


# --- one-sheet ledgers (docs/rules/adopt.md) ---------------------------------------------------


@dataclass
class OneSheet:
    """A one-sheet ledger as recognised: its table (merged values spread), header row index and columns."""

    table: Table
    header_idx: int
    cols: dict[str, int]
    how: str  # "detected" | "mapping"
    mapping_sheet: str = ""
    upper_header_idx: int | None = None  # a two-row header: the upper row's index (header_idx is the lower row)


def find_mapping_sheet(tables: dict[str, Table]) -> str | None:
    wanted = {S.normalize_header(n) for n in L.MAPPING_SHEET_SYNONYMS}
    return next((n for n in tables if S.normalize_header(n) in wanted), None)


def _read_mapping(ledger: Ledger, tables: dict[str, Table], issues: list[Issue]) -> dict[str, Any] | None:
    """The mapping sheet (台账映射): ``字段 | 列`` rows → {"sheet", "header_row", "fields": {key: (text, row)}}."""
    name = find_mapping_sheet(tables)
    if name is None:
        return None
    table = tables[name]
    by_label = {S.normalize_header(n): c.key for c in L.ONE_SHEET_COLUMNS for n in c.names()}
    out: dict[str, Any] = {"sheet": None, "header_row": None, "fields": {}, "name": name}
    for i, row in enumerate(table.rows):
        if len(row) < 2 or not isinstance(row[0], str):
            continue
        label = S.normalize_header(row[0])
        if label in (S.normalize_header(L.MAPPING_HEADER[0]), ""):
            continue
        value = cell_text(row[1])
        excel_row = table.excel_row(i)
        where = Location(ledger.source, name, excel_row, table.letter(1), cell_text(row[0]))
        if label == L.MAPPING_SHEET_KEY:
            out["sheet"] = value or None
        elif label == L.MAPPING_HEADER_ROW_KEY:
            try:
                out["header_row"] = int(cell_id(row[1])) if value else None
            except ValueError:
                issues.append(Issue("mapping-bad", f"台账映射“表头行”应为行号（如 3），现为“{value}”", where))
        elif label in by_label:
            out["fields"][by_label[label]] = (value, excel_row)
        else:
            known = "、".join(c.header for c in L.ONE_SHEET_COLUMNS)
            issues.append(Issue("mapping-bad", f"台账映射中的字段“{cell_text(row[0])}”无法识别，可用的字段有：{known}"
                                "；请改正或删除此行", Location(ledger.source, name, excel_row, table.letter(0)), WARNING))
    return out


_LETTERS = re.compile(r"^[A-Za-z]{1,3}$")


def _apply_mapping(ledger: Ledger, mapping: dict[str, Any], table: Table, header_idx: int,
                   cols: dict[str, int], issues: list[Issue]) -> dict[str, int]:
    """Detected columns overridden by the mapping sheet's rows (a letter, a header text, or 无)."""
    cols = dict(cols)
    header = _normalized_row(table.rows[header_idx]) if table.rows else []
    for key, (value, excel_row) in mapping["fields"].items():
        where = Location(ledger.source, mapping["name"], excel_row, "B", L.ONE_SHEET_BY_KEY[key].header)
        if not value:
            continue
        if value in L.MAPPING_NONE:
            cols.pop(key, None)
            continue
        if _LETTERS.match(value):
            j = S.column_index(value) - table.first_col
        else:
            target = S.normalize_header(value)
            j = next((k for k, h in enumerate(header) if h == target or header_key(h) == target), -1)
        if j < 0:
            issues.append(Issue("mapping-bad", f"台账映射：“{L.ONE_SHEET_BY_KEY[key].header}”对应的列“{value}”在工作表"
                                f"“{table.name}”第{table.excel_row(header_idx)}行（表头）中找不到；请填写列号（如 C）"
                                "或与表头一致的列名", where))
            continue
        cols[key] = j
    return cols


def _spread_merged(table: Table) -> Table:
    """A copy of ``table`` with each merged range's top-left value in every covered cell (what Excel shows)."""
    if not table.merged:
        return table
    rows = [list(r) for r in table.rows]
    for r1, c1, r2, c2 in table.merged:
        i1, j1 = r1 - table.first_row, c1 - table.first_col
        if not (0 <= i1 < len(rows) and 0 <= j1 < len(rows[i1])) or rows[i1][j1] is None:
            continue
        value = rows[i1][j1]
        for i in range(i1, min(r2 - table.first_row, len(rows) - 1) + 1):
            row = rows[i]
            for j in range(max(j1, 0), min(c2 - table.first_col, len(row) - 1) + 1):
                if row[j] is None:
                    row[j] = value
    return Table(table.name, rows, table.first_row, table.first_col, list(table.merged))


def _is_problem_link_header(table: Table, header_idx: int) -> bool:
    return any(h in L.PROBLEM_LINK_HEADERS or header_key(h) in L.PROBLEM_LINK_HEADERS
               for h in _normalized_row(table.rows[header_idx]))


def detect_one_sheet(ledger: Ledger, tables: dict[str, Table], issues: list[Issue]) -> OneSheet | None:
    """The one-sheet ledger in ``tables``, or None when the workbook is in the three-list layout.

    Without a mapping sheet: only when there is no 问题清单; the sheets are tried in order (a sheet named
    like 任务清单/整改台账 first), and the first whose header row names 存在问题 and 整改措施 (or their
    synonyms) and no 问题编号 is taken. A mapping sheet (台账映射) names the sheet, header row and columns.
    """
    mapping = _read_mapping(ledger, tables, issues)
    if mapping is None and find_sheet(tables, S.SHEET_PROBLEMS) is not None:
        return None
    side = {find_sheet(tables, c) for c in L.SIDE_SHEETS}
    wanted = {S.normalize_header(n) for n in S.SHEET_SYNONYMS[S.SHEET_TASKS]}
    names = [n for n in tables if n not in side and n not in L.NOT_LEDGER_SHEETS]
    names.sort(key=lambda n: S.normalize_header(n) not in wanted)
    if mapping is not None and mapping["sheet"]:
        if mapping["sheet"] not in tables:
            issues.append(Issue("mapping-bad", f"台账映射中的工作表“{mapping['sheet']}”不存在，本工作簿中的工作表有："
                                + "、".join(f"“{n}”" for n in tables) + "；请改为台账所在工作表的名称",
                                Location(ledger.source, mapping["name"], None, "B", L.MAPPING_SHEET_KEY)))
            return None
        names = [mapping["sheet"]]
    for name in names:
        table = tables[name]
        if not table.rows:
            continue
        upper = None
        if mapping is not None and mapping["header_row"]:
            header_idx = mapping["header_row"] - table.first_row
            if not 0 <= header_idx < len(table.rows):
                continue
            cols = HeaderMatch(_normalized_row(table.rows[header_idx]), L.ONE_SHEET_COLUMNS).mapping
        else:
            found = _header_candidates(table, L.ONE_SHEET_COLUMNS)
            if not found:
                continue
            header_idx, match = max(found, key=lambda c: (len(c[1].mapping), -c[0]))
            cols = match.mapping
            if (pair := _two_row_header(table, header_idx, cols)) is not None:
                upper, header_idx, cols = pair
        if mapping is not None:
            cols = _apply_mapping(ledger, mapping, table, header_idx, cols, issues)
        elif _is_problem_link_header(table, header_idx) or not {"title", "measure"} <= cols.keys():
            continue
        return OneSheet(_spread_merged(table), header_idx, cols, "mapping" if mapping else "detected",
                        mapping["name"] if mapping else "", upper if mapping is None else None)
    return None


def _two_row_header(table: Table, header_idx: int, cols: dict[str, int]) -> tuple[int, int, dict[str, int]] | None:
    """A header over two rows (责任 above 责任领导/责任单位/责任人, 整改情况 above 整改进展/完成情况, the other
    headers in the upper row only): (upper index, lower index, the fields of both), when the pair of the chosen
    header row and the row right above or below it names more fields than the chosen row alone; else None.

    A pair qualifies when every filled cell of the lower row names a field (so a data row never does), and every
    filled cell of the upper row names a field or stands above a cell of the lower row that does (a group label).
    A field named in both rows is read from the lower row's column; two fields in one column disqualify the pair.
    """
    best = None
    for upper in (header_idx - 1, header_idx):
        lower = upper + 1
        if upper < 0 or lower >= len(table.rows):
            continue
        top = HeaderMatch(_normalized_row(table.rows[upper]), L.ONE_SHEET_COLUMNS)
        bottom = HeaderMatch(_normalized_row(table.rows[lower]), L.ONE_SHEET_COLUMNS)
        named_below = {j for found in bottom.cells.values() for j, _ in found}
        named_above = {j for found in top.cells.values() for j, _ in found}
        if not named_below or any(j not in named_below for j in _filled(table.rows[lower])):
            continue
        if any(j not in named_above and j not in named_below for j in _filled(table.rows[upper])):
            continue
        union = {**top.mapping, **bottom.mapping}
        if len(set(union.values())) != len(union) or len(union) <= len(cols):
            continue
        if best is None or len(union) > len(best[2]):
            best = (upper, lower, union)
    return best


def _filled(row: list[Any]) -> list[int]:
    """Indices of the cells of ``row`` that hold something (a blank text is empty)."""
    return [j for j, v in enumerate(row) if v is not None and not (v.__class__ is str and not v.strip())]


_TITLE_RE = re.compile(r"^(?P<org>.+?)关于(?P<round>.*?巡察)")


def _settings_from_title(ledger: Ledger, one: OneSheet) -> None:
    """单位名称 / 党组名称 / 巡察轮次 from a title such as ``中共X党组关于八届市委第四轮巡察反馈意见整改落实台账``."""
    st = ledger.settings
    for row in one.table.rows[: one.header_idx]:
        text = next((cell_text(v) for v in row if isinstance(v, str) and v.strip()), "")
        m = _TITLE_RE.match("".join(text.split()))
        if not m:
            continue
        org, rnd = m.group("org"), m.group("round")
        if org.endswith(("党组", "党委")):
            st.party_group = org
            org = org.removeprefix("中共")[:-2]
        st.unit_name = org.removeprefix("中共")
        if rnd:
            st.inspection_round = rnd
        ledger.layout.detection.append(
            f"从标题“{_snippet(text, 40)}”中取得：单位名称“{st.unit_name}”"
            + (f"、党组名称“{st.party_group}”" if st.party_group else "")
            + (f"、巡察轮次“{st.inspection_round}”" if st.inspection_round else ""))
        return


def _title_shape(get: Callable[[str], Any]) -> tuple[str, list[str]]:
    """What layouts.is_title_row asks of a row, given ``get`` (field key → raw cell, None when absent): its 存在问题
    text and the texts of its measure-only fields (layouts.MEASURE_ONLY_KEYS)."""
    return cell_text(get("title")), [cell_text(get(k)) for k in L.MEASURE_ONLY_KEYS]


def _title_rows(rows: list[tuple[int, dict[str, Any]]], headings: Sequence[int]) -> set[int]:
    """The Excel rows of the problems' title rows (layouts.is_title_row): each judged with the record row right below
    it, when no category heading row lies between them."""
    between = sorted(headings)
    out: set[int] = set()
    for n in range(len(rows) - 1):
        (row, v), (below, w) = rows[n], rows[n + 1]
        if cell_text(v.get("measure")):
            continue  # the usual row, a measure: no title row (asked first, one cell per row)
        if L.is_title_row(*_title_shape(v.get), *_title_shape(w.get)) and not any(row < h < below for h in between):
            out.add(row)
    return out


def _group_rows(one: OneSheet, rows: list[tuple[int, dict[str, Any]]], headings: Sequence[int] = (),
                titles: set[int] | frozenset[int] = frozenset()) -> tuple[list[list[tuple[int, dict]]], Counter]:
    """Measure rows grouped into problems by the 存在问题 column: merged, repeated or blank below. A category
    heading row (its Excel row in ``headings``) ends the problem above it; a title row (in ``titles``) starts a
    problem (and is counted in ``how["title"]``)."""
    title_col = one.cols.get("title")
    table = one.table
    col_abs = table.first_col + title_col if title_col is not None else -1
    merged = [(r1, r2) for r1, c1, r2, c2 in table.merged if c1 <= col_abs <= c2 and r2 > r1]
    groups: list[list[tuple[int, dict]]] = []
    how: Counter = Counter()
    title_of = ""
    after = sorted(headings)
    h = 0
    for row, v in rows:
        title = cell_text(v.get("title"))
        rng = next(((r1, r2) for r1, r2 in merged if r1 <= row <= r2), None)
        crossed = False  # a heading lies between the row before and this one (headings are no data rows)
        while h < len(after) and after[h] < row:
            crossed = True
            h += 1
        if row in titles:
            how["title"] += 1
            groups.append([])
            title_of = title
        elif crossed and groups:
            groups.append([])
            title_of = title
        elif groups and rng and rng[0] < row and groups[-1][0][0] >= rng[0]:
            how["merged"] += 1
        elif groups and not title:
            how["blank"] += 1
        elif groups and title == title_of and not (rng and rng[0] == row):
            how["repeated"] += 1
        else:
            groups.append([])
            title_of = title
        groups[-1].append((row, v))
    return groups, how


def _number(one: OneSheet, groups: list[list[tuple[int, dict]]], heads: Sequence[tuple[int, dict] | None] = (),
            ) -> tuple[list[str], list[list[str]], str, str]:
    """Problem ids, task ids per group (its measure rows), and how each was numbered (Chinese, for the report).
    ``heads``: each group's title row, or None (see :func:`_title_rows`)."""
    seqs = [[L.parse_seq(v.get("seq")) if "seq" in one.cols else None for _, v in g] for g in groups]
    generated = [str(n) for n in range(1, len(groups) + 1)]

    def by_position(pids: list[str]) -> list[list[str]]:
        return [[f"{pid}-{k}" for k in range(1, len(g) + 1)] for pid, g in zip(pids, groups)]

    if "seq" not in one.cols:
        return generated, by_position(generated), "按顺序编号 1、2…", "按问题编号-顺序生成（1-1、1-2…）"
    if any(heads):
        return _number_below_titles(groups, heads, seqs, generated, by_position)
    filled = [[s for s in g if s is not None] for g in seqs]
    if all(filled) and all(len({s.text for s in g}) == 1 for g in filled):
        pids = [g[0].text for g in filled]
        if len(set(pids)) == len(pids):
            return pids, by_position(pids), "取自“序号”列", "按问题编号-顺序生成（1-1、1-2…）"
        return generated, by_position(generated), "“序号”列有重复（如各类别分别编号），改为按顺序编号 1、2…", \
            "按问题编号-顺序生成（1-1、1-2…）"
    complete = all(s is not None for g in seqs for s in g)
    if complete and all(s.kind == "dotted" for g in seqs for s in g) and all(len({s.major for s in g}) == 1 for g in seqs):
        pids = [g[0].major for g in seqs]
        tids = [[s.text for s in g] for g in seqs]
        flat = [t for g in tids for t in g]
        if len(set(pids)) == len(pids) and len(set(flat)) == len(flat):
            return pids, tids, "取自“序号”列的前一段（1.1 → 1）", "取自“序号”列（1.1、1.2…）"
    texts = [s.text for g in seqs for s in g if s is not None]
    if complete and len(set(texts)) == len(texts):
        return generated, [[s.text for s in g] for g in seqs], "按顺序编号 1、2…", "取自“序号”列"
    return generated, by_position(generated), "按顺序编号 1、2…", \
        "“序号”列在各问题内分别编号（如（1）、一是），按问题编号-顺序生成（1-1、1-2…）"


def _number_below_titles(groups: list[list[tuple[int, dict]]], heads: Sequence[tuple[int, dict] | None],
                         seqs: list[list[L.Seq | None]], generated: list[str],
                         by_position: Callable[[list[str]], list[list[str]]]) -> tuple[list[str], list[list[str]], str, str]:
    """:func:`_number` of a ledger whose problems stand on title rows above their measures: the problem id is the
    序号 of its title row when every problem has one and they are unique, else 1, 2, … in order; the measures are
    numbered as typed when every one is 1.1-style, all unique, with its problem's id before the dot; else
    ``<problem>-<k>``."""
    titled = [L.parse_seq(h[1].get("seq")) if h else None for h in heads]
    pids = [s.text for s in titled if s is not None]
    if len(pids) == len(groups) and len(set(pids)) == len(pids):
        pid_how = "取自问题标题行的“序号”"
    else:
        pids, pid_how = generated, "按顺序编号 1、2…（问题标题行的“序号”不全或有重复）"
    flat = [s for g in seqs for s in g]
    if (flat and all(s is not None and s.kind == "dotted" for s in flat) and len({s.text for s in flat}) == len(flat)
            and all(s.major == pid for pid, g in zip(pids, seqs) for s in g)):
        return pids, [[s.text for s in g] for g in seqs], pid_how, "取自“序号”列（1.1、1.2…）"
    return pids, by_position(pids), pid_how, "按问题编号-顺序生成（1-1、1-2…）"


def load_one_sheet(ledger: Ledger, one: OneSheet, issues: list[Issue], reference: date | None) -> None:
    """Problems and tasks of a one-sheet ledger; the layout maps both 问题清单 and 任务清单 onto the one sheet."""
    layout = ledger.layout
    layout.kind = L.ONE_SHEET
    layout.mapping_sheet = one.mapping_sheet
    layout.fields = {k: one.table.letter(j) for k, j in sorted(one.cols.items(), key=lambda kv: kv[1])}
    table = one.table
    sheet = _Sheet(ledger, S.SHEET_TASKS, table, one.header_idx, one.cols, record_keys=("seq", "title", "measure"),
                   headings=True)
    letters = dict(layout.columns[S.SHEET_TASKS])
    header_row = table.excel_row(one.header_idx)
    normalized = sheet.normalized_header
    task_keys = {c.key for c in S.TASK_COLUMNS}
    layout.columns[S.SHEET_TASKS] = {k: v for k, v in letters.items() if k in task_keys or k.startswith("owned:")}
    layout.columns[S.SHEET_PROBLEMS] = {k: letters[k] for k in L.PROBLEM_KEYS if k in letters}
    for col in S.PROBLEM_OWNED:
        target = S.normalize_header(col.header)
        if col.key != "check" and target in normalized:
            layout.columns[S.SHEET_PROBLEMS]["owned:" + col.key] = table.letter(normalized.index(target))
    for key in ("sheet_names", "header_rows", "last_rows", "next_free_column"):
        d = getattr(layout, key)
        d[S.SHEET_PROBLEMS] = d[S.SHEET_TASKS]
    no_category_at: int | None = None
    for col in L.ONE_SHEET_COLUMNS:
        if col.key in one.cols:
            continue
        if col.required:
            canonical = S.SHEET_PROBLEMS if col.key in L.PROBLEM_KEYS else S.SHEET_TASKS
            layout.missing_columns.setdefault(canonical, []).append(col.key)
            issues.append(Issue(
                "missing-column",
                f"工作表“{table.name}”第{header_row}行（表头）缺少“{col.header}”列（也可用：{'、'.join(col.synonyms)}）。"
                f"如该列的表头是别的名称，请在“{L.MAPPING_SHEET}”工作表中写明（字段“{col.header}”，列填列号如 C）；"
                "在此之前，依赖该列的逐行检查不进行",
                Location(ledger.source, table.name, header_row, None, col.header),
            ))
        elif col.key == "category":
            no_category_at = len(issues)  # said only when no category heading rows stand for the column
            issues.append(Issue(
                "missing-category-column",
                f"工作表“{table.name}”第{header_row}行（表头）没有“问题类别”列，所有问题归为一类，通报中不分方面；"
                f"如有该列但表头不同，请在“{L.MAPPING_SHEET}”工作表中写明",
                Location(ledger.source, table.name, header_row, None, col.header),
                WARNING,
            ))
    rows = list(sheet.rows(issues))
    headings = sheet.heading_rows or []
    if headings and no_category_at is not None:
        del issues[no_category_at]
    heading_rows = [r for r, _ in headings]
    titles = _title_rows(rows, heading_rows)
    groups, how = _group_rows(one, rows, heading_rows, titles)
    # A problem on a title row above its measures: the title row is the problem's, the rows below are its measures.
    heads = [g[0] if g[0][0] in titles else None for g in groups]
    groups = [g[1:] if head else g for g, head in zip(groups, heads)]
    pids, tids, pid_how, tid_how = _number(one, groups, heads)
    if "seq" in one.cols and pid_how.startswith("取自"):
        layout.columns[S.SHEET_PROBLEMS]["id"] = table.letter(one.cols["seq"])
    if "seq" in one.cols and tid_how.startswith("取自"):
        layout.columns[S.SHEET_TASKS]["id"] = table.letter(one.cols["seq"])
    category = ""
    records, task_ids, problem_ids = [], [], []
    h = 0
    for pid, ids, group, head in zip(pids, tids, groups, heads):
        first_row, first = head or group[0]
        while h < len(headings) and headings[h][0] < first_row:  # the heading rows above this problem
            category = headings[h][1]
            h += 1
        category = cell_text(first.get("category")) or category
        ledger.problems.append(Problem(pid, category, cell_text(first.get("title")), "",
                                       cell_text(first.get("leader")), cell_text(first.get("unit")), first_row))
        for tid, (row, v) in zip(ids, group):
            records.append((row, task_values(v)))
            task_ids.append(tid)
            problem_ids.append(pid)
    columns = list(zip(*(vals for _, vals in records), strict=True)) or [()] * len(TASK_FIELDS)
    ledger.tasks.extend(read_tasks(sheet, [row for row, _ in records], columns, issues, reference, task_ids,
                                   problem_ids))
    # What was recognised, said in words (adopt shows it; check warns once while no mapping sheet confirms it).
    fields = "、".join(f"{table.letter(j)}列=“{L.ONE_SHEET_BY_KEY[k].header}”" for k, j in
                       sorted(one.cols.items(), key=lambda kv: kv[1]))
    shapes = "，".join(f"{word}{how[k]}行" for k, word in (("title", "问题标题行"), ("merged", "合并单元格"),
                                                           ("repeated", "逐行重复"), ("blank", "下方留空")) if how[k])
    source = f"按“{L.MAPPING_SHEET}”工作表" if one.how == "mapping" else "自动识别"
    if one.upper_header_idx is not None:
        header_text = f"第{table.excel_row(one.upper_header_idx)}–{header_row}行为表头（两行表头）"
    else:
        header_text = f"第{header_row}行为表头"
    layout.detection[:0] = [
        f"{source}：工作表“{table.name}”是一表式整改台账，{header_text}",
        f"列：{fields}",
        f"分组：按“存在问题”列把{len(ledger.tasks)}项措施归入{len(ledger.problems)}个问题"
        + (f"（{shapes}）" if shapes else "（每个问题一行）"),
        f"问题编号：{pid_how}；措施编号：{tid_how}",
    ]
    if headings:
        rows_text = "、".join(str(r) for r, _ in headings[:8]) + ("…" if len(headings) > 8 else "")
        layout.detection.insert(4, f"类别：取自{len(headings)}个类别标题行（第{rows_text}行）")
    if one.how == "detected":
        issues.append(Issue(
            "layout-detected",
            "；".join(layout.detection[:4]) + f"。如识别有误，请运行 zhenggai adopt 查看，并在“{L.MAPPING_SHEET}”工作表中改正"
            "（adopt --yes 会生成该表）",
            Location(ledger.source, table.name, header_row, None),
            WARNING,
        ))


# --- documents area: 是否公开 flags and the 问责与成效 sheet (optional; docs/rules/documents.md) ----------

PUBLIC_NO = {"否", "不公开", "不予公开", "n", "no", "false", "0", "×", "党内"}
PUBLIC_YES = {"", "是", "公开", "y", "yes", "true", "1", "√"}


def _optional_column(ledger: Ledger, tables: dict[str, Table], canonical: str, headers: tuple[str, ...]):
    """(table, 0-based column) of an optional column found by its header in the sheet's header row, or None."""
    wanted = {S.normalize_header(h) for h in headers}
    name = ledger.layout.sheet_names.get(canonical) or find_sheet(tables, canonical)
    header_row = ledger.layout.header_rows.get(canonical)
    if name is None or header_row is None or name not in tables:
        return None
    table = tables[name]
    hi = header_row - table.first_row
    if not 0 <= hi < len(table.rows):
        return None
    col = next((j for j, v in enumerate(table.rows[hi]) if S.normalize_header(v) in wanted), None)
    return None if col is None else (name, table, col)


def _cell_of(table: Table, row: int, col: int) -> Any:
    i = row - table.first_row
    return table.rows[i][col] if 0 <= i < len(table.rows) and col < len(table.rows[i]) else None


def load_full_names(ledger: Ledger, tables: dict[str, Table]) -> None:
    """单位全称 in 县区 and 责任清单, when the column exists (主送 of 督办 letters)."""
    for canonical, records in ((S.SHEET_COUNTIES, ledger.counties), (S.SHEET_PEOPLE, ledger.people)):
        found = _optional_column(ledger, tables, canonical, S.FULL_NAME_HEADERS)
        if found is not None:
            _, table, col = found
            for record in records:
                record.full_name = cell_text(_cell_of(table, record.row, col))


def load_public_flags(ledger: Ledger, tables: dict[str, Table], issues: list[Issue]) -> None:
    """是否公开 in 问题清单 and 任务清单, when the column exists: 否 keeps the row out of the public notice."""
    for canonical, records in ((S.SHEET_PROBLEMS, ledger.problems), (S.SHEET_TASKS, ledger.tasks)):
        found = _optional_column(ledger, tables, canonical, S.PUBLIC_HEADERS)
        if found is None:
            continue
        name, table, col = found
        for record in records:
            raw = _cell_of(table, record.row, col)
            text = cell_id(raw).lower() if not isinstance(raw, bool) else ("是" if raw else "否")
            if text in PUBLIC_NO:
                record.public = False
            elif text not in PUBLIC_YES:
                issues.append(Issue("bad-public-flag", f"是否公开应填“是”或“否”（留空表示公开），现为“{raw}”",
                                    Location(ledger.source, name, record.row, table.letter(col), "是否公开"), "warning"))


def load_outcomes(ledger: Ledger, tables: dict[str, Table], issues: list[Issue]) -> None:
    """问责与成效: rows of 类别 (问责/成效) | 项目 | 数量 | 单位 under a header row, when the sheet exists."""
    from toolkit.core.model import Outcome

    name = next((n for n in tables if S.normalize_header(n) == S.SHEET_OUTCOMES), None)
    if name is None:
        return
    table = tables[name]
    header = next((i for i, r in enumerate(table.rows) if "项目" in [cell_text(v) for v in r]), None)
    if header is None:
        issues.append(Issue("missing-header", "“问责与成效”工作表没有表头，请在第一行写：类别、项目、数量、单位",
                            Location(ledger.source, name, table.first_row, table.letter(0)), "warning"))
        return
    cols = {cell_text(v): j for j, v in enumerate(table.rows[header])}
    for i, row in enumerate(table.rows[header + 1 :], start=header + 1):
        def get(title: str, row=row):
            j = cols.get(title)
            return row[j] if j is not None and j < len(row) else None

        item = cell_text(get("项目"))
        if not item:
            continue
        raw = get("数量")
        try:
            amount = float(cell_id(raw) or 0) if not isinstance(raw, (int, float)) else float(raw)
        except ValueError:
            issues.append(Issue("bad-number", f"数量应为数字（可以为0），现为“{raw}”",
                                Location(ledger.source, name, table.excel_row(i), table.letter(cols.get("数量", 0)), "数量")))
            continue
        kind = cell_text(get("类别")) or ("问责" if cell_text(get("单位")) == "人" else "成效")
        ledger.outcomes.append(Outcome(kind, item, amount, cell_text(get("单位")), table.excel_row(i)))
