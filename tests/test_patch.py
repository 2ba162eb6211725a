"""apply_plan: values of every kind, strings verbatim, styles, odd XML, refusals."""

from __future__ import annotations

import re
import warnings
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from fidelity_workbook import prefix_main_namespace, rewrite_members
from python_calamine import CalamineWorkbook

from toolkit.core.plan import CellStyle, CellWrite, Formula, SheetPlan, WritePlan
from toolkit.excel.patch import PatchRefused, apply_plan, member_records, prepare_patch
from toolkit.excel.safe_write import write_safely

SHEET = "任务清单"
HEADERS = ["任务编号", "整改措施", "完成情况", "【自动】状态", "【自动】逾期天数"]


def build_ledger(path: Path, rows: int = 5, **options) -> Path:
    """A small staff sheet: A:C staff columns, D:E owned columns with bordered cells."""
    wb = xlsxwriter.Workbook(str(path), options)
    border = wb.add_format({"border": 1})
    ws = wb.add_worksheet(SHEET)
    ws.write_row(0, 0, HEADERS)
    for r in range(1, rows + 1):
        ws.write_row(r, 0, [f"1-{r}", f"措施{r}", "推进中"])
        ws.write(r, 3, "旧状态", border)
        ws.write(r, 4, r, border)
    wb.add_worksheet("备注").write(0, 0, "不相关")
    wb.close()
    return path


def grid(path: Path, sheet: str = SHEET) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def load_openpyxl(path: Path, **kwargs) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path, **kwargs)


def plan_of(*cells: CellWrite, sheet: str = SHEET, **options) -> WritePlan:
    return WritePlan([SheetPlan(sheet, list(cells), **options)])


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


SPECIAL_STRINGS = [
    '=HYPERLINK("x")',
    "+cmd",
    "-2+3",
    "@SUM(A1)",
    "<&>\"'",
    "_x000D_",
    "😀 整改完成 ✅",
    "  前后有空格  ",
    "第一行\n第二行",
    "制表\t符",
    "回车\r符",
    "]]> 与 <![CDATA[",
    "0012",
]
# openpyxl's shared-string reader only strips "x005F_", so it misreads a text that literally
# contains an escaped underscore; Excel, LibreOffice and calamine decode it right.
# It also leaves the _xHHHH_ escapes of control characters undecoded.
CALAMINE_ONLY = ["_x005F_x0041_", "a_x0041_b_x", "控制\x01字符\x1f"]


def test_special_strings_round_trip_verbatim(tmp_path: Path):
    texts = SPECIAL_STRINGS + CALAMINE_ONLY
    src = build_ledger(tmp_path / "in.xlsx", rows=len(texts))
    dst = tmp_path / "out.xlsx"
    cells = [CellWrite(r, "D", s) for r, s in enumerate(texts, start=2)]
    apply_plan(src, plan_of(*cells), dst)

    assert [row[3] for row in grid(dst)[1:]] == texts
    ws = load_openpyxl(dst)[SHEET]
    assert [ws.cell(r, 4).value for r in range(2, len(SPECIAL_STRINGS) + 2)] == SPECIAL_STRINGS
    assert all(ws.cell(r, 4).data_type == "s" for r in range(2, len(SPECIAL_STRINGS) + 2))
    sheet_xml = member(dst, "xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml, "text must never become a formula"


def test_every_value_kind_reads_back(tmp_path: Path):
    src = build_ledger(tmp_path / "in.xlsx", rows=10)
    dst = tmp_path / "out.xlsx"
    values = {
        2: 42,
        3: 0.1 + 0.2,
        4: -7.5,
        5: True,
        6: False,
        7: date(2025, 6, 30),
        8: datetime(2025, 6, 30, 14, 45),
        9: Formula("LEN(B9)", 3),
        10: Formula('IF(C10="推进中","在办","")', "在办"),
        11: None,
    }
    apply_plan(src, plan_of(*(CellWrite(r, "D", v) for r, v in values.items())), dst)

    got = [row[3] for row in grid(dst)[1:11]]
    assert got == [42, 0.1 + 0.2, -7.5, True, False, date(2025, 6, 30), datetime(2025, 6, 30, 14, 45), 3, "在办", ""]
    ws = load_openpyxl(dst)[SHEET]
    assert ws["D7"].value == datetime(2025, 6, 30) and ws["D7"].number_format == "yyyy-mm-dd"
    assert ws["D8"].number_format == "yyyy-mm-dd hh:mm"
    assert ws["D9"].value == "=LEN(B9)"
    assert load_openpyxl(dst, data_only=True)[SHEET]["D10"].value == "在办"
    # None empties the value but keeps the staff's border.
    assert ws["D11"].value is None and ws["D11"].border.left.style == "thin"


def test_style_is_derived_from_the_cell_and_deduplicated(tmp_path: Path):
    src = build_ledger(tmp_path / "in.xlsx")
    red = CellStyle(fill="FFC7CE", font_color="9C0006", bold=True, align="center", wrap=True)
    green = CellStyle(fill="C6EFCE")
    a, b, c = tmp_path / "a.xlsx", tmp_path / "b.xlsx", tmp_path / "c.xlsx"
    apply_plan(src, plan_of(CellWrite(2, "D", "已逾期", red), CellWrite(3, "D", "已逾期", red)), a)
    apply_plan(a, plan_of(CellWrite(2, "D", "正常", green), CellWrite(3, "D", "已逾期", red)), b)
    apply_plan(b, plan_of(CellWrite(2, "D", "已逾期", red), CellWrite(3, "D", "已逾期", red)), c)

    ws = load_openpyxl(a)[SHEET]
    cell = ws["D2"]
    assert cell.fill.fgColor.rgb == "FFFFC7CE" and cell.font.b and cell.font.color.rgb == "FF9C0006"
    assert cell.alignment.horizontal == "center" and cell.alignment.wrap_text
    assert cell.border.left.style == "thin", "the staff's border stays"
    assert ws["D4"].fill.fgColor.rgb != "FFFFC7CE"

    def xfs(path: Path) -> list[bytes]:
        return re.findall(rb"<xf [^>]*?(?:/>|>.*?</xf>)", member(path, "xl/styles.xml").split(b"<cellXfs")[1])

    before, after_a, after_c = xfs(src), xfs(a), xfs(c)
    assert after_a[: len(before)] == before, "existing style indices never move"
    assert len(after_a) == len(before) + 1, "one new xf for two cells with the same style"
    assert len(after_c) == len(xfs(b)), "going back to an earlier style reuses its xf"
    assert load_openpyxl(c)[SHEET]["D2"].fill.fgColor.rgb == "FFFFC7CE"


def test_shared_strings_are_appended_and_counted(tmp_path: Path):
    src = build_ledger(tmp_path / "in.xlsx")
    dst = tmp_path / "out.xlsx"
    apply_plan(
        src,
        plan_of(
            CellWrite(2, "D", "新状态"), CellWrite(3, "D", "新状态"), CellWrite(4, "D", "推进中"), CellWrite(5, "D", 1)
        ),
        dst,
    )
    old_sst, new_sst = member(src, "xl/sharedStrings.xml"), member(dst, "xl/sharedStrings.xml")
    old_items = re.findall(rb"<si>.*?</si>", old_sst)
    new_items = re.findall(rb"<si>.*?</si>", new_sst)
    assert new_items[: len(old_items)] == old_items, "existing entries never move"
    assert new_items[len(old_items) :] == ["<si><t>新状态</t></si>".encode()], "推进中 reuses its entry"
    refs = sum(member(dst, f"xl/worksheets/sheet{i}.xml").count(b't="s"') for i in (1, 2))
    assert re.search(rb'count="(\d+)" uniqueCount="(\d+)"', new_sst).groups() == (
        str(refs).encode(),
        str(len(new_items)).encode(),
    )


def test_prefixed_namespace_files_are_patched_in_their_own_prefix(tmp_path: Path):
    src = build_ledger(tmp_path / "in.xlsx")
    parts = ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/styles.xml", "xl/workbook.xml"]
    rewrite_members(src, {name: prefix_main_namespace for name in parts})
    assert grid(src)[1][3] == "旧状态", "the prefixed fixture is readable"
    dst = tmp_path / "out.xlsx"
    plan = WritePlan(
        [
            SheetPlan(
                SHEET,
                [
                    CellWrite(2, "D", "已逾期", CellStyle(fill="FFC7CE")),
                    CellWrite(3, "E", 9),
                    CellWrite(9, "D", "新行"),
                ],
                owned_columns=("D", "E"),
            ),
            SheetPlan("校验结果", [CellWrite(1, "A", "位置"), CellWrite(2, "A", "任务清单!D2")], owned_sheet=True),
        ]
    )
    apply_plan(src, plan, dst)

    rows = grid(dst)
    assert [r[3:5] for r in rows[1:9]] == [
        ["已逾期", ""],
        ["", 9],
        ["", ""],
        ["", ""],
        ["", ""],
        ["", ""],
        ["", ""],
        ["新行", ""],
    ]
    assert grid(dst, "校验结果") == [["位置"], ["任务清单!D2"]]
    ws = load_openpyxl(dst)[SHEET]
    assert ws["D2"].value == "已逾期" and ws["D2"].fill.fgColor.rgb == "FFFFC7CE" and ws["D9"].value == "新行"
    sheet_xml = member(dst, "xl/worksheets/sheet1.xml")
    assert b'<x:row r="9"><x:c r="D9" t="s">' in sheet_xml and b"<row" not in sheet_xml
    assert b"<x:xf " in member(dst, "xl/styles.xml") and b"<x:si><x:t>" in member(dst, "xl/sharedStrings.xml")
    assert '<x:sheet name="校验结果"'.encode() in member(dst, "xl/workbook.xml")


NO_R_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    b'<row><c t="inlineStr"><is><t>\xe7\xbc\x96\xe5\x8f\xb7</t></is></c><c/><c t="inlineStr"><is><t>\xe3\x80\x90\xe8\x87\xaa\xe5\x8a\xa8\xe3\x80\x91\xe7\x8a\xb6\xe6\x80\x81</t></is></c>'
    b'<c t="inlineStr"><is><t>\xe3\x80\x90\xe8\x87\xaa\xe5\x8a\xa8\xe3\x80\x91\xe5\xa4\x87\xe6\xb3\xa8</t></is></c></row>'
    b"<row><c><v>1</v></c><c><v>10</v></c></row>"
    b"<row><c><v>2</v></c><c><v>20</v></c><c><v>200</v></c><c><v>2000</v></c></row>"
    b"<row><c><v>3</v></c></row>"
    b"</sheetData></worksheet>"
)


def test_rows_and_cells_without_r_attributes(tmp_path: Path):
    """r is optional: inserting before implicit cells/rows must not shift them."""
    src = build_ledger(tmp_path / "in.xlsx", rows=1)
    rewrite_members(src, {"xl/worksheets/sheet1.xml": NO_R_SHEET})
    assert grid(src) == [
        ["编号", "", "【自动】状态", "【自动】备注"],
        [1, 10, "", ""],
        [2, 20, 200, 2000],
        [3, "", "", ""],
    ]
    dst = tmp_path / "out.xlsx"
    # C2 is inserted after the last cell of row 2; C3 replaces an implicit cell before D3.
    plan = plan_of(CellWrite(2, "C", "甲"), CellWrite(3, "C", "乙"), CellWrite(4, "D", "丙"), owned_columns=("C", "D"))
    apply_plan(src, plan, dst)
    expected = [["编号", "", "【自动】状态", "【自动】备注"], [1, 10, "甲", ""], [2, 20, "乙", ""], [3, "", "", "丙"]]
    assert grid(dst) == expected
    ws = load_openpyxl(dst)[SHEET]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=1, max_row=4, max_col=4)] == [
        [None if v == "" else v for v in row] for row in expected
    ]


def test_rows_are_inserted_in_order_and_dimension_grows(tmp_path: Path):
    src = build_ledger(tmp_path / "in.xlsx", rows=3)
    dst = tmp_path / "out.xlsx"
    apply_plan(src, plan_of(CellWrite(30, "E", 5), CellWrite(12, "D", "中间"), CellWrite(3, "D", "改")), dst)
    xml = member(dst, "xl/worksheets/sheet1.xml")
    rows = [int(r) for r in re.findall(rb'<row r="(\d+)"', xml)]
    assert rows == sorted(rows) == [1, 2, 3, 4, 12, 30]
    assert b'<dimension ref="A1:E30"/>' in xml
    g = grid(dst)
    assert g[11][3] == "中间" and g[29][4] == 5 and g[2][3] == "改"


def with_calc_chain(path: Path) -> Path:
    """Put a formula into the owned column D and a calcChain.xml listing it (as Excel does)."""
    rewrite_members(
        path,
        {
            "xl/worksheets/sheet1.xml": lambda x: re.sub(
                rb'<c r="D2"[^>]*>.*?</c>', b'<c r="D2" s="1"><f>B2&amp;"!"</f><v>x</v></c>', x
            ),
            "xl/_rels/workbook.xml.rels": lambda x: x.replace(
                b"</Relationships>",
                b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"'
                b' Target="calcChain.xml"/></Relationships>',
            ),
            "[Content_Types].xml": lambda x: x.replace(
                b"</Types>",
                b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-officedocument'
                b'.spreadsheetml.calcChain+xml"/></Types>',
            ),
        },
        add={
            "xl/calcChain.xml": b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><c r="D2" i="1"/></calcChain>'
        },
    )
    return path


def test_calc_chain_is_dropped_only_when_a_formula_cell_loses_its_formula(tmp_path: Path):
    src = with_calc_chain(build_ledger(tmp_path / "in.xlsx"))
    keep, drop = tmp_path / "keep.xlsx", tmp_path / "drop.xlsx"
    s1 = apply_plan(src, plan_of(CellWrite(3, "D", "新")), keep)
    assert not s1.calc_chain_removed and member(keep, "xl/calcChain.xml") == member(src, "xl/calcChain.xml")

    s2 = apply_plan(src, plan_of(CellWrite(2, "D", "值")), drop)
    assert s2.calc_chain_removed and s2.members_removed == ("xl/calcChain.xml",)
    with zipfile.ZipFile(drop) as zf:
        assert "xl/calcChain.xml" not in zf.namelist()
        assert b"calcChain" not in zf.read("xl/_rels/workbook.xml.rels")
        assert b"calcChain" not in zf.read("[Content_Types].xml")
    assert grid(drop)[1][3] == "值"


def test_workbook_without_shared_strings_gets_inline_strings(tmp_path: Path):
    src = tmp_path / "in.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    wb.add_worksheet(SHEET).write_row(0, 0, [1, 2])
    wb.close()
    dst = tmp_path / "out.xlsx"
    apply_plan(
        src,
        WritePlan([SheetPlan("结果", [CellWrite(1, "A", "_x000D_ 文本 "), CellWrite(2, "A", 3)], owned_sheet=True)]),
        dst,
    )
    assert grid(dst, "结果") == [["_x000D_ 文本 "], [3]]
    with zipfile.ZipFile(dst) as zf:
        assert "xl/sharedStrings.xml" not in zf.namelist()
        assert b't="inlineStr"' in zf.read("xl/worksheets/sheet2.xml")


def test_date1904_workbook_gets_1904_serials(tmp_path: Path):
    src = build_ledger(tmp_path / "in.xlsx", date_1904=True)
    dst = tmp_path / "out.xlsx"
    apply_plan(src, plan_of(CellWrite(2, "E", date(2025, 6, 30))), dst)
    assert grid(dst)[1][4] == date(2025, 6, 30)
    assert load_openpyxl(dst)[SHEET]["E2"].value == datetime(2025, 6, 30)


def test_unchanged_plan_yields_identical_package(tmp_path: Path):
    src = build_ledger(tmp_path / "in.xlsx")
    once, twice = tmp_path / "once.xlsx", tmp_path / "twice.xlsx"
    plan = plan_of(
        CellWrite(2, "D", "已逾期", CellStyle(fill="FFC7CE")), CellWrite(2, "E", 3), owned_columns=("D", "E")
    )
    assert apply_plan(src, plan, once).changed
    summary = apply_plan(once, plan, twice)
    assert not summary.changed and twice.read_bytes() == once.read_bytes()


def test_untouched_members_are_raw_copies(tmp_path: Path):
    src = build_ledger(tmp_path / "in.xlsx")
    rewrite_members(src, {"xl/workbook.xml": lambda x: x.replace(b' fullCalcOnLoad="1"', b"")})
    dst = tmp_path / "out.xlsx"
    summary = apply_plan(src, plan_of(CellWrite(2, "D", "新")), dst)
    assert b'<calcPr calcId="124519" fullCalcOnLoad="1"/>' in member(dst, "xl/workbook.xml")
    before, after = member_records(src.read_bytes()), member_records(dst.read_bytes())
    assert [n for n, _, _ in before] == [n for n, _, _ in after]
    changed = {n for (n, _, a), (_, _, b) in zip(before, after, strict=True) if a != b}
    assert (
        changed
        == set(summary.members_changed)
        == {"xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml"}
    )


# ----------------------------------------------------------------------------- refusals
def shared_formula_sheet(xml: bytes) -> bytes:
    xml = re.sub(
        rb'<c r="E2"[^>]*>.*?</c>', b'<c r="E2"><f t="shared" ref="E2:E4" si="0">A2&amp;"x"</f><v>1</v></c>', xml
    )
    xml = re.sub(rb'<c r="E3"[^>]*>.*?</c>', b'<c r="E3"><f t="shared" si="0"/><v>2</v></c>', xml)
    return re.sub(rb'<c r="E4"[^>]*>.*?</c>', b'<c r="E4"><f t="shared" si="0"/><v>3</v></c>', xml)


def array_formula_sheet(xml: bytes) -> bytes:
    xml = re.sub(rb'<c r="E2"[^>]*>.*?</c>', b'<c r="E2"><f t="array" ref="E2:E3">A2:A3</f><v>1</v></c>', xml)
    return re.sub(rb'<c r="E3"[^>]*>.*?</c>', b'<c r="E3"><v>2</v></c>', xml)


def merged_sheet(xml: bytes) -> bytes:
    return xml.replace(b"<pageMargins", b'<mergeCells count="1"><mergeCell ref="D3:E3"/></mergeCells><pageMargins')


def in_cell_picture_sheet(xml: bytes) -> bytes:
    return re.sub(rb'<c r="D4"', b'<c r="D4" vm="1"', xml)


def build_table_ledger(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(SHEET)
    ws.add_table(
        "A1:E4",
        {"columns": [{"header": h} for h in HEADERS], "data": [[f"1-{r}", "措施", "推进中", "", ""] for r in range(3)]},
    )
    wb.close()
    return path


@pytest.mark.parametrize(
    ("case", "plan", "cell"),
    [
        ("shared-master", plan_of(CellWrite(2, "E", 5)), "E2"),
        ("shared-member", plan_of(CellWrite(3, "E", 5)), "E3"),
        ("shared-cleared", plan_of(CellWrite(2, "D", "x"), owned_columns=("D", "E")), "E2"),
        ("array", plan_of(CellWrite(3, "E", 5)), "E3"),
        ("merged", plan_of(CellWrite(3, "E", 5)), "E3"),
        ("in-cell-picture", plan_of(CellWrite(4, "D", "x")), "D4"),
        ("table-header", plan_of(CellWrite(1, "D", "【自动】新状态")), "D1"),
        ("staff-column", plan_of(CellWrite(2, "C", "已完成")), "C1"),
    ],
)
def test_refusals_leave_the_ledger_untouched(tmp_path: Path, case: str, plan: WritePlan, cell: str):
    ledger = tmp_path / "台账.xlsx"
    if case == "table-header":
        build_table_ledger(ledger)
    else:
        build_ledger(ledger)
        edit = {
            "shared-master": shared_formula_sheet,
            "shared-member": shared_formula_sheet,
            "shared-cleared": shared_formula_sheet,
            "array": array_formula_sheet,
            "merged": merged_sheet,
            "in-cell-picture": in_cell_picture_sheet,
        }.get(case)
        if edit:
            rewrite_members(ledger, {"xl/worksheets/sheet1.xml": edit})
    data, mtime = ledger.read_bytes(), ledger.stat().st_mtime_ns

    with pytest.raises(PatchRefused) as exc:
        write_safely(ledger, plan)
    assert exc.value.sheet == SHEET and exc.value.cell == cell
    assert f"「{SHEET}」" in exc.value.message and cell in exc.value.message
    assert ledger.read_bytes() == data and ledger.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["台账.xlsx"], "no backup, no temp file"


def test_refusal_messages_say_what_to_do(tmp_path: Path):
    ledger = build_ledger(tmp_path / "台账.xlsx")
    rewrite_members(ledger, {"xl/worksheets/sheet1.xml": shared_formula_sheet})
    with pytest.raises(PatchRefused, match="共享公式.*请先在 Excel 中清除该列的公式"):
        prepare_patch(ledger, plan_of(CellWrite(3, "E", 1)))
    with pytest.raises(PatchRefused, match="不是以“【自动】”开头的工具列"):
        prepare_patch(ledger, plan_of(CellWrite(2, "B", "改")))
    with pytest.raises(PatchRefused, match="找不到工作表「不存在」"):
        prepare_patch(ledger, plan_of(CellWrite(2, "D", "x"), sheet="不存在"))
    with pytest.raises(PatchRefused, match="D2 在计划中出现了两次"):
        prepare_patch(ledger, plan_of(CellWrite(2, "D", "x"), CellWrite(2, "D", "y")))
    with pytest.raises(PatchRefused, match="不是有限数"):
        prepare_patch(ledger, plan_of(CellWrite(2, "E", float("nan"))))
    with pytest.raises(PatchRefused, match="无法保存的字符"):
        prepare_patch(ledger, plan_of(CellWrite(2, "D", "乱码\ud800")))
    with pytest.raises(PatchRefused, match="颜色“red”无效"):
        prepare_patch(ledger, plan_of(CellWrite(2, "D", "x", CellStyle(fill="red"))))


def test_hostile_and_foreign_files_are_refused(tmp_path: Path):
    ole = tmp_path / "encrypted.xlsx"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(PatchRefused, match="加密"):
        prepare_patch(ole, plan_of(CellWrite(2, "D", "x")))
    dtd = build_ledger(tmp_path / "dtd.xlsx")
    rewrite_members(
        dtd,
        {
            "xl/worksheets/sheet1.xml": lambda x: x.replace(
                b"?>\n<worksheet", b'?>\n<!DOCTYPE x [<!ENTITY a "b">]><worksheet', 1
            )
        },
    )
    with pytest.raises(PatchRefused, match="DTD"):
        prepare_patch(dtd, plan_of(CellWrite(2, "D", "x")))


def test_general_path_matches_expectation_on_a_larger_sheet(tmp_path: Path):
    """Rows with and without owned cells, new cells, cleared cells, over 600 rows."""
    src = tmp_path / "in.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet(SHEET)
    ws.write_row(0, 0, HEADERS + ["备注"])
    for r in range(1, 601):
        ws.write_row(r, 0, [f"1-{r}", f"措施{r}", "推进中"])
        if r % 2:
            ws.write(r, 3, f"旧{r}")
        if r % 5 == 0:
            ws.write(r, 5, "员工备注")
    wb.close()
    cells = [CellWrite(r, "D", f"新{r}") for r in range(2, 602) if r % 3]
    cells += [CellWrite(r, "E", r) for r in range(2, 602, 7)]
    dst = tmp_path / "out.xlsx"
    apply_plan(src, plan_of(*cells, owned_columns=("D", "E")), dst)
    g = grid(dst)
    planned = {(c.row, c.column): c.value for c in cells}
    for r in range(2, 602):
        assert g[r - 1][:3] == [f"1-{r - 1}", f"措施{r - 1}", "推进中"]
        assert g[r - 1][3] == planned.get((r, "D"), "")
        assert g[r - 1][4] == planned.get((r, "E"), "")
        assert g[r - 1][5] == ("员工备注" if (r - 1) % 5 == 0 else "")


def drop_implied_r(xml: bytes) -> bytes:
    """Remove every r attribute that is implied (row = previous + 1, column = previous + 1)."""
    from toolkit.core.schema import column_index as col_of

    def fix_row(m: re.Match[bytes]) -> bytes:
        cells, prev = [], -1
        for cm in re.finditer(rb'<c r="([A-Z]+)\d+"(.*?)(?:/>|>.*?</c>)', m.group(3), re.S):
            col = col_of(cm.group(1).decode())
            cell = cm.group(0)
            if col == prev + 1:
                cell = cell.replace(b' r="' + cm.group(0).split(b'"')[1] + b'"', b"", 1)
            cells.append(cell)
            prev = col
        return m.group(1) + m.group(2) + b">" + b"".join(cells) + b"</row>"

    xml = re.sub(rb'(<row)( r="\d+"[^>]*)>(.*?)</row>', fix_row, xml, flags=re.S)
    rows, prev_row, out = re.split(rb'(<row r="\d+")', xml), 0, []
    for part in rows:
        m = re.fullmatch(rb'<row r="(\d+)"', part)
        if m:
            n = int(m.group(1))
            part = b"<row" if n == prev_row + 1 else part
            prev_row = n
        out.append(part)
    return b"".join(out)


def test_random_plans_read_back_exactly(tmp_path: Path):
    """Seeded random sheets (gaps, missing rows) and plans: calamine sees exactly the model."""
    import random

    rng = random.Random(20251127)
    texts = ["推进中", "已逾期", "=A1", " 空格 ", "a\nb", "_x0041_", "😀", ""]
    for round_no in range(25):
        src = tmp_path / f"in{round_no}.xlsx"
        wb = xlsxwriter.Workbook(str(src))
        ws = wb.add_worksheet(SHEET)
        header = ["编号", "内容", "【自动】甲", "【自动】乙", "【自动】丙"]
        ws.write_row(0, 0, header)
        model: dict[tuple[int, int], object] = {(1, c): h for c, h in enumerate(header)}
        for r in range(1, 40):
            if rng.random() < 0.2:
                continue  # a missing row
            for c in range(5):
                if rng.random() < 0.3:
                    continue  # a missing cell
                value = rng.choice([rng.randint(-5, 500), rng.choice(texts[:-1]), round(rng.random() * 100, 3)])
                (ws.write_string if isinstance(value, str) else ws.write_number)(r, c, value)
                model[(r + 1, c)] = value
        wb.close()
        if round_no % 2:
            rewrite_members(src, {"xl/worksheets/sheet1.xml": drop_implied_r})
        owned = [2, 3, 4]
        cells = []
        planned: dict[tuple[int, int], object] = {}
        for r in rng.sample(range(2, 60), 25):
            for c in rng.sample(owned, rng.randint(1, 3)):
                value = rng.choice(
                    [None, rng.choice(texts), rng.randint(0, 99), True, date(2025, 1, rng.randint(1, 28))]
                )
                cells.append(CellWrite(r, "CDE"[c - 2], value))
                planned[(r, c)] = value
        clear = rng.random() < 0.5
        plan = plan_of(*cells, owned_columns=("C", "D", "E") if clear else ())
        dst = tmp_path / f"out{round_no}.xlsx"
        apply_plan(src, plan, dst)

        expected = dict(model)
        if clear:
            expected = {k: v for k, v in expected.items() if not (k[0] >= 2 and k[1] in owned)}
        for k, v in planned.items():
            expected[k] = v
        g = grid(dst)
        for r in range(1, 60):
            for c in range(5):
                want = expected.get((r, c))
                got = g[r - 1][c] if r - 1 < len(g) and c < len(g[r - 1]) else ""
                assert got == ("" if want is None else want), (round_no, r, c, got, want)


def test_package_with_backslash_member_names_is_refused_with_its_reason(tmp_path: Path):
    """Regression (corpus issue_530.xlsx): backslash names were refused as "找不到 workbook.xml"."""
    src = build_ledger(tmp_path / "src.xlsx")
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename.replace("/", "\\"), zin.read(info.filename))
    with pytest.raises(PatchRefused, match="反斜杠.*另存为 .xlsx"):
        prepare_patch(bad, plan_of(CellWrite(2, "D", "新状态")))
