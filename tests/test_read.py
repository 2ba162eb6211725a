"""toolkit.excel.read: workbooks → Tables with Excel coordinates; every failure a Chinese UnreadableWorkbook."""

from __future__ import annotations

import pickle
import re
import zipfile
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from toolkit.core.model import CellError, Table
from toolkit.excel.read import (
    SheetInfo,
    UnreadableWorkbook,
    _os_error,
    describe_sheets,
    detect_format,
    list_sheets,
    read_workbook,
)
from toolkit.excel.untrusted import RejectedFile, read_many_untrusted

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus" / "calamine-tests"
CJK = re.compile(r"[\u4e00-\u9fff]")


def cells(table: Table) -> dict[str, object]:
    """Non-empty cells by Excel address ('B3' → value): compact assertions."""
    return {
        f"{table.letter(j)}{table.excel_row(i)}": v
        for i, row in enumerate(table.rows)
        for j, v in enumerate(row)
        if v is not None
    }


@pytest.fixture()
def ledger(tmp_path: Path) -> Path:
    """A small ledger sheet written by XlsxWriter: title row, blank row, header in row 3."""
    path = tmp_path / "台账.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("任务清单")
    ws.write("B1", "巡察整改任务清单")
    ws.write_row("B3", ["任务编号", "问题方面", "数量", "完成时限", "更新时间", "合计", "校验", "编号"])
    ws.write_row("B4", [1, None, 3.0, None, None, None, None, "１２３"])
    ws.merge_range("C4:C6", "党的建设方面")
    ws.write_datetime("E4", datetime(2024, 3, 5), wb.add_format({"num_format": "yyyy-mm-dd"}))
    ws.write_datetime("F4", datetime(2024, 3, 5, 10, 30), wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
    ws.write_formula("G4", "=D4*2", None, 6)
    ws.write_formula("H4", "=1/0", None, "#DIV/0!")
    ws.write_row("B5", [2, None, 2.5])
    ws.write_formula("H5", '=B1+"x"', None, "#VALUE!")
    ws.write_row("B6", ["#REF!", None, None, None, None, None, None, "001"])
    # row 7 left blank on purpose
    ws.write("B8", 4)
    ws.write_datetime("F8", datetime(1900, 1, 1, 13, 0), wb.add_format({"num_format": "hh:mm"}))
    hidden = wb.add_worksheet("_lists")
    hidden.write("A1", "已完成")
    hidden.hide()
    wb.add_worksheet("说明").write("A3", "第三行")
    wb.close()
    return path


def test_header_in_row_3_after_title_keeps_excel_rows_and_columns(ledger: Path) -> None:
    table = read_workbook(ledger)["任务清单"]
    assert (table.first_row, table.first_col) == (1, 1)  # the title is in B1
    assert table.rows[2][0] == "任务编号"
    assert table.excel_row(2) == 3 and table.letter(0) == "B"


def test_sheet_starting_below_row_1_reports_its_first_row(ledger: Path) -> None:
    table = read_workbook(ledger)["说明"]
    assert (table.first_row, table.first_col, table.rows) == (3, 0, [["第三行"]])


def test_values_formulas_errors_dates_and_strings(ledger: Path) -> None:
    got = cells(read_workbook(ledger)["任务清单"])
    assert got["B4"] == 1 and type(got["B4"]) is int  # Excel stores 1 as 1.0
    assert got["D4"] == 3 and type(got["D4"]) is int
    assert got["D5"] == 2.5
    assert got["E4"] == date(2024, 3, 5) and type(got["E4"]) is date
    assert got["F4"] == datetime(2024, 3, 5, 10, 30)
    assert got["F8"] == time(13, 0)
    assert got["G4"] == 6  # cached formula result
    assert got["H4"] == CellError("#DIV/0!")
    assert got["H5"] == CellError("#VALUE!")
    assert got["B6"] == "#REF!"  # text that looks like an error stays text
    assert got["I4"] == "１２３"  # full-width digits kept as stored
    assert got["I6"] == "001"


def test_merged_cells_are_listed_and_their_value_copied_to_every_covered_cell(ledger: Path) -> None:
    table = read_workbook(ledger)["任务清单"]
    assert table.merged == [(4, 2, 6, 2)]  # C4:C6 (rows 1-based, columns 0-based)
    got = cells(table)
    assert [got[f"C{r}"] for r in (4, 5, 6)] == ["党的建设方面"] * 3


def test_blank_rows_are_kept_so_row_numbers_stay_right(ledger: Path) -> None:
    table = read_workbook(ledger)["任务清单"]
    assert table.excel_row(6) == 7 and all(v is None for v in table.rows[6])
    assert table.rows[7][0] == 4 and table.excel_row(7) == 8
    assert all(len(r) == table.width for r in table.rows)


def test_sheets_limits_the_read_and_keeps_workbook_order(ledger: Path) -> None:
    got = read_workbook(ledger, sheets=["说明", "任务清单", "不存在的表"])
    assert list(got) == ["任务清单", "说明"]


def test_list_sheets_and_visibility(ledger: Path) -> None:
    assert list_sheets(ledger) == ["任务清单", "_lists", "说明"]
    assert describe_sheets(ledger)[1] == SheetInfo("_lists", "worksheet", "hidden")


def test_workbook_written_by_openpyxl(tmp_path: Path) -> None:
    path = tmp_path / "openpyxl.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "问题清单"
    ws["A2"] = "问题编号"
    ws["B2"] = "问题方面"
    ws["A3"] = 1
    ws["B3"] = "方面一"
    ws.merge_cells("B3:B4")
    ws["A4"] = 2.0
    ws["C3"] = "=A3+1"  # openpyxl stores no cached value
    ws["D3"] = date(2024, 1, 31)
    wb.save(path)
    table = read_workbook(path)["问题清单"]
    assert table.first_row == 2
    assert cells(table) == {
        "A2": "问题编号",
        "B2": "问题方面",
        "A3": 1,
        "B3": "方面一",
        "A4": 2,
        "B4": "方面一",
        "D3": date(2024, 1, 31),  # no time part: a date
    }
    assert table.merged == [(3, 1, 4, 1)]


def test_empty_sheet_is_an_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    wb = xlsxwriter.Workbook(path)
    wb.add_worksheet("空表")
    wb.close()
    assert read_workbook(path) == {"空表": Table(name="空表", rows=[])}


def test_tables_survive_pickling(ledger: Path) -> None:
    tables = read_workbook(ledger)
    assert pickle.loads(pickle.dumps(tables)) == tables


def test_xlsx_renamed_to_xls_is_read_by_its_content(ledger: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "台账.xls"
    renamed.write_bytes(ledger.read_bytes())
    assert detect_format(renamed) == "xlsx"
    assert read_workbook(renamed)["任务清单"].rows[2][0] == "任务编号"


def _refusal(path: Path) -> UnreadableWorkbook:
    with pytest.raises(UnreadableWorkbook) as info:
        read_workbook(path)
    assert CJK.search(str(info.value)), str(info.value)
    return info.value


def test_missing_file_directory_and_empty_file(tmp_path: Path) -> None:
    assert _refusal(tmp_path / "没有.xlsx").code == "not-found"
    assert _refusal(tmp_path).code == "not-a-file"
    (tmp_path / "空.xlsx").write_bytes(b"")
    err = _refusal(tmp_path / "空.xlsx")
    assert (err.code, str(err)) == (
        "empty-file",
        "文件是空的（0 字节），可能保存或传输失败：请重新导出或重新发送该文件。",
    )


def test_permission_error_gets_a_chinese_message(tmp_path: Path) -> None:
    # Tests run as root here, where chmod cannot deny a read: map a real PermissionError instead.
    err = _os_error(tmp_path / "a.xlsx", PermissionError(13, "Permission denied"))
    assert err.code == "permission-denied" and "没有权限读取文件“a.xlsx”" in str(err)


def test_files_that_are_not_workbooks_say_what_they_are(tmp_path: Path) -> None:
    docx = tmp_path / "报送.xlsx"
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    err = _refusal(docx)
    assert err.code == "wrong-format"
    assert (
        str(err)
        == "文件扩展名是 .xlsx，但实际内容不是 Excel 工作簿，而是 Word 文档（.docx）；请提交 Excel 工作簿（.xlsx），不要只改扩展名。"
    )

    pdf = tmp_path / "报送.xls"
    pdf.write_bytes(b"%PDF-1.7\n%...")
    assert "PDF" in str(_refusal(pdf))

    csv = tmp_path / "报送.csv"
    csv.write_text("任务编号,整改措施\n1,完善制度\n", encoding="gbk")
    assert _refusal(csv).code == "text"

    html = tmp_path / "系统导出.xls"
    html.write_text("<html><body><table><tr><td>1</td></tr></table></body></html>", encoding="utf-8")
    err = _refusal(html)
    assert err.code == "html" and "另存为" in str(err)

    junk = tmp_path / "乱码.xlsx"
    junk.write_bytes(bytes(range(256)) * 4)
    assert _refusal(junk).code == "unknown-format"


def test_truncated_workbook_is_corrupt(ledger: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.xlsx"
    data = ledger.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert _refusal(cut).code == "corrupt"


@pytest.mark.requires("shared")
def test_corpus_reads_other_formats_errors_and_merges() -> None:
    errors = read_workbook(CORPUS / "errors.xlsx")["Feuil1"]
    assert [r[0] for r in errors.rows] == [
        CellError(c) for c in ("#DIV/0!", "#NAME?", "#VALUE!", "#NULL!", "#REF!", "#NUM!", "#N/A")
    ]
    for name in ("date.xls", "date.xlsb", "date.ods", "date.xlsx"):
        table = read_workbook(CORPUS / name)["Sheet1"]
        assert table.rows[0][0] == date(2021, 1, 1), name
    merged = read_workbook(CORPUS / "merged_range.xls")["Sheet1"]
    assert sorted(merged.merged) == [  # .xls reports merged ranges too (cross-checked with LibreOffice)
        (1, 0, 2, 0), (1, 1, 2, 1), (1, 2, 2, 3), (1, 4, 2, 4), (1, 5, 2, 5), (1, 6, 2, 6), (1, 7, 2, 7),
        (3, 2, 3, 3), (4, 2, 4, 3)]
    assert _refusal(CORPUS / "pass_protected.xlsx").code == "encrypted"


@pytest.mark.requires("shared")
def test_every_corpus_file_is_read_or_refused_in_chinese() -> None:
    # Isolated: some files may crash the parser (SIGABRT), which must not take pytest down.
    files = sorted(p for p in CORPUS.iterdir() if p.is_file())
    results = read_many_untrusted(files, workers=2, timeout=60)
    read, refused = [], []
    for path, result in results.items():
        if isinstance(result, RejectedFile):
            assert CJK.search(str(result)), (path.name, str(result))
            refused.append(f"{path.name}: [{result.code}] {result}")
        else:
            assert all(isinstance(t, Table) for t in result.values()), path.name
            read.append(path.name)
    print(f"\ncorpus: {len(read)} read, {len(refused)} refused")
    print("\n".join(refused))
    assert len(read) + len(refused) == len(files)
    assert "date.xlsx" in read and "pass_protected.xlsx: [encrypted]" in "\n".join(refused)


def test_error_parts_from_the_precheck_give_the_same_tables_without_decompressing_again(ledger: Path) -> None:
    """read_ledger_tables passes the pre-check's error_parts: error cells are still found where they are,
    and a workbook's other sheets read the same as with a full scan."""
    from toolkit.excel.read import _norm, _sheet_parts
    from toolkit.excel.untrusted import precheck

    facts = precheck(ledger)
    with zipfile.ZipFile(ledger) as zf:
        parts = {name: _norm(part) for name, part in _sheet_parts(zf).items()}
    assert parts["任务清单"] in facts.error_parts  # H4 #DIV/0!, H5 #VALUE!
    assert read_workbook(ledger, error_parts=facts.error_parts) == read_workbook(ledger)
    # A part the pre-check saw no error marker in is not scanned: told "no errors anywhere", none are set.
    got = cells(read_workbook(ledger, error_parts=set())["任务清单"])
    assert "H4" not in got and "H5" not in got


def test_read_ledger_tables_keeps_error_cells(ledger: Path) -> None:
    from toolkit.excel.ledger_file import read_ledger_tables

    got = cells(read_ledger_tables(ledger)["任务清单"])
    assert got["H4"] == CellError("#DIV/0!") and got["H5"] == CellError("#VALUE!")


def test_repeated_short_texts_and_dates_are_one_object_each_and_bools_stay_bools(tmp_path: Path) -> None:
    """The reader shares one object per repeated short text or date (memory at 100k tasks); values are unchanged,
    and True is never merged with 1 (equal in Python)."""
    path = tmp_path / "r.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("S")
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    long_text = "主动对接相关单位争取尽快落实资源要素，推动项目早日实施。" * 2
    for r in range(1, 4):
        ws.write_string(r, 0, "建设管理科")
        ws.write_datetime(r, 1, datetime(2025, 6, 30), day)
        ws.write_string(r, 2, long_text)
    ws.write_boolean(1, 3, True)
    ws.write_number(2, 3, 1)
    wb.close()
    got = cells(read_workbook(path)["S"])
    units = [got[f"A{r}"] for r in (2, 3, 4)]
    dates = [got[f"B{r}"] for r in (2, 3, 4)]
    assert units == ["建设管理科"] * 3 and units[0] is units[1] is units[2]
    assert dates == [date(2025, 6, 30)] * 3 and dates[0] is dates[2]
    assert [got[f"C{r}"] for r in (2, 3, 4)] == [long_text] * 3
    assert got["D2"] is True and type(got["D3"]) is int and got["D3"] == 1
