"""Every .xlsx/.xlsm of the shared corpus through the real patcher and safe write, on a copy.

Each file either takes a small plan with every original cell reading back unchanged (every
cell of every original sheet, compared through calamine before and after), or is refused
with a toolkit exception carrying a Chinese reason, the copy left byte-identical.
Two plans: a new owned sheet ("校验结果"), and one owned column appended to the first sheet.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from toolkit.core.errors import ToolkitError
from toolkit.core.plan import CellStyle, CellWrite, SheetPlan, WritePlan
from toolkit.core.schema import OWNED_PREFIX, column_letter
from toolkit.excel.safe_write import LedgerWriteError, write_safely

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in (".xlsx", ".xlsm") and p.is_file())
CJK = re.compile(r"[\u4e00-\u9fff]")
NEW_SHEET = "校验结果"


def _grids(path: Path) -> dict[str, list[list[object]]]:
    wb = CalamineWorkbook.from_path(str(path))
    try:
        return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in wb.sheet_names}
    finally:
        wb.close()


def _cell(grid: list[list[object]], r: int, c: int) -> object:
    return grid[r][c] if r < len(grid) and c < len(grid[r]) else ""


def _owned_sheet_plan(_before: dict[str, list[list[object]]] | None) -> tuple[WritePlan, dict]:
    cells = (
        CellWrite(1, "A", "校验结果（测试）", CellStyle(fill="FFC7CE", bold=True)),
        CellWrite(2, "B", 3),
        CellWrite(3, "C", date(2025, 6, 30)),
    )
    plan = WritePlan(sheets=(SheetPlan(NEW_SHEET, cells=cells, owned_sheet=True, clear_from_row=2),))
    return plan, {(NEW_SHEET, 0, 0): "校验结果（测试）", (NEW_SHEET, 1, 1): 3}


def _owned_column_plan(before: dict[str, list[list[object]]] | None) -> tuple[WritePlan, dict]:
    """An owned column just right of the first sheet's used area: its header and one value."""
    sheet, grid = next(iter(before.items())) if before else ("Sheet1", [])
    col = min(max((len(row) for row in grid), default=0), 16_383)
    letters = column_letter(col)
    cells = (CellWrite(1, letters, f"{OWNED_PREFIX}校验"), CellWrite(2, letters, "通过"))
    plan = WritePlan(sheets=(SheetPlan(sheet, cells=cells, owned_columns=(letters,), clear_from_row=2),))
    return plan, {(sheet, 0, col): f"{OWNED_PREFIX}校验", (sheet, 1, col): "通过"}


PLANS = {"owned-sheet": _owned_sheet_plan, "owned-column": _owned_column_plan}


@pytest.mark.parametrize("variant", list(PLANS))
@pytest.mark.parametrize("src", FILES, ids=[p.name for p in FILES])
def test_corpus_file_patched_losslessly_or_refused_in_chinese(src: Path, variant: str, tmp_path: Path) -> None:
    path = tmp_path / src.name
    path.write_bytes(src.read_bytes())  # bytes only: the corpus itself is read-only
    original = path.read_bytes()
    try:
        before = _grids(path)
    except Exception:  # noqa: BLE001 - calamine cannot read it: the patcher must refuse it
        before = None
    plan, expected = PLANS[variant](before)
    try:
        result = write_safely(path, plan, keep_backups=1)
    except (LedgerWriteError, ToolkitError) as exc:
        assert CJK.search(str(exc)), f"refusal without a Chinese reason: {exc!r}"
        assert path.read_bytes() == original
        assert [p.name for p in tmp_path.iterdir()] == [src.name]  # no backup, no temporary file
        return
    assert before is not None, "a file calamine cannot read was patched"
    assert result.written and result.changes and result.backup is not None
    assert result.backup.read_bytes() == original
    after = _grids(path)
    for sheet, grid in before.items():
        got = after[sheet]
        for r, row in enumerate(grid):
            for c, value in enumerate(row):
                if (sheet, r, c) not in expected:
                    assert _cell(got, r, c) == value, f"{sheet}!{column_letter(c)}{r + 1} changed"
        for r, row in enumerate(got):  # nothing appeared outside the plan
            for c, value in enumerate(row):
                if (sheet, r, c) not in expected and value not in ("", None):
                    assert _cell(grid, r, c) == value, f"{sheet}!{column_letter(c)}{r + 1} appeared"
    for (sheet, r, c), value in expected.items():
        assert _cell(after[sheet], r, c) == value
    assert set(after) == set(before) | {s.sheet for s in plan.sheets}
    # The same plan again: byte-identical, nothing listed.
    data = path.read_bytes()
    again = write_safely(path, plan, keep_backups=1)
    assert not again.written and again.changes == () and path.read_bytes() == data
