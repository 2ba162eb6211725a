"""The write plan: a plain description of every cell the toolkit writes back.

The core builds a :class:`WritePlan` from a checked ledger; adapters apply it — the lossless
file patcher (``toolkit.excel.patch``) to a saved workbook, xlwings (``toolkit.excel.live``) to
the workbook open in Excel. No Excel library is imported here.

Rules every adapter honours:
- Only cells listed in the plan change. In a staff sheet the plan only ever lists cells of
  columns whose header starts with ``【自动】`` (plus, when such a column is missing, its header
  cell in the first free column of the header row).
- ``SheetPlan.owned_sheet`` sheets belong to the toolkit entirely: the adapter clears every
  cell outside the plan's rows (``clear_from_row`` onwards) and creates the sheet when missing.
- Strings are always written as text, never as formulas, even when they start with ``=``/``+``.
  Only :class:`Formula` values become formulas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from toolkit.core import schema as S
from toolkit.core.model import Ledger
from toolkit.core.report import WARNING, Issue, Location


@dataclass(frozen=True)
class CellStyle:
    """Formatting of an owned cell. Colours are ``RRGGBB`` hex strings."""

    fill: str | None = None
    font_color: str | None = None
    bold: bool = False
    num_format: str | None = None  # e.g. "yyyy-mm-dd", "0.0%"
    wrap: bool = False
    align: str | None = None  # "left" | "center" | "right"


@dataclass(frozen=True)
class Formula:
    """A formula (without the leading ``=``) and the value to cache for readers that do not calculate."""

    text: str
    cached: str | int | float | None = None


CellValue = str | int | float | bool | date | datetime | Formula | None


class CellWrite(NamedTuple):
    """Write ``value`` (``None`` = empty the cell) with ``style`` into ``column``/``row`` (1-based).

    A named tuple rather than a frozen dataclass: a plan for a 10k-task ledger holds ~60k of
    them, and tuples are several times cheaper to create.
    """

    row: int
    column: str
    value: CellValue
    style: CellStyle | None = None


@dataclass
class SheetPlan:
    sheet: str
    cells: list[CellWrite] = field(default_factory=list)
    owned_sheet: bool = False
    # For staff sheets: the owned columns (letters) this plan covers; rows of these columns
    # that hold a value but are not in ``cells`` are emptied (e.g. a task row deleted by staff).
    owned_columns: tuple[str, ...] = ()
    # Staff columns (letters) this plan deliberately writes — only county consolidation does, to
    # merge accepted county rows into 完成情况/完成日期/…; every other plan writes owned cells only.
    staff_columns: tuple[str, ...] = ()
    # First data row of the owned area (below the header): clearing starts there.
    clear_from_row: int = 2
    column_widths: dict[str, float] = field(default_factory=dict)  # only applied to new/owned sheets


@dataclass
class WritePlan:
    sheets: list[SheetPlan] = field(default_factory=list)

    def sheet(self, name: str) -> SheetPlan | None:
        return next((s for s in self.sheets if s.sheet == name), None)

    def cell_count(self) -> int:
        return sum(len(s.cells) for s in self.sheets)

    def as_grid(self) -> dict[str, dict[tuple[int, str], tuple[CellValue, CellStyle | None]]]:
        """Plan as ``{sheet: {(row, column): (value, style)}}``: handy for comparisons in tests."""
        return {s.sheet: {(c.row, c.column): (c.value, c.style) for c in s.cells} for s in self.sheets}


# ---------------------------------------------------------------------------- what may be written

# The sheets whose required input columns every computed column (statuses, 统计) depends on.
COMPUTED_FROM = (S.SHEET_PROBLEMS, S.SHEET_TASKS)
BLOCKED_TAIL = "本次只写入校验结果，未写入整改状态和统计"


def computed_columns_blocked(ledger: Ledger) -> list[Issue]:
    """Why the computed columns (【自动】状态…, 统计) must not be written for this ledger; empty when they may.

    They may not when 问题清单 or 任务清单 is missing, or lacks a required input column (as recorded by intake
    in ``ledger.layout.missing_sheets`` / ``missing_columns``): statuses computed without, say, 完成情况 would
    turn every signed-off task into an overdue one. One warning per sheet, at its header row; the job that
    writes then writes only :func:`check_only_plan`.
    """
    layout = ledger.layout
    out: list[Issue] = []
    for canonical in COMPUTED_FROM:
        if canonical in layout.missing_sheets:
            out.append(Issue(
                "computed-columns-blocked",
                f"缺少工作表“{canonical}”，{BLOCKED_TAIL}；补上该工作表后重新运行即可写入",
                Location(ledger.source, canonical),
                WARNING,
            ))
            continue
        keys = layout.missing_columns.get(canonical)
        if not keys:
            continue
        by_key = {c.key: c for c in S.SHEET_COLUMNS[canonical]}
        names = "、".join(f"“{by_key[k].header}”" for k in keys)
        out.append(Issue(
            "computed-columns-blocked",
            f"{layout.sheet(canonical)}缺少必需列{names}，{BLOCKED_TAIL}；补上该列后重新运行即可写入",
            Location(ledger.source, layout.sheet(canonical), layout.header_rows.get(canonical), None,
                     by_key[keys[0]].header),
            WARNING,
        ))
    return out


def check_only_plan(plan: WritePlan, ledger: Ledger) -> WritePlan:
    """The part of ``plan`` that holds only check results: the 校验结果 sheet and the 【自动】校验 columns.

    What 校验台账 writes, and what a status run writes when :func:`computed_columns_blocked` says the
    computed columns may not be written. The check column of a staff sheet is recognised by its header
    cell in the plan (so a check column the plan adds in a free column is kept too); the sheet plans keep
    only that column's cells and list only it as owned, so the status columns are neither written nor emptied.
    """
    canonical = {actual: canon for canon, actual in ledger.layout.sheet_names.items()}
    check_headers = {col.header for cols in S.SHEET_OWNED.values() for col in cols if col.key == "check"}
    sheets: list[SheetPlan] = []
    for sp in plan.sheets:
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
