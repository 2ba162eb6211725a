"""The workbook open in Excel, through xlwings: bulk read into tables, bulk write of a write plan.

The buttons (:mod:`toolkit.macros`) use this module; the CLI uses :mod:`toolkit.excel.read`
and :mod:`toolkit.excel.patch` on the saved file. Both feed the same core and apply the same
:class:`~toolkit.core.plan.WritePlan`, so a button and the command produce the same result.

Reading (:func:`read_book`)
    One bulk read per sheet: the used range's values (``.options(ndim=2, err_to_str=True)``),
    trimmed to the cells that hold something, keeping the true first row and column in
    ``Table.first_row``/``first_col``. Values are normalised like the file reader does:
    whole floats → ``int`` (Excel hands every number over as a float), dates at midnight
    → ``date`` (xlwings returns ``datetime``), Excel error values → :class:`CellError`.
    xlwings returns errors as ``None`` unless ``err_to_str`` is set; with it, the classic
    seven come as ``"#REF!"``-style strings (``excel`` engine: from the COM error code;
    ``remote`` engine: the client sends the strings), newer ones (``#SPILL!``, ``#CALC!``…)
    come from COM as bare ``int`` codes, which are mapped here as well. Merged ranges are
    found with xlwings' ``merge_cells``/``merge_area`` (a bisection, a handful of calls for a
    sheet without merges) and their value is copied to every covered cell, as the file
    reader does; the ``remote`` engine cannot report merges synchronously, so there it is
    skipped.

Writing (:func:`apply_plan`)
    Same rules as the lossless file patcher (see :mod:`toolkit.core.plan`), in bulk: values go
    out as one 2-D write per rectangle of planned cells; each format attribute (fill, font
    colour, bold, number format, wrap, alignment) is grouped by value into rectangles and set
    once per rectangle — on Windows Excel, rectangles of one format are joined into
    multi-area ranges (``Range("P3,P7:P9,…")``, up to 255 characters), one COM call each.
    Nothing is written cell by cell unless the plan itself is scattered. Excel's screen
    updating is off while the plan is written. Everything that can be refused (a staff
    column, a missing sheet, a value Excel cannot hold) is checked before the first write.

    *Strings stay strings.* Excel parses a value written through COM or Office.js as if it
    were typed: ``=x`` becomes a formula, ``3/5`` a date, ``1-1`` a date, ``TRUE`` a
    boolean, ``#N/A`` an error, ``１２３`` a number. A string Excel could read as anything
    else is therefore written with a leading apostrophe (Excel's own "this is text" mark: the
    apostrophe is not part of the value, it sets the cell's quote-prefix flag); see
    :func:`excel_text`. Strings made only of other characters (most Chinese text) go out as
    they are, so ordinary cells get no quote prefix. The number format ``@`` was the
    alternative; it was not chosen because it changes the cell's format for good (a number
    later written there would be stored as text). Only :class:`~toolkit.core.plan.Formula` values
    are written as formulas (``"=" + text``).

    Differences from the patcher, all invisible in the values: a cell whose value and style
    are already right is written again (reading styles back cell by cell would cost more than
    writing); a date written with no explicit number format always gets ``yyyy-mm-dd`` (the
    patcher keeps an existing date format); text cells that needed the apostrophe carry
    Excel's quote-prefix flag; in an owned sheet, empty cells outside the plan keep their
    format (only cells holding a value are cleared: clearing part of a merged range fails).

Running without Excel
    :func:`workbook_payload` turns a saved workbook into the JSON an xlwings Office.js
    client sends, and :func:`remote_book` opens it with xlwings' ``remote`` engine, so the
    button functions run unchanged on Linux (tests, benchmarks, diagnosis). The ``remote``
    engine is source-available under PolyForm Noncommercial and needs
    ``XLWINGS_LICENSE_KEY=noncommercial``; in that engine writes are queued as actions
    (``book.json()["actions"]``) and reads after a write still return the old values, which
    is why everything here reads first and writes afterwards.

Importing this module imports neither xlwings (it imports pandas, ~0.3 s) nor openpyxl: the
functions receive xlwings objects from the caller; the two "without Excel" helpers import
what they need when called.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from toolkit.core.model import CellError, Table
from toolkit.core.plan import CellStyle, CellValue, Formula, SheetPlan, WritePlan
from toolkit.core.schema import OWNED_PREFIX, column_index, column_letter

__all__ = [
    "ERROR_CODES",
    "LiveWriteRefused",
    "apply_plan",
    "excel_text",
    "find_merged_areas",
    "needs_text_mark",
    "read_book",
    "read_sheet",
    "rectangles",
    "union_addresses",
]

#: Excel error values as xlwings/Office.js spell them.
ERROR_CODES = frozenset(
    {
        "#NULL!",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#N/A",
        "#GETTING_DATA",
        "#SPILL!",
        "#CONNECT!",
        "#BLOCKED!",
        "#UNKNOWN!",
        "#FIELD!",
        "#CALC!",
        "#BUSY!",
        "#DATA!",
        "#PYTHON!",
        "#TIMEOUT!",
    }
)

# COM hands error values over as VARIANT errors, pywin32 as int: -2146826288 + (xlErr - 2000).
# xlwings maps the classic seven itself (with err_to_str); the newer ones arrive as bare ints.
_COM_ERROR_BASE = -2146826288
_XL_ERRORS = {
    2000: "#NULL!",
    2007: "#DIV/0!",
    2015: "#VALUE!",
    2023: "#REF!",
    2029: "#NAME?",
    2036: "#NUM!",
    2042: "#N/A",
    2043: "#GETTING_DATA",
    2045: "#SPILL!",
    2046: "#CONNECT!",
    2047: "#BLOCKED!",
    2048: "#UNKNOWN!",
    2049: "#FIELD!",
    2050: "#CALC!",
    2051: "#BUSY!",
}
COM_ERROR_CODES = {_COM_ERROR_BASE + (n - 2000): text for n, text in _XL_ERRORS.items()}

DATE_FORMAT = "yyyy-mm-dd"  # what the patcher gives a date written without a format
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MAX_TEXT = 32767  # Excel's limit for the text of one cell
MAX_ADDRESS = 255  # Excel's limit for the address given to Range()
_BIG = 9007199254740992.0  # 2**53, as in toolkit.excel.read

# A cell in a 10k-row sheet is found by bisection with ~2·log2(cells) calls per merged range; give up
# (and copy no merged values) rather than spend minutes on a sheet with thousands of merged cells.
MERGE_CALL_BUDGET = 4000


class LiveWriteRefused(Exception):
    """The plan would write where the toolkit must not (a staff column, a bad value); nothing was written.

    ``str(exc)`` is a Chinese message that says which cell and what to do.
    """


# ============================================================================ reading


def read_book(book: Any, sheets: Iterable[str] | None = None) -> dict[str, Table]:
    """Every worksheet of an xlwings ``book`` (or those named in ``sheets``) as tables.

    One bulk read per sheet; names in ``sheets`` that the book lacks are left out, so the
    caller reports the missing sheet in its own words.
    """
    wanted = None if sheets is None else set(sheets)
    out: dict[str, Table] = {}
    for sheet in book.sheets:
        if wanted is not None and sheet.name not in wanted:
            continue
        out[sheet.name] = read_sheet(sheet)
    return out


def read_sheet(sheet: Any) -> Table:
    """One xlwings sheet as a :class:`Table` (see the module docstring for the conversions)."""
    used = sheet.used_range
    raw = used.options(ndim=2, err_to_str=True).value or [[]]
    top, left = used.row, used.column - 1  # 1-based row, 0-based column
    rows = [[_cell(v) for v in r] for r in raw]
    table = _trimmed(sheet.name, rows, top, left)
    if table.rows:
        bounds = (
            table.first_row,
            table.first_col + 1,
            table.first_row + len(table.rows) - 1,
            table.first_col + table.width,
        )
        areas = _sheet_merges(sheet, bounds)
        for r1, c1, r2, c2 in areas:  # 1-based rows and columns here
            table.merged.append((r1, c1 - 1, r2, c2 - 1))
            _spread(table, r1, c1 - 1, r2, c2 - 1)
    return table


def _cell(value: Any) -> Any:
    """A value from xlwings → what the file reader would give for the same cell."""
    cls = value.__class__
    if cls is str:
        if value[:1] == "#" and value in ERROR_CODES:
            return CellError(value)
        return value
    if cls is float:
        if value.is_integer() and -_BIG <= value <= _BIG:
            return int(value)
        return value
    if cls is datetime:
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date()
        return value
    if cls is int and value in COM_ERROR_CODES:
        return CellError(COM_ERROR_CODES[value])
    return value


def _trimmed(name: str, rows: list[list[Any]], top: int, left: int) -> Table:
    """Cut empty rows/columns around the data (Excel's used range counts formatted empty cells)."""
    filled = [i for i, r in enumerate(rows) if any(v is not None for v in r)]
    if not filled:
        return Table(name, [], 1, 0)
    i1, i2 = filled[0], filled[-1]
    cols = [j for r in rows[i1 : i2 + 1] for j, v in enumerate(r) if v is not None]
    j1, j2 = min(cols), max(cols)
    body = [r[j1 : j2 + 1] for r in rows[i1 : i2 + 1]]
    return Table(name, body, top + i1, left + j1)


def _spread(table: Table, r1: int, c1: int, r2: int, c2: int) -> None:
    """Copy a merged range's top-left value over the covered cells inside the table (as read.py does)."""
    i1, j1 = r1 - table.first_row, c1 - table.first_col
    rows = table.rows
    if not (0 <= i1 < len(rows) and 0 <= j1 < len(rows[i1])):
        return
    value = rows[i1][j1]
    if value is None:
        return
    for i in range(i1, min(r2 - table.first_row, len(rows) - 1) + 1):
        row = rows[i]
        for j in range(max(j1, 0), min(c2 - table.first_col, len(row) - 1) + 1):
            row[j] = value


def _sheet_merges(sheet: Any, bounds: tuple[int, int, int, int]) -> list[tuple[int, int, int, int]]:
    """Merged ranges inside ``bounds`` through xlwings, or [] where the engine cannot tell."""

    def state(r1: int, c1: int, r2: int, c2: int) -> bool | None:
        value = sheet.range((r1, c1), (r2, c2)).merge_cells
        return value if isinstance(value, bool) else None  # COM: Null (None) when mixed

    def area(r: int, c: int) -> tuple[int, int, int, int]:
        rng = sheet.range((r, c)).merge_area
        rows, cols = rng.shape
        return rng.row, rng.column, rng.row + rows - 1, rng.column + cols - 1

    try:
        return find_merged_areas(state, area, bounds)
    except NotImplementedError:  # remote engine: merges are only readable asynchronously
        return []


def find_merged_areas(
    state: Callable[[int, int, int, int], bool | None],
    area: Callable[[int, int], tuple[int, int, int, int]],
    bounds: tuple[int, int, int, int],
    *,
    budget: int = MERGE_CALL_BUDGET,
) -> list[tuple[int, int, int, int]]:
    """The merged ranges inside ``bounds`` (1-based ``r1, c1, r2, c2``), found by bisection.

    ``state(r1, c1, r2, c2)`` says whether a rectangle is entirely merged (True), free of
    merged cells (False) or mixed (None) — Excel's ``Range.MergeCells``; ``area(r, c)`` is the
    merged range containing a cell (the cell itself when it is not merged) — ``MergeArea``.
    A sheet without merged cells costs one call. After ``budget`` calls the search stops and
    returns what it found.
    """
    found: list[tuple[int, int, int, int]] = []
    stack = [bounds]
    calls = 0
    while stack:
        r1, c1, r2, c2 = stack.pop()
        if any(a[0] <= r1 and a[1] <= c1 and r2 <= a[2] and c2 <= a[3] for a in found):
            continue
        if calls >= budget:
            break
        calls += 1
        s = state(r1, c1, r2, c2)
        if s is False:
            continue
        if s is True:
            calls += 1
            a = area(r1, c1)
            if (a[0], a[1]) != (a[2], a[3]) and a not in found:
                found.append(a)
            if a[0] <= r1 and a[1] <= c1 and r2 <= a[2] and c2 <= a[3]:
                continue
        if (r1, c1) == (r2, c2):
            continue
        if r2 > r1:
            mid = (r1 + r2) // 2
            stack += [(mid + 1, c1, r2, c2), (r1, c1, mid, c2)]
        else:
            mid = (c1 + c2) // 2
            stack += [(r1, mid + 1, r2, c2), (r1, c1, r2, mid)]
    return sorted(found)


# ============================================================================ writing

# Characters that can occur in something Excel parses as a number, date, time, boolean or error
# when it is typed (or written through COM/Office.js): ASCII, the zh-CN date/time words, currency
# signs, full-width forms (Excel folds full-width digits) and the ideographic space.
_PARSEABLE_EXTRA = set("年月日时分秒上下午￥¥€£\u3000")


def needs_text_mark(text: str) -> bool:
    """Whether Excel could turn ``text`` into something other than this text when it is written."""
    s = text.strip()
    if not s:
        return False
    if s[0] in "=+-@'#":
        return True
    return all(ch.isascii() or ch in _PARSEABLE_EXTRA or "\uff01" <= ch <= "\uff5e" for ch in s)


def excel_text(text: str) -> str:
    """``text`` as written to Excel so that it stays exactly this text (see the module docstring)."""
    return "'" + text if needs_text_mark(text) else text


def _out_value(value: CellValue, sheet: str, ref: str) -> Any:
    """A plan value → what xlwings writes."""
    if isinstance(value, Formula):
        return "=" + value.text.removeprefix("=")
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise LiveWriteRefused(
                f"写入计划有误：工作表「{sheet}」{ref} 的文字超过 Excel 单元格上限 {MAX_TEXT} 个字符。"
            )
        return excel_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise LiveWriteRefused(f"写入计划有误：工作表「{sheet}」{ref} 的数值无效（{value}）。")
    return value


def rectangles(cells: Iterable[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Cover a set of (row, column) cells with few disjoint rectangles ``(r1, c1, r2, c2)``.

    Each row is cut into runs of adjacent columns; a run continues the rectangle above when it
    spans the same columns on the next row. Exact: the rectangles cover the cells and nothing else.
    """
    by_row: dict[int, list[int]] = defaultdict(list)
    for r, c in set(cells):
        by_row[r].append(c)
    out: list[tuple[int, int, int, int]] = []
    open_: dict[tuple[int, int], list[int]] = {}  # (c1, c2) -> [r1, r2]
    for r in sorted(by_row):
        cols = sorted(by_row[r])
        runs: list[tuple[int, int]] = []
        start = prev = cols[0]
        for c in cols[1:]:
            if c != prev + 1:
                runs.append((start, prev))
                start = c
            prev = c
        runs.append((start, prev))
        for span in list(open_):
            if span not in runs or open_[span][1] != r - 1:
                r1, r2 = open_.pop(span)
                out.append((r1, span[0], r2, span[1]))
        for span in runs:
            if span in open_:
                open_[span][1] = r
            else:
                open_[span] = [r, r]
    out += [(r1, span[0], r2, span[1]) for span, (r1, r2) in open_.items()]
    return sorted(out)


def _hex(rgb: str | None) -> str | None:
    return None if rgb is None else "#" + rgb.upper()


def _formats(
    cells: Sequence[tuple[int, int, CellValue, CellStyle | None]],
) -> list[tuple[str, Any, list[tuple[int, int]]]]:
    """(attribute, value, cells) for every format the plan sets, in a fixed order.

    A cell with a style gets the style's fill (``None`` = no fill), bold, wrap and alignment
    (``None`` = general); its font colour and number format only when given. A date value with
    no number format gets ``yyyy-mm-dd`` (``yyyy-mm-dd hh:mm`` with a time), as in the patcher.
    """
    groups: dict[tuple[str, Any], list[tuple[int, int]]] = defaultdict(list)
    for r, c, value, style in cells:
        if style is not None:
            groups["fill", _hex(style.fill)].append((r, c))
            groups["bold", bool(style.bold)].append((r, c))
            groups["wrap", bool(style.wrap)].append((r, c))
            groups["align", style.align or "general"].append((r, c))
            if style.font_color:
                groups["font_color", _hex(style.font_color)].append((r, c))
        fmt = style.num_format if style is not None else None
        if fmt is None and isinstance(value, date):
            fmt = DATETIME_FORMAT if isinstance(value, datetime) else DATE_FORMAT
        if fmt is not None:
            groups["number_format", fmt].append((r, c))
    order = {"number_format": 0, "fill": 1, "font_color": 2, "bold": 3, "wrap": 4, "align": 5}
    return [
        (attr, val, cs) for (attr, val), cs in sorted(groups.items(), key=lambda kv: (order[kv[0][0]], str(kv[0][1])))
    ]


def _set_format(rng: Any, attr: str, value: Any) -> None:
    if attr == "fill":
        rng.color = value
    elif attr == "font_color":
        rng.font.color = value
    elif attr == "bold":
        rng.font.bold = value
    elif attr == "number_format":
        rng.number_format = value
    elif attr == "wrap":
        rng.wrap_text = value
    elif attr == "align":
        try:
            rng.horizontal_alignment = value
        except NotImplementedError:
            # xlwings Server clients other than Office.js (VBA, Google Apps Script) cannot align;
            # alignment is cosmetic, so the rest of the plan still goes out.
            pass


def _column_width(engine: str, characters: float) -> float:
    """A width in Excel's characters in the unit the engine wants (points for remote/Office.js)."""
    if engine in ("remote", "officejs"):
        return round((characters * 7 + 5) * 0.75, 2)  # Calibri 11 at 96 dpi: 7 px a character + 5 px padding
    return characters


def _engine_name(book: Any) -> str:
    try:
        return book.app.engine.name
    except Exception:  # noqa: BLE001 - an unknown front end: treat as desktop Excel
        return "excel"


def _check_plan(plan: WritePlan, current: dict[str, Table | None]) -> None:
    """Refuse (before anything is written) what the patcher refuses: staff columns, duplicates, missing sheets.

    A plan that must write staff columns says so itself, as for the patcher: the sheet is marked
    ``owned_sheet`` with ``clear_from_row`` past the last row (what county consolidation does),
    or lists them in ``staff_columns`` should :class:`~toolkit.core.plan.SheetPlan` gain that field.
    """
    for sp in plan.sheets:
        seen: set[tuple[int, str]] = set()
        for cw in sp.cells:
            if cw.row < 1 or not cw.column.isalpha() or not cw.column.isascii():
                raise LiveWriteRefused(f"写入计划有误：工作表「{sp.sheet}」的单元格位置无效（{cw.column}{cw.row}）。")
            key = (cw.row, cw.column.upper())
            if key in seen:
                raise LiveWriteRefused(f"写入计划有误：工作表「{sp.sheet}」的 {cw.column}{cw.row} 出现了两次。")
            seen.add(key)
            _out_value(cw.value, sp.sheet, f"{cw.column}{cw.row}")  # too long a text, NaN: refused up front
        table = current.get(sp.sheet)
        if sp.owned_sheet:
            continue
        if table is None:
            raise LiveWriteRefused(f"找不到工作表「{sp.sheet}」：请勿改动台账的工作表名称，或重新生成台账后再试。")
        exempt = {c.upper() for c in getattr(sp, "staff_columns", ())}
        header_row = sp.clear_from_row - 1
        if header_row < 1:
            raise LiveWriteRefused(
                f"写入计划有误：工作表「{sp.sheet}」不是工具专用表，clear_from_row 必须大于 1（其上一行是表头）。"
            )
        planned = {cw.column.upper(): cw.value for cw in sp.cells if cw.row == header_row}
        letters = ({cw.column.upper() for cw in sp.cells} | {c.upper() for c in sp.owned_columns}) - exempt
        for letter in sorted(letters, key=column_index):
            value = planned[letter] if letter in planned else _table_value(table, header_row, letter)
            if not (isinstance(value, str) and value.strip().startswith(OWNED_PREFIX)):
                shown = "" if value is None else str(value)
                raise LiveWriteRefused(
                    f"工作表「{sp.sheet}」的 {letter} 列表头「{shown}」不是以“{OWNED_PREFIX}”开头的工具列，"
                    f"工具不会改写员工填写的列。请检查第 {header_row} 行的表头：只有表头以“{OWNED_PREFIX}”开头的列才由工具填写。"
                )


def _table_value(table: Table, row: int, letter: str) -> Any:
    i, j = row - table.first_row, column_index(letter) - table.first_col
    if 0 <= i < len(table.rows) and 0 <= j < len(table.rows[i]):
        return table.rows[i][j]
    return None


def apply_plan(book: Any, plan: WritePlan, *, tables: dict[str, Table] | None = None) -> int:
    """Apply ``plan`` to the open xlwings ``book`` in bulk; return the number of cells written.

    ``tables`` are the book's tables as read by :func:`read_book` before any write (the macros
    pass what they read; without them the sheets the plan touches are read here first). They
    tell where owned areas end and which header each column has.

    Rules (as :mod:`toolkit.excel.patch`): an ``owned_sheet`` is created when missing and every
    cell outside the plan from ``clear_from_row`` down that holds a value is cleared (value and
    format; the patcher also drops the format of empty cells there); in a staff
    sheet, ``owned_columns`` cells from ``clear_from_row`` down that hold a value but are not in
    the plan are emptied (their format stays); a staff-sheet column whose header (the row above
    ``clear_from_row``) does not start with ``【自动】`` is refused with
    :class:`LiveWriteRefused` before anything is written (see :func:`_check_plan` for plans that
    must write staff data). Column widths are set on owned sheets only.
    """
    names = {s.name: s for s in book.sheets}
    tables = tables or {}
    current: dict[str, Table | None] = {}
    for sp in plan.sheets:  # every read before the first write
        if sp.sheet in names:
            current[sp.sheet] = tables[sp.sheet] if sp.sheet in tables else read_sheet(names[sp.sheet])
        else:
            current[sp.sheet] = None
    _check_plan(plan, current)
    engine = _engine_name(book)
    desktop = engine == "excel"
    if desktop:
        _screen_updating(book, False)  # Excel repaints after every COM call otherwise
    try:
        return _write(book, plan, names, current, engine)
    finally:
        if desktop:
            _screen_updating(book, True)


def _screen_updating(book: Any, on: bool) -> None:
    try:
        book.app.screen_updating = on
    except Exception:  # noqa: BLE001 - only a speed-up; never fail a write over it
        pass


def _write(book: Any, plan: WritePlan, names: dict[str, Any], current: dict[str, Table | None], engine: str) -> int:
    unions = engine == "excel" and sys.platform == "win32"
    active = book.sheets.active.name if plan.sheets else None
    created = False
    written = 0
    for sp in plan.sheets:
        sheet = names.get(sp.sheet)
        if sheet is None:  # only owned sheets get here (checked above)
            sheet = book.sheets.add(sp.sheet, after=book.sheets[len(book.sheets) - 1])
            names[sp.sheet] = sheet
            created = True
            table = None
        else:
            table = current[sp.sheet]
        cells = [(cw.row, column_index(cw.column) + 1, cw.value, cw.style) for cw in sp.cells]
        grid = {(r, c): v for r, c, v, _ in cells}
        _clear(sheet, sp, table, grid, unions)
        for r1, c1, r2, c2 in rectangles(grid):
            values = [
                [_out_value(grid[r, c], sp.sheet, f"{column_letter(c - 1)}{r}") for c in range(c1, c2 + 1)]
                for r in range(r1, r2 + 1)
            ]
            sheet.range((r1, c1), (r2, c2)).value = values
        for attr, value, where in _formats(cells):
            _each(sheet, rectangles(where), unions, lambda rng, a=attr, v=value: _set_format(rng, a, v))
        if sp.owned_sheet:
            for letter, width in sp.column_widths.items():
                sheet.range((1, column_index(letter) + 1)).column_width = _column_width(engine, width)
        written += len(cells)
    if created and active is not None:
        names[active].activate()  # adding a sheet activates it; give staff their sheet back
    return written


def _clear(
    sheet: Any, sp: SheetPlan, table: Table | None, grid: dict[tuple[int, int], CellValue], unions: bool
) -> None:
    """Empty what the plan owns but does not list (see :func:`apply_plan`).

    Only cells that hold a value are cleared: the tables say which, and touching empty cells
    could hit part of a merged range, which Excel refuses to clear.
    """
    if table is None or not table.rows:
        return
    owned_cols = {column_index(c) + 1 for c in sp.owned_columns}
    stale = []
    for i, row in enumerate(table.rows):
        r = table.first_row + i
        if r < sp.clear_from_row:
            continue
        for j, v in enumerate(row):
            c = table.first_col + j + 1
            if v is not None and (r, c) not in grid and (sp.owned_sheet or c in owned_cols):
                stale.append((r, c))
    if sp.owned_sheet:
        _each(sheet, rectangles(stale), unions, lambda rng: rng.clear())  # value and format: the toolkit's sheet
    else:
        _each(sheet, rectangles(stale), unions, lambda rng: rng.clear_contents())  # staff sheet: format stays


def union_addresses(rects: Sequence[tuple[int, int, int, int]], *, limit: int = MAX_ADDRESS) -> list[list[int]]:
    """Split ``rects`` into groups whose comma-joined A1 address fits in ``limit`` characters.

    Returns lists of indexes into ``rects``. Excel's ``Range("P3:P5,P9,...")`` takes at most
    255 characters, so a group is one COM call however many areas it holds.
    """
    groups: list[list[int]] = []
    length = 0
    for i, rect in enumerate(rects):
        size = len(_a1(rect))
        if groups and length + 1 + size <= limit:
            groups[-1].append(i)
            length += 1 + size
        else:
            groups.append([i])
            length = size
    return groups


def _a1(rect: tuple[int, int, int, int]) -> str:
    r1, c1, r2, c2 = rect
    first = f"{column_letter(c1 - 1)}{r1}"
    return first if (r1, c1) == (r2, c2) else f"{first}:{column_letter(c2 - 1)}{r2}"


def _each(sheet: Any, rects: Sequence[tuple[int, int, int, int]], unions: bool, action: Callable[[Any], None]) -> None:
    """Run ``action`` on every rectangle: one call per multi-area range on Windows Excel, else per rectangle.

    COM calls cross a process boundary (about a millisecond each); a status column alternates
    colours row by row, so joining its runs into multi-area ranges (``Range("P3,P7:P9,...")``)
    cuts the calls some 20-fold. Other engines (the remote engine, macOS) get plain rectangles.
    Should Excel refuse a multi-area range, that group is redone rectangle by rectangle.
    """
    if not unions:
        for r1, c1, r2, c2 in rects:
            action(sheet.range((r1, c1), (r2, c2)))
        return
    for group in union_addresses(rects):
        if len(group) > 1:
            try:
                action(sheet.range(",".join(_a1(rects[i]) for i in group)))
                continue
            except Exception:  # noqa: BLE001 - retried below area by area, where a real error surfaces
                pass
        for i in group:
            r1, c1, r2, c2 = rects[i]
            action(sheet.range((r1, c1), (r2, c2)))
