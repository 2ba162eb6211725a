"""The ledger's own id (台账编号): found in 基本信息, and created once for ledgers without one.

County templates carry the id of the ledger they were made from; a return is matched against it
(:func:`toolkit.counties.metadata.foreign_reason`), so editing 基本信息 (a corrected 反馈日期, a
renamed inspection round) never disowns the returns already out. ``zhenggai init`` writes the id
(:func:`toolkit.excel.build.write_ledger_workbook`); an older ledger gets one from its first
county-templates run, through the lossless write path (one cell pair, with a backup).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.core import schema as S
from toolkit.core.errors import ToolkitError
from toolkit.core.intake import cell_text, find_sheet
from toolkit.core.model import Table
from toolkit.core.plan import CellWrite, SheetPlan, WritePlan
from toolkit.excel.build import LEDGER_ID_LABEL, LEDGER_ID_NOTE, new_ledger_id

# Labels staff might use for the same row (compared after header normalisation).
LEDGER_ID_LABELS: tuple[str, ...] = (LEDGER_ID_LABEL, "台账ID", "台账标识")


@dataclass(frozen=True)
class LedgerIdCell:
    """Where 台账编号 is (or would go) in 基本信息 and what it holds."""

    sheet: str
    row: int  # Excel row
    label_column: str
    value_column: str
    value: str  # "" when the row is missing or its value blank
    label_present: bool
    note_column: str | None = None  # where the explanatory note goes (a new row only)


def _label_matches(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    return S.normalize_header(value) in {S.normalize_header(x) for x in LEDGER_ID_LABELS}


def find_ledger_id(tables: dict[str, Table]) -> LedgerIdCell | None:
    """The 台账编号 cell of 基本信息 (or the first free row for it); None without a 基本信息 sheet.

    Like every setting, the value sits right of its label (past a label merged over several cells).
    """
    name = find_sheet(tables, S.SHEET_SETTINGS)
    if name is None:
        return None
    table = tables[name]
    last = table.first_row - 1
    for i, row in enumerate(table.rows):
        if any(v is not None and not (isinstance(v, str) and not v.strip()) for v in row):
            last = table.excel_row(i)
        for j, v in enumerate(row):
            if not _label_matches(v):
                continue
            vj = j + 1
            while vj < len(row) and row[vj] == v:
                vj += 1
            raw = row[vj] if vj < len(row) else None
            return LedgerIdCell(name, table.excel_row(i), table.letter(j), table.letter(vj), cell_text(raw), True)
    first = table.first_col
    header = table.rows[0] if table.rows else []
    note = S.column_letter(first + 2) if len(header) > 2 and header[2] not in (None, "") else None
    return LedgerIdCell(name, max(last + 1, 2), S.column_letter(first), S.column_letter(first + 1), "", False, note)


def read_ledger_id(tables: dict[str, Table]) -> str:
    """The ledger's 台账编号, "" when it has none."""
    cell = find_ledger_id(tables)
    return cell.value if cell is not None else ""


def plan_ledger_id(tables: dict[str, Table], ledger_id: str | None = None) -> tuple[str, WritePlan | None]:
    """(the ledger's id, the plan that stores it): no plan when the ledger already has one.

    The plan writes into 基本信息 only: the value cell right of an existing 台账编号 label, or a new
    row (label, value, note) below the last used row. Any adapter applies it (the lossless file
    patcher via :func:`ensure_ledger_id`, or xlwings for the workbook open in Excel).
    """
    cell = find_ledger_id(tables)
    if cell is None:
        raise ToolkitError(
            f"台账缺少“{S.SHEET_SETTINGS}”工作表，无法记录台账编号：请先用 zhenggai check 检查台账，补上该工作表后再生成报送表。"
        )
    if cell.value:
        return cell.value, None
    new = ledger_id or new_ledger_id()
    cells = [CellWrite(cell.row, cell.value_column, new)]
    columns = [cell.value_column]
    if not cell.label_present:
        cells.insert(0, CellWrite(cell.row, cell.label_column, LEDGER_ID_LABEL))
        columns.insert(0, cell.label_column)
        if cell.note_column:
            cells.append(CellWrite(cell.row, cell.note_column, LEDGER_ID_NOTE))
            columns.append(cell.note_column)
    # Staff columns of a staff sheet: named in staff_columns so the patcher lets exactly these through.
    sheet = SheetPlan(cell.sheet, cells, staff_columns=tuple(columns), clear_from_row=2)
    return new, WritePlan([sheet])


def ensure_ledger_id(path: str | Path, tables: dict[str, Table]) -> tuple[str, Any]:
    """The ledger's 台账编号, written into the file at ``path`` first when it has none.

    ``tables`` are the ledger as read from ``path``. Returns ``(ledger_id, write_result)`` where
    ``write_result`` is the :class:`~toolkit.excel.safe_write.WriteResult` of the write, or None
    when the id was already there. Raises :class:`~toolkit.core.errors.ToolkitError` (Chinese) when
    the ledger cannot be written (open in Excel, read-only...): nothing is written then.
    """
    ledger_id, plan = plan_ledger_id(tables)
    if plan is None:
        return ledger_id, None
    from toolkit.excel.safe_write import LedgerWriteError, write_safely

    try:
        written = write_safely(path, plan)
    except LedgerWriteError as exc:
        raise ToolkitError(
            f"台账还没有“{LEDGER_ID_LABEL}”（县区报送表凭此识别台账），需要先写入台账，但写入失败：{exc}"
        ) from exc
    except FileNotFoundError as exc:
        raise ToolkitError(str(exc)) from exc
    return ledger_id, written


__all__ = [
    "LEDGER_ID_LABELS",
    "LedgerIdCell",
    "find_ledger_id",
    "read_ledger_id",
    "plan_ledger_id",
    "ensure_ledger_id",
]
