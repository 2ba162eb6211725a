"""Excel tables (Ctrl+T ListObjects) under the lossless patcher: new owned columns written right of a
table are taken into it; a table header that already says what the plan says keeps its formatting."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
import xlsxwriter
from conftest import require
from fidelity_workbook import prefix_main_namespace, rewrite_members
from openpyxl.worksheet.table import Table as XlTable
from python_calamine import CalamineWorkbook

from toolkit.core.plan import CellStyle, CellWrite, SheetPlan, WritePlan
from toolkit.excel.patch import PatchRefused, apply_plan, member_records, prepare_patch
from toolkit.excel.safe_write import write_safely

SHEET = "任务清单"
STAFF = ["任务编号", "整改措施", "完成情况"]
ROWS = [[f"1-{r}", f"措施{r}", "推进中"] for r in range(1, 4)]
OWNED = ["【自动】状态", "【自动】逾期天数"]
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
HEADER = CellStyle(fill="D9E1F2", bold=True)


def build_table(path: Path, *, columns: list[str] = STAFF, totals: bool = False, extra: dict | None = None) -> Path:
    """XlsxWriter: a staff table over A1:C4 (plus a totals row when asked) and an unrelated sheet."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(SHEET)
    rows = [row + [None] * (len(columns) - 3) for row in ROWS]
    last = chr(ord("A") + len(columns) - 1)
    ws.add_table(
        f"A1:{last}{len(rows) + 1 + totals}",
        {"columns": [{"header": h} for h in columns], "data": rows, "total_row": totals, "name": "台账表"},
    )
    for (r, c), value in (extra or {}).items():
        ws.write(r, c, value)
    wb.add_worksheet("备注").write(0, 0, "不相关")
    wb.close()
    return path


def build_table_openpyxl(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(STAFF)
    for row in ROWS:
        ws.append(row)
    ws.add_table(XlTable(displayName="台账表", ref="A1:C4"))
    wb.save(path)
    return path


def owned_plan(headers: dict[str, str] | None = None, rows: bool = True, **options) -> WritePlan:
    headers = {"D": OWNED[0], "E": OWNED[1]} if headers is None else headers
    cells = [CellWrite(1, col, text, HEADER) for col, text in headers.items()]
    if rows:
        cells += [CellWrite(r, "D", "正常") for r in range(2, 5)]
        cells += [CellWrite(r, "E", r) for r in range(2, 5)]
    return WritePlan([SheetPlan(SHEET, cells, owned_columns=tuple(headers), clear_from_row=2, **options)])


def grid(path: Path, sheet: str = SHEET) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def table_of(path: Path) -> tuple[str, list[str], str | None]:
    """(ref, column names, autoFilter ref) of the only table, parsed as XML."""
    root = ElementTree.fromstring(member(path, "xl/tables/table1.xml"))
    cols = root.find(f"{NS}tableColumns")
    names = [c.get("name") for c in cols.findall(f"{NS}tableColumn")]
    assert cols.get("count") == str(len(names))
    ids = [int(c.get("id")) for c in cols.findall(f"{NS}tableColumn")]
    assert len(set(ids)) == len(ids)
    af = root.find(f"{NS}autoFilter")
    return root.get("ref"), names, None if af is None else af.get("ref")


def openpyxl_tables(path: Path) -> dict[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path)
    return dict(wb[SHEET].tables.items())


def records(path: Path) -> dict[str, bytes]:
    return {name: raw for name, _m, raw in member_records(path.read_bytes())}


def soffice_roundtrip(path: Path, out: Path) -> Path | None:
    """LibreOffice opens ``path`` and saves it again as .xlsx (None when soffice is not installed)."""
    exe = shutil.which("soffice")
    if exe is None:
        return None
    out.mkdir()
    subprocess.run(
        [exe, f"-env:UserInstallation=file://{out}/profile", "--headless", "--convert-to", "xlsx",
         "--outdir", str(out), str(path)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return out / (path.stem + ".xlsx")


# ------------------------------------------------------------------------------------- extending
@pytest.mark.parametrize("builder", ["xlsxwriter", "openpyxl"])
def test_owned_columns_right_of_a_table_are_taken_into_it(tmp_path: Path, builder: str):
    path = tmp_path / "台账.xlsx"
    (build_table if builder == "xlsxwriter" else build_table_openpyxl)(path)
    before_grid, before = grid(path), records(path)
    ref0, names0, _ = table_of(path)
    assert ref0 == "A1:C4"

    assert prepare_patch(path, owned_plan()).tables_extended == (f"{SHEET} 台账表 A1:E4",)
    result = write_safely(path, owned_plan())
    assert result.written

    ref, names, af = table_of(path)
    assert ref == "A1:E4" and af == "A1:E4"
    assert names == [*names0, *OWNED]
    assert openpyxl_tables(path) == {"台账表": "A1:E4"}
    after = grid(path)
    assert after[0][:5] == [*STAFF, *OWNED]
    assert [row[:3] for row in after] == [row[:3] for row in before_grid]
    assert [row[3:5] for row in after[1:]] == [["正常", 2.0], ["正常", 3.0], ["正常", 4.0]]
    now = records(path)
    changed = {n for n in before if now[n] != before[n]}
    assert changed <= {"xl/worksheets/sheet1.xml", "xl/tables/table1.xml", "xl/sharedStrings.xml",
                       "xl/styles.xml", "xl/workbook.xml"}  # fmt: skip
    assert "xl/tables/table1.xml" in changed and set(now) == set(before)


def test_extended_table_part_keeps_every_other_byte(tmp_path: Path):
    path = build_table(tmp_path / "台账.xlsx")
    old = member(path, "xl/tables/table1.xml")
    write_safely(path, owned_plan())
    new = member(path, "xl/tables/table1.xml")
    expected = (
        old.replace(b'ref="A1:C4"', b'ref="A1:E4"')
        .replace(b'<tableColumns count="3">', b'<tableColumns count="5">')
        .replace(b"</tableColumns>", '<tableColumn id="4" name="【自动】状态"/>'
                 '<tableColumn id="5" name="【自动】逾期天数"/></tableColumns>'.encode())
    )  # fmt: skip
    assert new == expected


def test_rerun_after_extending_changes_nothing(tmp_path: Path):
    path = build_table(tmp_path / "台账.xlsx")
    write_safely(path, owned_plan())
    data = path.read_bytes()
    again = write_safely(path, owned_plan())
    assert not again.written and not again.summary.changed
    assert path.read_bytes() == data


def test_table_with_owned_columns_outside_is_extended_on_the_next_write(tmp_path: Path):
    """A ledger adopted before tables were extended: its headers are already right of the table."""
    path = build_table(tmp_path / "台账.xlsx", extra={(0, 3): OWNED[0], (0, 4): OWNED[1]})
    assert prepare_patch(path, owned_plan(rows=False)).tables_extended == (f"{SHEET} 台账表 A1:E4",)


def test_gap_stops_the_extension(tmp_path: Path):
    path = build_table(tmp_path / "台账.xlsx")
    write_safely(path, owned_plan({"D": OWNED[0], "F": OWNED[1]}, rows=False))
    ref, names, _ = table_of(path)
    assert ref == "A1:D4" and names == [*STAFF, OWNED[0]]
    assert grid(path)[0][5] == OWNED[1]


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("not-adjacent", {"E": OWNED[0], "F": OWNED[1]}),
        ("duplicate-name", {"D": OWNED[0], "E": "完成情况"}),
        ("duplicate-in-run", {"D": OWNED[0], "E": OWNED[0]}),
        ("empty-header", {"D": OWNED[0], "E": "  "}),
        ("line-break", {"D": OWNED[0], "E": "【自动】逾期\n天数"}),
    ],
)
def test_table_left_as_is_when_the_new_columns_cannot_join_it(tmp_path: Path, case: str, headers: dict[str, str]):
    path = build_table(tmp_path / "台账.xlsx")
    old = member(path, "xl/tables/table1.xml")
    # Headers without 【自动】 go through a plan that names their column as a staff column it may write.
    plan = owned_plan(headers, rows=False, staff_columns=("E",) if case in ("duplicate-name", "empty-header") else ())
    assert prepare_patch(path, plan).tables_extended == ()
    result = write_safely(path, plan)
    assert result.written
    assert member(path, "xl/tables/table1.xml") == old
    assert openpyxl_tables(path) == {"台账表": "A1:C4"}


def test_table_with_totals_row_is_not_extended(tmp_path: Path):
    path = build_table(tmp_path / "台账.xlsx", totals=True)
    old = member(path, "xl/tables/table1.xml")
    plan = WritePlan([SheetPlan(SHEET, [CellWrite(1, "D", OWNED[0])], owned_columns=("D",), clear_from_row=2)])
    assert prepare_patch(path, plan).tables_extended == ()
    result = write_safely(path, plan)
    assert result.written
    assert member(path, "xl/tables/table1.xml") == old


def test_merged_cells_beside_the_table_block_the_extension(tmp_path: Path):
    path = tmp_path / "台账.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(STAFF)
    for row in ROWS:
        ws.append(row)
    ws.add_table(XlTable(displayName="台账表", ref="A1:C4"))
    ws.merge_cells("D3:D4")
    wb.save(path)
    old = member(path, "xl/tables/table1.xml")
    write_safely(path, owned_plan({"D": OWNED[0]}, rows=False))
    assert member(path, "xl/tables/table1.xml") == old


# ------------------------------------------------------------------------------- existing table headers
def test_table_header_with_planned_text_keeps_its_format_instead_of_refusing(tmp_path: Path):
    path = build_table(tmp_path / "台账.xlsx", columns=[*STAFF, *OWNED])
    sheet_before = member(path, "xl/worksheets/sheet1.xml")
    old_table = member(path, "xl/tables/table1.xml")
    result = write_safely(path, owned_plan())  # HEADER style differs from the table's header cells
    assert result.written
    rewritten = set(result.summary.rewritten_cells[SHEET])
    assert not {(1, "D"), (1, "E")} & rewritten
    assert member(path, "xl/tables/table1.xml") == old_table
    assert grid(path)[0][:5] == [*STAFF, *OWNED]

    # The header cells' XML is unchanged (same style index).
    def header_cells(xml: bytes) -> list[bytes]:
        return re.findall(rb'<c r="[DE]1"[^>]*>', xml)

    assert header_cells(member(path, "xl/worksheets/sheet1.xml")) == header_cells(sheet_before)


def test_table_header_with_other_text_is_still_refused(tmp_path: Path):
    path = build_table(tmp_path / "台账.xlsx", columns=[*STAFF, *OWNED])
    data = path.read_bytes()
    with pytest.raises(PatchRefused) as exc:
        write_safely(path, owned_plan({"D": "【自动】新状态", "E": OWNED[1]}))
    assert exc.value.cell == "D1" and "标题行" in exc.value.message
    assert path.read_bytes() == data


def test_extended_table_survives_libreoffice(tmp_path: Path):
    src = build_table(tmp_path / "台账.xlsx")
    require("soffice")  # skipped locally without LibreOffice, a failure under CI=true
    dst = tmp_path / "结果.xlsx"
    apply_plan(src, owned_plan(), dst)
    saved = soffice_roundtrip(dst, tmp_path / "lo")
    assert saved is not None, "LibreOffice produced no file"
    assert list(openpyxl_tables(saved).values()) == ["A1:E4"]
    assert grid(saved)[0][:5] == [*STAFF, *OWNED]
    assert [row[:3] for row in grid(saved)] == [STAFF, *ROWS]


def test_prefixed_table_part_gets_prefixed_columns(tmp_path: Path):
    """A table part written with a ``x:`` prefix (as WPS/LibreOffice may) keeps it on the new columns."""
    path = build_table(tmp_path / "台账.xlsx")
    rewrite_members(path, {"xl/tables/table1.xml": prefix_main_namespace})
    write_safely(path, owned_plan())
    xml = member(path, "xl/tables/table1.xml")
    assert '<x:tableColumn id="4" name="【自动】状态"/>'.encode() in xml and b"<tableColumn" not in xml
    ref, names, af = table_of(path)
    assert ref == af == "A1:E4" and names == [*STAFF, *OWNED]
    assert openpyxl_tables(path) == {"台账表": "A1:E4"}
