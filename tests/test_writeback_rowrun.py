"""Issue 15, second round (status write-back): adjacent planned cells of a row found by one regex match,
whole-plan validation, sheets parsed ahead for the read-back, plan cells streamed to the read-back.

Every test compares with the frozen pre-change patcher (tests/perf_reference) or with the plain
per-cell path on real files built here.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

import pytest
import xlsxwriter
from fidelity_workbook import rewrite_members
from perf_reference.patch import PatchRefused as RefPatchRefused
from perf_reference.patch import prepare_patch as ref_prepare_patch
from perf_reference.patch.checks import validate_plan as ref_validate_plan

from toolkit.core.plan import CellStyle, CellWrite, SheetPlan, WritePlan
from toolkit.excel import safe_write
from toolkit.excel.patch import PatchRefused, prepare_patch
from toolkit.excel.patch.checks import validate_plan
from toolkit.excel.safe_write import VerifyFailed

SHEET = "任务清单"
RED = CellStyle(fill="FFC7CE", font_color="9C0006")


def _sheet(path: Path, rows: int, edit=None) -> Path:  # noqa: ANN001
    """A:B staff columns, C:D:E owned columns (text, number, empty formatted cell); ``edit`` rewrites the sheet XML."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(SHEET)
    fmt = wb.add_format({"bold": True})
    ws.write_row(0, 0, ["编号", "措施", "【自动】状态", "【自动】天数", "【自动】备注"])
    for r in range(1, rows + 1):
        ws.write_row(r, 0, [f"1-{r}", "措施"])
        ws.write(r, 2, "推进中")
        ws.write(r, 3, r % 3)
        ws.write_blank(r, 4, None, fmt)
    wb.close()
    if edit is not None:
        rewrite_members(path, {"xl/worksheets/sheet1.xml": edit})
    return path


def _plan(rows: int, *, skip_e: bool = False) -> WritePlan:
    cells = []
    for r in range(2, rows + 2):
        cells.append(CellWrite(r, "C", "已逾期" if r % 2 else "推进中", RED if r % 4 == 0 else None))
        cells.append(CellWrite(r, "D", r % 3 if r % 5 else 9, None))
        if not skip_e:
            cells.append(CellWrite(r, "E", None if r % 3 else "注", None))
    owned = ("C", "D") if skip_e else ("C", "D", "E")
    return WritePlan([SheetPlan(SHEET, cells, owned_columns=owned, clear_from_row=2)])


def _same_as_reference(path: Path, plan: WritePlan, tmp_path: Path) -> None:
    blob = path.read_bytes()
    try:
        old = ref_prepare_patch(blob, plan)
    except RefPatchRefused as exc:
        with pytest.raises(PatchRefused) as got:
            prepare_patch(blob, plan)
        assert str(got.value) == str(exc)
        return
    new = prepare_patch(blob, plan)
    assert asdict(new.summary) == asdict(old.summary)
    old.write(tmp_path / "old.xlsx")
    new.write(tmp_path / "new.xlsx")
    assert (tmp_path / "new.xlsx").read_bytes() == (tmp_path / "old.xlsx").read_bytes()


def _row_edit(row: int, fn):  # noqa: ANN001, ANN202
    """Apply ``fn`` to the bytes of one ``<row r="row">…</row>``."""

    def edit(xml: bytes) -> bytes:
        m = re.search(rb'<row r="%d"[^>]*>.*?</row>' % row, xml, re.S)
        new = fn(m.group(0))
        assert new != m.group(0)
        return xml[: m.start()] + new + xml[m.end() :]

    return edit


def test_adjacent_planned_cells_patch_identically_to_pre_change_code(tmp_path):
    path = _sheet(tmp_path / "l.xlsx", 40)
    _same_as_reference(path, _plan(40), tmp_path)
    _same_as_reference(path, _plan(40, skip_e=True), tmp_path)


@pytest.mark.parametrize(
    "shape",
    [
        # A later column's cell repeated before the first one (a find takes the first occurrence).
        lambda row: row.replace(b'<c r="C7"', b'<c r="D7" t="n"><v>4</v></c><c r="C7"', 1),
        # A later column's cell repeated after the run.
        lambda row: row.replace(b"</row>", b'<c r="D7"><v>8</v></c></row>'),
        # Something between two planned cells (not adjacent in the XML).
        lambda row: row.replace(b'<c r="D7"', b'<c r="XX9" s="0"/><c r="D7"', 1),
        # A ">" inside an attribute value and a self-closing cell with attributes after r.
        lambda row: row.replace(b'<c r="D7"', b'<c r="D7" x="a>b"', 1),
        lambda row: re.sub(rb'<c r="E7"[^>]*/>', b'<c r="E7" s="0" />', row),
        # Whitespace between cells.
        lambda row: row.replace(b'<c r="D7"', b'\n  <c r="D7"', 1),
    ],
)
def test_odd_rows_fall_back_and_patch_identically_to_pre_change_code(tmp_path, shape):
    path = _sheet(tmp_path / "l.xlsx", 12, _row_edit(7, shape))
    _same_as_reference(path, _plan(12), tmp_path)


def test_prefixed_worksheet_patches_identically_to_pre_change_code(tmp_path):
    def prefixed(xml: bytes) -> bytes:
        xml = xml.replace(b"<worksheet xmlns=", b"<x:worksheet xmlns:x=").replace(b"</worksheet>", b"</x:worksheet>")
        return re.sub(
            rb"<(/?)(sheetData|row|c|v|f|is|t|dimension|sheetViews|sheetView|selection|sheetFormatPr|cols|col|pageMargins)(?=[\s/>])",
            rb"<\1x:\2",
            xml,
        )

    path = _sheet(tmp_path / "l.xlsx", 15, prefixed)
    _same_as_reference(path, _plan(15), tmp_path)


def _refusal(fn, plan):  # noqa: ANN001, ANN202
    try:
        fn(plan)
    except (PatchRefused, RefPatchRefused) as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(
    "bad",
    [
        lambda cells: cells.append(CellWrite(5, "D", 1, None)),  # duplicate, reported at its second place
        lambda cells: cells.insert(3, CellWrite(0, "C", "x", None)),
        lambda cells: cells.insert(7, CellWrite(3, "c", "x", None)),
        lambda cells: cells.insert(2, CellWrite(4, "XFE", "x", None)),
        lambda cells: cells.insert(9, CellWrite(20, "F", "a" * 32768, None)),
        lambda cells: cells.insert(9, CellWrite(21, "F", "坏\ud800", None)),
        lambda cells: cells.insert(4, CellWrite(22, "F", float("nan"), None)),
        lambda cells: cells.insert(4, CellWrite(23, "F", object(), None)),
        lambda cells: cells.insert(6, CellWrite(24, "F", "x", CellStyle(fill="red"))),
        lambda cells: cells.insert(6, CellWrite(25, "F", "x", CellStyle(align="middle"))),
        # Two faults: the first in plan order is reported.
        lambda cells: (cells.insert(1, CellWrite(26, "F", "x", CellStyle(fill="red"))), cells.append(cells[0])),
    ],
)
def test_whole_plan_validation_refuses_as_the_per_cell_loop_did(bad):
    plan = _plan(10)
    bad(plan.sheets[0].cells)
    expected = _refusal(ref_validate_plan, plan)
    assert expected is not None
    assert _refusal(validate_plan, plan) == expected


def test_valid_plan_passes_whole_plan_validation():
    assert _refusal(validate_plan, _plan(30)) is None


def _written(tmp_path: Path, plan: WritePlan, rows: int):  # noqa: ANN202
    path = _sheet(tmp_path / "l.xlsx", rows)
    prepared = prepare_patch(path.read_bytes(), plan)
    temp = tmp_path / "t.xlsx"
    prepared.write(temp)
    return path, prepared, temp


def test_read_back_with_sheets_parsed_ahead_names_the_wrong_cell_of_a_later_sheet(tmp_path):
    plan = _plan(20)
    path, prepared, temp = _written(tmp_path, plan, 20)
    # The same sheet read back a second time, with one wrong cell: found while the next sheet is parsed ahead.
    again = [CellWrite(cw.row, cw.column, cw.value, cw.style) for cw in plan.sheets[0].cells]
    again[10] = CellWrite(again[10].row, again[10].column, "错", None)
    safe_write._verify(temp, path.read_bytes(), prepared, plan)  # the right plan verifies
    wrong = WritePlan([plan.sheets[0], SheetPlan("无此表", [CellWrite(2, "A", "x", None)], owned_columns=())])
    with pytest.raises(VerifyFailed, match="工作表「无此表」的 A2 应为 “x”，读回的是 （空）"):
        safe_write._verify(temp, path.read_bytes(), prepared, wrong)
    renamed = WritePlan([plan.sheets[0], SheetPlan(SHEET, again, owned_columns=())])
    ref = f"{again[10].column}{again[10].row}"
    with pytest.raises(VerifyFailed, match=f"工作表「{SHEET}」的 {ref} 应为 “错”"):
        safe_write._verify(temp, path.read_bytes(), prepared, renamed)


def test_sheets_ahead_stops_cleanly_without_being_read(tmp_path):
    _path, _prepared, temp = _written(tmp_path, _plan(5), 5)
    ahead = safe_write._SheetsAhead(temp, [SHEET, None, SHEET, SHEET])
    wb, sheet = ahead.get(0)
    assert sheet is not None and wb is not None
    assert ahead.get(1)[1] is None
    ahead.close()  # two sheets still queued: the reader stops, the workbook is closed
    assert not ahead._thread.is_alive()


def test_sheets_ahead_reraises_a_failed_open_for_every_sheet(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip")
    ahead = safe_write._SheetsAhead(bad, [SHEET])
    with pytest.raises(Exception):  # noqa: B017  (python-calamine's own error type)
        ahead.get(0)
    ahead.close()


def test_streamed_plan_cells_read_back_as_the_sorted_list(tmp_path):
    plan = _plan(12)
    cells = plan.sheets[0].cells
    streamed = safe_write._wanted(cells, ())
    assert isinstance(streamed, safe_write._InPlanOrder)
    as_list = [(cw.row, safe_write._column_of(cw.column), i, cw.value) for i, cw in enumerate(cells)]
    assert list(streamed) == sorted(as_list, key=lambda t: t[0]) == list(streamed)  # re-iterable
    # Out of row order, or with cleared cells: the sorted list as before (ties: plan order, then cleared).
    shuffled = [cells[5], *cells[:5], *cells[6:]]
    got = safe_write._wanted(shuffled, ((2, "E"),))
    assert isinstance(got, list)
    assert [t[2] for t in got if t[0] == 2][-1] == len(shuffled)  # the cleared cell after row 2's plan cells
    assert [t[0] for t in got] == sorted(t[0] for t in got)
    path, prepared, temp = _written(tmp_path, plan, 12)
    owned = plan.sheets[0].owned_columns
    safe_write._verify(temp, path.read_bytes(), prepared, WritePlan([SheetPlan(SHEET, shuffled, owned_columns=owned)]))
