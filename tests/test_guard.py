"""toolkit.excel.untrusted: hostile county submissions are refused quickly and never kill the run.

Every hostile file is made here, in tmp_path: zips are written by hand where the attack
lives in the zip structure itself (declared sizes, a deflate stream repeated to 1 GB).
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
import xlsxwriter

from toolkit.excel.read import UnreadableWorkbook, read_workbook
from toolkit.excel.untrusted import (
    FileFacts,
    RejectedFile,
    WorkerStartError,
    precheck,
    read_many_untrusted,
    read_untrusted,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus" / "calamine-tests"
CJK = re.compile(r"[\u4e00-\u9fff]")

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="任务清单" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)


def sheet_xml(rows: str, dimension: str = "A1") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    )


A1 = '<row r="1"><c r="A1" t="inlineStr"><is><t>任务编号</t></is></c></row>'


def write_xlsx(
    path: Path,
    sheet: str = "",
    *,
    shared: str | None = None,
    extra: dict[str, str | bytes] | None = None,
    workbook: str = WORKBOOK,
) -> Path:
    """A minimal .xlsx written part by part, so each test can plant one hostile part."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr("xl/worksheets/sheet1.xml", sheet or sheet_xml(A1))
        if shared is not None:
            zf.writestr("xl/sharedStrings.xml", shared)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def write_raw_zip(path: Path, members: list[tuple[str, bytes, int, int]]) -> Path:
    """A zip from already-deflated members: (name, raw deflate bytes, crc32, declared size)."""
    out, central = bytearray(), bytearray()
    for name, data, crc, size in members:
        raw = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size, len(raw), 0)
        out += raw + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            8,
            0,
            0x21,
            crc,
            len(data),
            size,
            len(raw),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += raw
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + eocd))
    return path


def deflate(data: bytes, *, final: bool = True) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)


def zip_bomb(path: Path, *, declared: int | None = None) -> Path:
    """sharedStrings.xml holding one string of 1 GiB of spaces, about 1 MB on disk.

    A full-flushed deflate block of 1 MiB of spaces is self-contained, so repeating it 1024
    times is a valid stream: no need to compress a gigabyte to build the file.
    """
    head = b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>'
    tail = b"</t></si></sst>"
    block = b" " * 2**20
    stream = deflate(head, final=False) + deflate(block, final=False) * 1024 + deflate(tail)
    crc = zlib.crc32(head)
    for _ in range(1024):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + len(block) * 1024 + len(tail)
    parts = [
        ("[Content_Types].xml", CONTENT_TYPES.encode()),
        ("_rels/.rels", ROOT_RELS.encode()),
        ("xl/workbook.xml", WORKBOOK.encode()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.encode()),
        ("xl/worksheets/sheet1.xml", sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>').encode()),
    ]
    members = [(n, deflate(d), zlib.crc32(d), len(d)) for n, d in parts]
    members.append(("xl/sharedStrings.xml", stream, crc, size if declared is None else declared))
    return write_raw_zip(path, members)


def write_cfb(path: Path, streams: dict[str, bytes]) -> Path:
    """A minimal OLE compound file (512-byte sectors) holding the given streams (each ≥ 4096 bytes)."""
    sectors: list[bytes] = []
    fat = [0xFFFFFFFD, 0xFFFFFFFE]  # sector 0: the FAT, sector 1: the directory
    entries = [("Root Entry", 5, 0xFFFFFFFE, 0)]
    for name, data in streams.items():
        data = data.ljust(max(4096, -(-len(data) // 512) * 512), b"\0")
        first = 2 + len(sectors)
        count = len(data) // 512
        for k in range(count):
            sectors.append(data[k * 512 : (k + 1) * 512])
            fat.append(first + k + 1 if k < count - 1 else 0xFFFFFFFE)
        entries.append((name, 2, first, len(data)))
    fat += [0xFFFFFFFF] * (128 - len(fat))
    directory = bytearray()
    for i, (name, kind, start, size) in enumerate(entries):
        raw = name.encode("utf-16-le") + b"\0\0"
        child = 1 if kind == 5 and len(entries) > 1 else 0xFFFFFFFF
        right = i + 1 if kind == 2 and i + 1 < len(entries) else 0xFFFFFFFF
        directory += raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
        directory += struct.pack("<III", 0xFFFFFFFF, right, child) + b"\0" * 36 + struct.pack("<IQ", start, size)
    directory = directory.ljust(512, b"\0")
    header = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16)
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
    header += struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    header += struct.pack("<I", 0) + struct.pack("<I", 0xFFFFFFFF) * 108
    path.write_bytes(bytes(header) + struct.pack("<128I", *fat) + bytes(directory) + b"".join(sectors))
    return path


def rejected(path: Path, code: str, **limits: int) -> RejectedFile:
    with pytest.raises(RejectedFile) as info:
        precheck(path, **limits)
    assert info.value.code == code, str(info.value)
    assert CJK.search(str(info.value)), str(info.value)
    return info.value


@pytest.fixture()
def county(tmp_path: Path) -> Path:
    path = tmp_path / "清城区.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("任务清单")
    ws.write_row(0, 0, ["任务编号", "整改措施", "完成情况"])
    for r in range(1, 201):
        ws.write_row(r, 0, [r, f"措施{r}", "推进中"])
    wb.close()
    return path


def test_normal_file_passes_with_its_facts(county: Path) -> None:
    facts = precheck(county)
    assert isinstance(facts, FileFacts)
    assert (facts.format, facts.has_macros, facts.external_links) == ("xlsx", False, [])
    assert (facts.max_row, facts.max_col, facts.oversized_dimensions) == (201, 2, [])


def test_one_cell_at_xfd1048576_is_refused(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "far.xlsx", sheet_xml(A1 + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))
    assert path.stat().st_size < 5_000
    err = rejected(path, "too-many-cells")
    assert "XFD1048576" in str(err) and "另存为 .xlsx" in str(err)


def test_cells_spanning_70m_cells_are_refused_though_each_axis_is_within_limits(tmp_path: Path) -> None:
    # ZZ199999: 702 columns × 199,999 rows; calamine would allocate the whole grid (GBs).
    path = write_xlsx(tmp_path / "area.xlsx", sheet_xml(A1 + '<row r="199999"><c r="ZZ199999"><v>1</v></c></row>'))
    rejected(path, "too-many-cells")


def test_70m_cell_dimension_alone_is_flagged_not_refused(tmp_path: Path) -> None:
    # Gnumeric writes A1:XFD1048576 in ordinary files and calamine does not allocate by it.
    path = write_xlsx(tmp_path / "dim.xlsx", sheet_xml(A1, "A1:BR1000000"))
    facts = precheck(path)
    assert facts.oversized_dimensions == ["xl/worksheets/sheet1.xml:A1:BR1000000"]
    assert read_untrusted(path)["任务清单"].rows == [["任务编号"]]


def test_value_less_styled_cells_far_away_do_not_count(tmp_path: Path) -> None:
    rows = A1 + '<row r="1048576"><c r="XFD1048576" s="0"/></row>'
    facts = precheck(write_xlsx(tmp_path / "styled.xlsx", sheet_xml(rows)))
    assert (facts.max_row, facts.max_col) == (1, 0)


def test_zip_bomb_with_honest_sizes_is_refused_from_the_directory(tmp_path: Path) -> None:
    path = zip_bomb(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 2 * 2**20
    err = rejected(path, "zip-bomb")
    assert "解压后过大" in str(err)


def test_zip_bomb_that_lies_about_its_size_is_stopped_while_decompressing(tmp_path: Path) -> None:
    rejected(zip_bomb(tmp_path / "liar.xlsx", declared=1000), "size-mismatch")


def test_high_ratio_part_is_refused_while_decompressing(tmp_path: Path) -> None:
    # 3 MB of one repeated row compresses far beyond any real sheet: the streaming ratio check.
    rows = '<row r="1"><c r="A1"><v>1</v></c></row>' * 80_000
    path = write_xlsx(tmp_path / "ratio.xlsx", sheet_xml(rows))
    rejected(path, "zip-bomb", max_ratio=50)


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
        + ']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>'
    )
    err = rejected(write_xlsx(tmp_path / "laughs.xlsx", shared=laughs), "xml-dtd")
    assert "xl/sharedStrings.xml" in str(err)


def test_external_entity_is_refused(tmp_path: Path) -> None:
    xxe = WORKBOOK.replace("<workbook", '<!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<workbook', 1)
    rejected(write_xlsx(tmp_path / "xxe.xlsx", workbook=xxe), "xml-dtd")


@pytest.mark.parametrize("mark", ["<!DOCTYPE x>", "<!doctype x>", '<!ENTITY e "x">', '<!entity e "x">'])
def test_dtd_behind_many_exclamation_marks_is_refused(tmp_path: Path, mark: str) -> None:
    """'!' is looked for first (rare in XML); a part full of them (texts, formulas naming sheets) still finds the mark."""
    texts = "".join(f"<si><t>注意!!{i}</t></si>" for i in range(200))
    shared = f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{texts}</sst>{mark}'
    rejected(write_xlsx(tmp_path / "bangs.xlsx", shared=shared), "xml-dtd")


def test_exclamation_marks_without_a_dtd_pass(tmp_path: Path) -> None:
    texts = "".join(f"<si><t>注意!{i}</t></si><si><t>&lt;!x{i}</t></si>" for i in range(100))
    shared = f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{texts}</sst>'
    precheck(write_xlsx(tmp_path / "bangs.xlsx", shared=shared))


@pytest.mark.parametrize("far", ["A10004", "B010003", "C99999", "D100000", "AB10003", "e10004"])
def test_a_reference_beyond_the_last_rows_is_found(tmp_path: Path, far: str) -> None:
    """The largest row is the tail's candidate confirmed by one search: a larger one anywhere is found."""
    body = "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c></row>' for r in range(1, 4))
    body += f'<row r="5"><c r="{far}"><v>1</v></c></row>'
    body += "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c></row>' for r in range(9990, 10004))
    facts = precheck(write_xlsx(tmp_path / "far.xlsx", sheet_xml(body)), max_rows=10**6)
    row = int(re.sub(r"^[A-Za-z]+", "", far))
    assert facts.max_row == max(row, 10003)


def test_giant_text_run_is_refused(tmp_path: Path) -> None:
    text = "整改" * 200_000  # 1.2 MB of UTF-8 in one cell; Excel allows 32,767 characters
    shared = f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>{text}</t></si></sst>'
    rejected(write_xlsx(tmp_path / "giant.xlsx", shared=shared), "text-too-long")


def test_encrypted_ooxml_container_is_refused(tmp_path: Path) -> None:
    path = write_cfb(tmp_path / "加密.xlsx", {"EncryptionInfo": b"\4\0\4\0" * 8, "EncryptedPackage": b"x" * 5000})
    err = rejected(path, "encrypted")
    assert "文件已加密" in str(err) and "另存为 .xlsx" in str(err)
    with pytest.raises(UnreadableWorkbook, match="文件已加密"):
        read_workbook(path)


def test_workbook_encrypted_by_msoffcrypto_is_refused(county: Path, tmp_path: Path) -> None:
    pytest.importorskip("msoffcrypto")
    from msoffcrypto.format.ooxml import OOXMLFile

    out = tmp_path / "密码.xlsx"
    with county.open("rb") as src, out.open("wb") as dst:
        OOXMLFile(src).encrypt("123456", dst)
    rejected(out, "encrypted")


def test_old_word_document_renamed_is_refused(tmp_path: Path) -> None:
    err = rejected(write_cfb(tmp_path / "通知.xls", {"WordDocument": b"w" * 4096}), "wrong-format")
    assert "Word 97-2003" in str(err)


def test_truncated_xlsx_is_refused(county: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(county.read_bytes()[:3000])
    rejected(cut, "corrupt")


def test_renamed_docx_pdf_txt_and_empty_files_are_refused(tmp_path: Path) -> None:
    docx = tmp_path / "材料.xlsx"
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    assert "Word 文档" in str(rejected(docx, "wrong-format"))
    pdf = tmp_path / "材料.xls"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj\n")
    assert "PDF" in str(rejected(pdf, "pdf"))
    txt = tmp_path / "材料.xlsm"
    txt.write_text("整改情况说明\n", encoding="utf-8")
    rejected(txt, "text")
    empty = tmp_path / "空.xlsx"
    empty.write_bytes(b"")
    rejected(empty, "empty-file")
    rejected(tmp_path / "没有这个文件.xlsx", "not-found")


def test_oversized_file_is_refused(county: Path) -> None:
    rejected(county, "too-large", max_bytes=1000)


def test_macros_and_external_links_are_flagged_not_refused(tmp_path: Path) -> None:
    vba = tmp_path / "vbaProject.bin"
    vba.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 508)
    path = tmp_path / "宏.xlsm"
    wb = xlsxwriter.Workbook(path)
    wb.add_worksheet("任务清单").write("A1", "任务编号")
    wb.add_vba_project(str(vba))
    wb.close()
    facts = precheck(path)
    assert (facts.format, facts.has_macros) == ("xlsm", True)
    linked = write_xlsx(tmp_path / "外链.xlsx", extra={"xl/externalLinks/externalLink1.xml": "<externalLink/>"})
    assert precheck(linked).external_links == ["xl/externalLinks/externalLink1.xml"]


def write_ods(path: Path, table_xml: str, *, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>') -> Path:
    content = (
        f"{prolog}<office:document-content "
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="任务清单">{table_xml}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


CELL = '<table:table-cell office:value-type="string"><text:p>推进中</text:p></table:table-cell>'


def test_ods_repeats_are_counted_only_where_cells_hold_values(tmp_path: Path) -> None:
    # LibreOffice pads every sheet with a million repeated empty rows: that must pass.
    padded = (
        f"<table:table-row>{CELL}</table:table-row>"
        '<table:table-row table:number-rows-repeated="1048575">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    facts = precheck(write_ods(tmp_path / "padded.ods", padded))
    assert (facts.format, facts.max_row, facts.max_col) == ("ods", 1, 0)
    assert read_untrusted(tmp_path / "padded.ods")["任务清单"].rows == [["推进中"]]
    repeated = f'<table:table-row table:number-rows-repeated="900000">{CELL}</table:table-row>'
    rejected(write_ods(tmp_path / "rows.ods", repeated), "too-many-cells")
    wide_cell = CELL.replace("<table:table-cell ", '<table:table-cell table:number-columns-repeated="20000" ')
    wide = f"<table:table-row>{wide_cell}</table:table-row>"
    rejected(write_ods(tmp_path / "cols.ods", wide), "too-many-cells")


def test_ods_with_a_dtd_is_refused(tmp_path: Path) -> None:
    prolog = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]>'
    rejected(write_ods(tmp_path / "dtd.ods", f"<table:table-row>{CELL}</table:table-row>", prolog=prolog), "xml-dtd")


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_precheck_never_raises_anything_else_on_the_corpus() -> None:
    for path in sorted(CORPUS.iterdir()):
        try:
            precheck(path)
        except RejectedFile as exc:
            assert CJK.search(str(exc)), path.name
    rejected(CORPUS / "pass_protected.xlsx", "encrypted")
    rejected(CORPUS / "issue_594_dos.ods", "too-many-cells")


def test_read_untrusted_returns_tables_or_raises_rejected(county: Path, tmp_path: Path) -> None:
    tables = read_untrusted(county, sheets=["任务清单"])
    assert tables["任务清单"].rows[1] == [1, "措施1", "推进中"]
    with pytest.raises(RejectedFile) as info:
        read_untrusted(zip_bomb(tmp_path / "bomb.xlsx"))
    assert info.value.code == "zip-bomb"


def test_worker_killed_by_calamine_abort_rejects_that_file_and_the_batch_goes_on(county: Path, tmp_path: Path) -> None:
    # With the pre-check off, the XFD1048576 file reaches calamine, which aborts (SIGABRT)
    # trying to allocate the whole grid; the pool replaces the worker and carries on.
    far = write_xlsx(tmp_path / "far.xlsx", sheet_xml(A1 + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))
    second = tmp_path / "英德市.xlsx"
    second.write_bytes(county.read_bytes())
    results = read_many_untrusted([county, far, second], workers=1, check=False)
    assert list(results) == [county, far, second]
    assert results[county]["任务清单"].rows[0] == ["任务编号", "整改措施", "完成情况"]
    assert results[second]["任务清单"].rows[200] == [200, "措施200", "推进中"]
    err = results[far]
    assert isinstance(err, RejectedFile) and err.code == "crashed"
    assert "异常退出" in str(err) and "信号 6" in str(err)  # SIGABRT from calamine
    assert "另存为 .xlsx" in str(err)


def test_batch_mixes_accepted_and_rejected_files(county: Path, tmp_path: Path) -> None:
    paths = [county, zip_bomb(tmp_path / "bomb.xlsx"), tmp_path / "missing.xlsx"]
    results = read_many_untrusted(paths, workers=2)
    assert [r.code if isinstance(r, RejectedFile) else "read" for r in results.values()] == [
        "read",
        "zip-bomb",
        "not-found",
    ]


def test_file_exceeding_the_time_limit_is_rejected(county: Path) -> None:
    results = read_many_untrusted([county], timeout=0)
    err = results[county]
    assert isinstance(err, RejectedFile) and err.code == "timeout" and "秒仍未完成" in str(err)


def test_no_worker_can_start_under_an_impossible_memory_limit(county: Path) -> None:
    pytest.importorskip("resource")  # RLIMIT_AS: Linux/macOS only
    with pytest.raises(WorkerStartError, match="无法启动"):
        read_many_untrusted([county], memory_mb=1)


def test_files_queued_behind_a_crashing_file_are_read_by_the_replacement_worker(county: Path, tmp_path: Path) -> None:
    # Each worker holds its next file in its pipe while it reads the current one: when it dies,
    # only the file it was reading is rejected; the queued ones go to a fresh worker.
    far = write_xlsx(tmp_path / "far.xlsx", sheet_xml(A1 + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))
    copies = []
    for k in range(3):
        copies.append(tmp_path / f"copy{k}.xlsx")
        copies[-1].write_bytes(county.read_bytes())
    results = read_many_untrusted([far, *copies], workers=1, check=False)
    assert list(results) == [far, *copies]
    assert isinstance(results[far], RejectedFile) and results[far].code == "crashed"
    assert all(results[c]["任务清单"].rows[200] == [200, "措施200", "推进中"] for c in copies)
