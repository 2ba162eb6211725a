"""The patched ledger keeps every feature: untouched members byte-identical, features present."""

from __future__ import annotations

import re
import shutil
import warnings
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from fidelity_workbook import (
    CHECK_SHEET,
    FEATURE_MARKERS,
    MACRO_MARKERS,
    TASK_SHEET,
    build_fidelity_workbook,
    find_vba_project,
    resave_with_libreoffice,
)
from lxml import etree
from python_calamine import CalamineWorkbook

from toolkit.core.plan import CellStyle, CellWrite, Formula, SheetPlan, WritePlan
from toolkit.core.schema import column_index
from toolkit.excel.patch import apply_plan, member_records
from toolkit.excel.safe_write import write_safely

ROWS = 20
RED = CellStyle(fill="FFC7CE", font_color="9C0006", bold=True)


def ledger_plan(rows: int = ROWS, *, styled: bool = True) -> WritePlan:
    """A plan like the toolkit's: two owned columns of 任务清单, the owned 校验结果, a new 统计."""
    cells = []
    for r in range(2, rows + 2):
        overdue = r % 3 == 0
        style = RED if styled and overdue else None
        cells.append(CellWrite(r, "I", "已逾期" if overdue else "推进中", style))
        cells.append(CellWrite(r, "J", r - 1 if overdue else None))
    check = [CellWrite(1, "A", "位置"), CellWrite(1, "B", "问题"), CellWrite(1, "C", "修改建议")]
    check += [
        CellWrite(2, "A", "任务清单!F3"),
        CellWrite(2, "B", "完成时限早于反馈日期"),
        CellWrite(2, "C", "请核对时限"),
    ]
    stats = [CellWrite(1, "A", "统计日期"), CellWrite(1, "B", date(2025, 6, 30)), CellWrite(2, "A", "完成率")]
    stats.append(CellWrite(2, "B", Formula('COUNTIF(任务清单!G:G,"已完成")/20', 0.25), CellStyle(num_format="0.0%")))
    return WritePlan(
        [
            SheetPlan(TASK_SHEET, cells, owned_columns=("I", "J")),
            SheetPlan(CHECK_SHEET, check, owned_sheet=True),
            SheetPlan("统计", stats, owned_sheet=True, column_widths={"A": 14, "B": 12}),
        ]
    )


def records(path: Path) -> list[tuple[str, int, bytes]]:
    return member_records(path.read_bytes())


def present_markers(path: Path, markers) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    return {
        name
        for name, pattern, marker in markers
        if any(re.fullmatch(pattern, n) and marker in data for n, data in members.items())
    }


def assert_values(path: Path, plan: WritePlan) -> None:
    """Every plan cell reads back right with python-calamine and with openpyxl."""
    wb = CalamineWorkbook.from_path(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ox = openpyxl.load_workbook(path)
        ox_values = openpyxl.load_workbook(path, data_only=True)
    for sp in plan.sheets:
        grid = wb.get_sheet_by_name(sp.sheet).to_python(skip_empty_area=False)
        for cw in sp.cells:
            got = grid[cw.row - 1][column_index(cw.column)]
            cell = ox[sp.sheet][f"{cw.column}{cw.row}"]
            value = cw.value
            if isinstance(value, Formula):
                assert got == pytest.approx(value.cached), (sp.sheet, cw)
                assert cell.value == "=" + value.text
                assert ox_values[sp.sheet][f"{cw.column}{cw.row}"].value == pytest.approx(value.cached)
            elif value is None:
                assert got == "" and cell.value is None, (sp.sheet, cw)
            elif isinstance(value, date):
                assert got == value and cell.value.date() == value, (sp.sheet, cw)
            else:
                assert got == value and cell.value == value, (sp.sheet, cw, got, cell.value)


def assert_untouched_identical(src: Path, dst: Path, allowed: set[str]) -> None:
    """Members outside ``allowed`` are byte-identical (raw record); order and methods kept."""
    before, after = records(src), records(dst)
    after_by_name = {n: (m, raw) for n, m, raw in after}
    before_names = [n for n, _, _ in before]
    kept = [n for n in before_names if n in after_by_name]
    assert [n for n, _, _ in after][: len(kept)] == kept, "member order changed"
    for name, method, raw in before:
        if name not in after_by_name:
            assert name in allowed, f"{name} disappeared"
            continue
        assert after_by_name[name][0] == method, f"compression of {name} changed"
        if name not in allowed:
            assert after_by_name[name][1] == raw, f"{name} is not byte-identical"


def assert_well_formed(src: Path, dst: Path) -> None:
    """Every member the patch changed or added is well-formed, namespace-correct XML."""
    with zipfile.ZipFile(dst) as zf:
        for name in changed_members(src, dst):
            if name in zf.namelist():
                etree.fromstring(zf.read(name), etree.XMLParser(resolve_entities=False, no_network=True))


def changed_members(src: Path, dst: Path) -> set[str]:
    before = {n: raw for n, _, raw in records(src)}
    after = {n: raw for n, _, raw in records(dst)}
    return {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}


ALLOWED = {
    "xl/worksheets/sheet2.xml",  # 任务清单
    "xl/worksheets/sheet6.xml",  # 校验结果
    "xl/worksheets/sheet8.xml",  # 统计 (new)
    "xl/sharedStrings.xml",
    "xl/styles.xml",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "[Content_Types].xml",
}


@pytest.fixture(params=["xlsx", "xlsm"])
def fixture_workbook(request, tmp_path: Path) -> tuple[Path, bool]:
    macro = request.param == "xlsm"
    if macro and find_vba_project() is None:
        pytest.skip("no vbaProject.bin available (xlwings quickstart or shared corpus)")
    return build_fidelity_workbook(tmp_path / f"台账.{request.param}", macro=macro, rows=ROWS), macro


def test_fixture_carries_every_feature(fixture_workbook):
    path, macro = fixture_workbook
    markers = FEATURE_MARKERS + (MACRO_MARKERS if macro else ())
    assert present_markers(path, markers) == {name for name, _, _ in markers}


def test_patch_keeps_every_feature_and_untouched_member(fixture_workbook, tmp_path: Path):
    src, macro = fixture_workbook
    dst = tmp_path / ("out" + src.suffix)
    plan = ledger_plan()
    summary = apply_plan(src, plan, dst)

    assert summary.changed and summary.sheets_created == ("统计",)
    assert changed_members(src, dst) <= ALLOWED
    assert_untouched_identical(src, dst, ALLOWED)
    assert_well_formed(src, dst)
    markers = FEATURE_MARKERS + (MACRO_MARKERS if macro else ())
    assert present_markers(dst, markers) == {name for name, _, _ in markers}
    if macro:
        with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst) as b:
            assert a.read("xl/vbaProject.bin") == b.read("xl/vbaProject.bin")
            assert b"<controls>" in b.read("xl/worksheets/sheet2.xml")
    with zipfile.ZipFile(dst) as zf:
        assert zf.testzip() is None
        workbook = zf.read("xl/workbook.xml")
        assert b'fullCalcOnLoad="1"' in workbook
        assert 'name="统计"'.encode() in workbook
        # Cached values of the staff's formulas are untouched (H column of 任务清单).
        assert re.search(
            rb'<c r="H4" s="\d+"><f>IF\(G4="[^"]+",1,0\)</f><v>1</v></c>', zf.read("xl/worksheets/sheet2.xml")
        )
        assert b"<v>0.25</v>" in zf.read("xl/worksheets/sheet8.xml")
    assert_values(dst, plan)


def test_owned_columns_and_sheet_are_cleared_outside_the_plan(tmp_path: Path):
    src = build_fidelity_workbook(tmp_path / "台账.xlsx", rows=ROWS)
    dst = tmp_path / "out.xlsx"
    plan = ledger_plan(rows=10)  # rows 12..21 of I:J are no longer in the plan
    summary = apply_plan(src, plan, dst)
    grid = CalamineWorkbook.from_path(str(dst)).get_sheet_by_name(TASK_SHEET).to_python(skip_empty_area=False)
    assert [row[8:10] for row in grid[11:21]] == [["", ""]] * 10
    assert [row[:8] for row in grid] == [
        row[:8]
        for row in CalamineWorkbook.from_path(str(src)).get_sheet_by_name(TASK_SHEET).to_python(skip_empty_area=False)
    ]
    check = CalamineWorkbook.from_path(str(dst)).get_sheet_by_name(CHECK_SHEET).to_python()
    assert check == [["位置", "问题", "修改建议"], ["任务清单!F3", "完成时限早于反馈日期", "请核对时限"]]
    assert ("I", 12) in {(c, r) for r, c in summary.cleared_cells[TASK_SHEET]}
    # The emptied owned cells keep the staff's border style.
    with zipfile.ZipFile(dst) as zf:
        assert b'<c r="I15" s="4"/>' in zf.read("xl/worksheets/sheet2.xml")


def test_write_safely_twice_changes_nothing_the_second_time(fixture_workbook):
    src, _ = fixture_workbook
    plan = ledger_plan()
    first = write_safely(src, plan)
    assert first.written and first.changes
    data, mtime = src.read_bytes(), src.stat().st_mtime_ns
    second = write_safely(src, plan)
    assert not second.written and second.changes == ()
    assert src.read_bytes() == data and src.stat().st_mtime_ns == mtime
    assert len(list((src.parent / "台账备份").iterdir())) == 1


@pytest.fixture(scope="module")
def libreoffice_copy(tmp_path_factory) -> Path:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not on PATH")
    base = tmp_path_factory.mktemp("lo")
    src = build_fidelity_workbook(base / "台账.xlsx", rows=ROWS)
    out = resave_with_libreoffice(src, base / "out", base / "profile")
    if out is None:
        pytest.skip("LibreOffice produced no file")
    return out


@pytest.mark.slow
def test_libreoffice_saved_copy_patches_losslessly(libreoffice_copy: Path, tmp_path: Path):
    src = tmp_path / "台账.xlsx"
    shutil.copy(libreoffice_copy, src)
    dst = tmp_path / "out.xlsx"
    plan = ledger_plan()
    apply_plan(src, plan, dst)
    # LibreOffice names parts its own way: allow the sheets the plan touches by their rels.
    wb = openpyxl.load_workbook(src, read_only=True)
    order = wb.sheetnames
    wb.close()
    touched = {
        f"xl/worksheets/sheet{order.index(TASK_SHEET) + 1}.xml",
        f"xl/worksheets/sheet{order.index(CHECK_SHEET) + 1}.xml",
    }
    allowed = (ALLOWED - {"xl/worksheets/sheet2.xml", "xl/worksheets/sheet6.xml"}) | touched
    allowed.add("xl/worksheets/sheet8.xml")
    assert changed_members(src, dst) <= allowed
    assert_untouched_identical(src, dst, allowed)
    assert_well_formed(src, dst)
    assert present_markers(dst, FEATURE_MARKERS) >= present_markers(src, FEATURE_MARKERS)
    assert_values(dst, plan)


@pytest.mark.slow
def test_libreoffice_resave_of_patched_file_needs_no_second_patch(tmp_path: Path):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not on PATH")
    src = build_fidelity_workbook(tmp_path / "台账.xlsx", rows=ROWS)
    plan = ledger_plan(styled=False)
    plan.sheets = plan.sheets[:2]  # 统计 carries styles, which LibreOffice renumbers
    assert write_safely(src, plan).written
    resaved = resave_with_libreoffice(src, tmp_path / "lo", tmp_path / "profile")
    assert resaved is not None
    # LibreOffice re-encodes every string and style; equal values must still count as equal.
    result = write_safely(resaved, plan)
    assert not result.written and result.changes == ()
