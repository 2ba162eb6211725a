"""The macro-enabled ledger: VBA project built from source text, buttons, xlwings.conf sheet.

Nothing here runs Excel. The VBA project is read back by three independent readers
(olefile, olevba, LibreOffice) and its record layout is compared with the Aspose-made
vbaProject.bin that xlwings ships in quickstart_standalone.xlsm.
"""

from __future__ import annotations

import os
import random
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import olefile
import openpyxl
import pytest
import xlsxwriter
import xlwings
from conftest import require_module
from oletools.olevba import decompress_stream

from toolkit.excel.vba import project as vba
from toolkit.excel.vba.project import BUTTONS_MODULE, CONFIG_SHEET, MACRO_SHEET, MACROS

XLWINGS_DIR = Path(xlwings.__file__).parent
VBA_DIR = Path(vba.__file__).resolve().parent
NS = {
    "main": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "v": "urn:schemas-microsoft-com:vml",
    "x": "urn:schemas-microsoft-com:office:excel",
}
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


@pytest.fixture(scope="module")
def ledger_xlsm(tmp_path_factory) -> Path:
    """A ledger-like .xlsm: one sheet added before add_macro_sheet, one after, a chartsheet."""
    folder = tmp_path_factory.mktemp("vba") / "整改 台账"
    folder.mkdir()
    path = folder / "整改台账 测试.xlsm"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("问题清单").write_string(0, 0, "问题编号")
    vba.add_macro_sheet(wb, interpreter=r"C:\Program Files\Python311\python.exe", pythonpath=r"D:\整改 工具")
    data = wb.add_worksheet("统计")
    data.write_column(0, 0, [3, 5, 8])
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "='统计'!$A$1:$A$3"})
    wb.add_chartsheet("图表").set_chart(chart)
    wb.close()
    return path


def _xml(archive: zipfile.ZipFile, part: str) -> ElementTree.Element:
    return ElementTree.fromstring(archive.read(part))


def _rels(archive: zipfile.ZipFile, part: str) -> dict[str, str]:
    """Relationship id → target part of ``part``."""
    p = PurePosixPath(part)
    rels = _xml(archive, str(p.parent / "_rels" / (p.name + ".rels")))
    targets = {}
    for rel in rels.findall("rel:Relationship", NS):
        target = rel.get("Target")
        targets[rel.get("Id")] = target.lstrip("/") if target.startswith("/") else _join(p.parent, target)
    return targets


def _join(base: PurePosixPath, target: str) -> str:
    parts = list(base.parts)
    for piece in target.split("/"):
        if piece == "..":
            parts.pop()
        else:
            parts.append(piece)
    return "/".join(parts)


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its part, in workbook order."""
    rels = _rels(archive, "xl/workbook.xml")
    sheets = _xml(archive, "xl/workbook.xml").find("main:sheets", NS)
    return {s.get("name"): rels[s.get(R_ID)] for s in sheets}


def _buttons(path: Path) -> dict[str, str]:
    """Caption → macro of every form button on the 操作 sheet (from its vmlDrawing)."""
    with zipfile.ZipFile(path) as archive:
        sheet_part = _sheet_parts(archive)[MACRO_SHEET]
        legacy = _xml(archive, sheet_part).find("main:legacyDrawing", NS)
        vml = _xml(archive, _rels(archive, sheet_part)[legacy.get(R_ID)])
    buttons = {}
    for shape in vml.iter(f"{{{NS['v']}}}shape"):
        data = shape.find("x:ClientData", NS)
        if data is not None and data.get("ObjectType") == "Button":
            caption = "".join(shape.find("v:textbox", NS).itertext()).strip()
            buttons[caption] = data.findtext("x:FmlaMacro", namespaces=NS)
    return buttons


def _procedures(modules: dict[str, str]) -> dict[str, list[tuple[str, list[str]]]]:
    """Sub/Function name → [(module, body lines)] over all modules."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    pattern = re.compile(
        r"^(?:Public |Private )?(Sub|Function) (\w+)\(.*?\)[^\n]*\n(.*?)^End \1", re.MULTILINE | re.DOTALL
    )
    for module, code in modules.items():
        for match in pattern.finditer(code.replace("\r\n", "\n")):
            body = [line.strip() for line in match.group(3).splitlines() if line.strip()]
            found.setdefault(match.group(2), []).append((module, body))
    return found


def _dir_records(compressed: bytes) -> list[tuple[int, bytes]]:
    """The dir stream as (record id, data); every record is id + size + data except PROJECTVERSION."""
    data = bytes(decompress_stream(bytearray(compressed)))
    records, pos = [], 0
    while pos < len(data):
        record_id, size = struct.unpack_from("<HI", data, pos)
        if record_id == 0x0009:  # Reserved field is 4, the record carries 6 bytes
            size = 6
        records.append((record_id, data[pos + 6 : pos + 6 + size]))
        pos += 6 + size
    return records


def _module_layouts(records: list[tuple[int, bytes]]) -> dict[str, tuple[int, ...]]:
    """Module name → the ids of its records (MODULENAME .. terminator)."""
    layouts, current, ids = {}, None, []
    for record_id, data in records:
        if record_id == 0x0019:
            current, ids = data.decode("cp1252"), []
        if current is not None:
            ids.append(record_id)
            if record_id == 0x002B:
                layouts[current] = tuple(ids)
                current = None
    return layouts


def _template_vba_project() -> olefile.OleFileIO:
    with zipfile.ZipFile(XLWINGS_DIR / "quickstart_standalone.xlsm") as archive:
        return olefile.OleFileIO(archive.read("xl/vbaProject.bin"))


# --------------------------------------------------------------------------- source text


def test_buttons_module_file_is_rendered_from_macros_table():
    on_disk = (VBA_DIR / f"{BUTTONS_MODULE}.bas").read_bytes()
    assert on_disk == vba.render_buttons_module().encode("ascii"), (
        "LedgerButtons.bas and MACROS differ: run  python -m toolkit.excel.vba.project"
    )


def _procedure(code: str, name: str) -> list[str]:
    """The body lines of Sub/Function ``name`` in VBA ``code``."""
    found = _procedures({"m": code})[name]
    assert len(found) == 1
    return found[0][1]


def _built_text(body: list[str], variable: str, interpreter: str) -> list[str]:
    """Replay the ``variable = variable & Zh("...")`` lines of a VBA body as VBA would: the texts built."""
    texts, current = [], None
    for line in body:
        if line == f'{variable} = ""':
            current = ""
        elif current is not None and (m := re.fullmatch(rf'{variable} = {variable} & Zh\("([0-9A-F ]+)"\)', line)):
            current += "".join(chr(int(code, 16)) for code in m.group(1).split())
        elif current is not None and line == f"{variable} = {variable} & interpreter":
            current += interpreter
        elif current is not None:
            texts.append(current)
            current = None
    return texts


def test_buttons_check_python_before_run_python():
    code = vba.render_buttons_module()
    for button in MACROS:
        assert _procedure(code, button.macro) == [
            "If Not ToolkitReady() Then Exit Sub",
            f'RunPython "{button.python_command}"',
        ]
    ready = _procedure(code, "ToolkitReady")
    # The same lookup as xlwings' RunPython (GetConfig expands %LOCALAPPDATA%), then a file check.
    assert ready[1:3] == ['interpreter = GetConfig("INTERPRETER_WIN", "")',
                         'If interpreter = "" Then interpreter = GetConfig("INTERPRETER", "python")']
    assert "If Not FileExists(interpreter) Then" in ready
    assert all(len(line) < 1024 for line in code.splitlines())  # VBA's line length limit


def test_missing_interpreter_is_reported_in_chinese():
    """Regression: a wrong Interpreter_Win gave xlwings' English "Could not find Interpreter!"."""
    body = _procedure(vba.render_buttons_module(), "ToolkitReady")
    path = r"C:\Users\张三\AppData\Local\zhenggai\venv\Scripts\python.exe"
    missing_python, missing_toolkit = _built_text(body, "message", path)
    assert missing_python == vba.NO_INTERPRETER_MESSAGE.format(interpreter=path)
    assert missing_python.startswith("整改台账：找不到按钮要用的 Python。")
    assert "install.cmd" in missing_python and ".cmd 文件" in missing_python and path in missing_python
    assert missing_toolkit == vba.NO_TOOLKIT_MESSAGE.format(interpreter=path)
    assert 'MsgBox message, vbCritical, Zh("6574 6539 53F0 8D26")' in body  # title 整改台账


def test_venv_without_toolkit_fails_the_buttons_import_check(tmp_path):
    """Regression: a Python without the toolkit gave an English traceback; the VBA check runs this first."""
    code = vba.render_buttons_module()
    check = re.search(r'"(import importlib\.util as u, sys; [^"]+)"', code).group(1)
    venv = tmp_path / "空环境"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    bare = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    assert subprocess.run([str(bare), "-c", check], env=env, check=False).returncode == 1
    repo = str(Path(__file__).resolve().parents[1])
    assert subprocess.run([sys.executable, "-c", check], env={**env, "PYTHONPATH": repo}, check=False).returncode == 0


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("xlwings.bas", "xlwings.bas"),
        ("Dictionary.cls", "addin/Dictionary.cls"),
    ],
)
def test_vendored_xlwings_vba_matches_installed_xlwings(ours, theirs):
    assert (VBA_DIR / ours).read_bytes() == (XLWINGS_DIR / theirs).read_bytes(), (
        f"toolkit/excel/vba/{ours} is not the one of xlwings {xlwings.__version__}: copy it again"
    )


def test_macros_table_is_consistent():
    assert len({b.macro.upper() for b in MACROS}) == len(MACROS)
    assert len({b.function for b in MACROS}) == len(MACROS)
    assert len({b.caption for b in MACROS}) == len(MACROS)
    for button in MACROS:
        assert not button.caption.isascii() and not button.help.isascii()  # staff read Chinese
        assert button.python_command == f"import toolkit.macros as m; m.{button.function}()"


def test_non_ascii_vba_source_is_refused():
    with pytest.raises(vba.VbaSourceError, match="line 2 is not ASCII"):
        vba.stored_module('Attribute VB_Name = "Notes"\r\n\' 校验\r\n', "Notes.bas")


def test_module_name_must_match_file_name():
    with pytest.raises(vba.VbaSourceError, match="must equal the file name"):
        vba.stored_module('Attribute VB_Name = "Other"\r\n', "Notes.bas")


def test_class_module_gets_the_attributes_vba_adds_on_import():
    module = vba.stored_module(vba.read_source("Dictionary.cls"), "Dictionary.cls")
    head = module.code.split("\r\n")[:8]
    assert module.kind == "class"
    assert head == [
        'Attribute VB_Name = "Dictionary"',
        'Attribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"',
        "Attribute VB_GlobalNameSpace = False",
        "Attribute VB_Creatable = False",
        "Attribute VB_PredeclaredId = False",
        "Attribute VB_Exposed = True",
        "Attribute VB_TemplateDerived = False",
        "Attribute VB_Customizable = False",
    ]


# --------------------------------------------------------------------------- binary pieces


def _sample_data() -> list[bytes]:
    rng = random.Random(20240501)
    sources = [
        vba.stored_module(vba.read_source(n), n).code.encode("cp1252")
        for n in ("xlwings.bas", "Dictionary.cls", f"{BUTTONS_MODULE}.bas")
    ]
    return sources + [
        b"",
        b"x",
        b"abc" * 1365 + b"a",  # exactly 4096 bytes
        b"A" * 4097,
        b"ab" * 10000,
        rng.randbytes(4096 * 3 + 1500),  # incompressible full chunks are stored raw
        bytes(range(256)) * 48,
    ]


@pytest.mark.parametrize("data", _sample_data(), ids=lambda d: f"{len(d)}B")
def test_compression_round_trips_through_olevba(data):
    assert bytes(decompress_stream(bytearray(vba.compress(data)))) == data


def test_incompressible_short_last_chunk_is_refused():
    with pytest.raises(vba.VbaSourceError, match="do not compress"):
        vba.compress(random.Random(7).randbytes(4000))


def test_protection_properties_decrypt_to_unprotected_visible_project():
    crypto = require_module("ms_ovba_crypto").MsOvbaCrypto  # an independent implementation (test extra)
    project = olefile.OleFileIO(vba.build_vba_project()).openstream("PROJECT").read().decode("cp1252")
    values = dict(re.findall(r'^(CMG|DPB|GC)="([0-9A-F]+)"', project, re.MULTILINE))
    assert crypto.decrypt(bytes.fromhex(values["CMG"])) == bytes(4)  # no protection
    assert crypto.decrypt(bytes.fromhex(values["DPB"])) == b"\x00"  # no password
    assert crypto.decrypt(bytes.fromhex(values["GC"])) == b"\xff"  # visible


@pytest.mark.parametrize("count", range(1, 40))
def test_sibling_tree_is_a_red_black_tree(count):
    entries = [vba._Entry(f"M{i}", 2) for i in range(count)]
    root = vba.sibling_tree(entries, range(count))
    assert entries[root].color == vba._BLACK

    def black_height(index: int, parent_red: bool) -> int:
        if index == vba._NOSTREAM:
            return 1
        red = entries[index].color == vba._RED
        assert not (red and parent_red), "red node with red child"
        left = black_height(entries[index].left, red)
        assert left == black_height(entries[index].right, red), "unequal black heights"
        return left + (0 if red else 1)

    black_height(root, False)

    def in_order(index: int) -> list[str]:
        if index == vba._NOSTREAM:
            return []
        e = entries[index]
        return in_order(e.left) + [e.name] + in_order(e.right)

    assert in_order(root) == sorted((e.name for e in entries), key=lambda n: (len(n), n.upper()))


def test_vba_project_is_reproducible_across_processes():
    """Same bytes from another interpreter (other hash seed, other clock): no time, randomness or set order."""
    here = vba.build_vba_project(sheet_codenames=["Sheet1", "Sheet2"])
    code = (
        "import sys; from toolkit.excel.vba.project import build_vba_project; "
        "sys.stdout.buffer.write(build_vba_project(sheet_codenames=['Sheet1', 'Sheet2']))"
    )
    repo = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONHASHSEED": "12345",
        "PYTHONPATH": os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")]),
    }
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, env=env).stdout
    assert len(here) > 1024 and there == here


def test_vba_project_layout_matches_the_one_xlwings_ships():
    ole = olefile.OleFileIO(
        vba.build_vba_project(sheet_codenames=["Sheet1", "Sheet2"]), raise_defects=olefile.DEFECT_INCORRECT
    )
    template = _template_vba_project()
    assert sorted("/".join(p) for p in ole.listdir()) == [
        "PROJECT",
        "PROJECTwm",
        "VBA/Dictionary",
        f"VBA/{BUTTONS_MODULE}",
        "VBA/Sheet1",
        "VBA/Sheet2",
        "VBA/ThisWorkbook",
        "VBA/_VBA_PROJECT",
        "VBA/dir",
        "VBA/xlwings",
    ]
    # Source-only project: the 7-byte header without a performance cache, as in the template.
    assert ole.openstream("VBA/_VBA_PROJECT").read() == template.openstream("VBA/_VBA_PROJECT").read()

    ours = _dir_records(ole.openstream("VBA/dir").read())
    theirs = _dir_records(template.openstream("VBA/dir").read())
    first_reference = next(i for i, (rid, _) in enumerate(theirs) if rid == 0x0016)
    assert [rid for rid, _ in ours[:first_reference]] == [rid for rid, _ in theirs[:first_reference]]
    assert dict(ours)[0x0003] == dict(theirs)[0x0003]  # code page 1252
    ours_layout, their_layout = _module_layouts(ours), _module_layouts(theirs)
    assert ours_layout["ThisWorkbook"] == their_layout["ThisWorkbook"]  # document module, type 0x22
    assert ours_layout[BUTTONS_MODULE] == ours_layout["xlwings"] == their_layout["xlwings"]  # type 0x21
    assert ours_layout["Dictionary"] == their_layout["Dictionary"]  # class module, type 0x22
    assert ours[-1] == (0x0010, b"")
    offsets = [struct.unpack("<I", data)[0] for rid, data in ours if rid == 0x0031]
    assert offsets == [0] * 6  # every module stream is source only

    def keys(stream: bytes) -> list[str]:
        lines = stream.decode("cp1252").splitlines()
        return [
            re.split(r"[=/]", line)[0]
            for line in lines
            if line and not line.startswith(("Document=", "Module=", "Class=")) and not re.match(r"\w+=\d", line)
        ]  # workspace lines name modules

    assert keys(ole.openstream("PROJECT").read()) == keys(template.openstream("PROJECT").read())


def _raw_directory(data: bytes) -> list[dict]:
    """Every 128-byte directory entry of a compound file, decoded straight from the bytes [MS-CFB 2.6]."""
    header = struct.unpack_from("<8s16sHHHHH6sIIIIIIIII", data, 0)
    sector = 1 << header[5]
    fat_sectors = struct.unpack_from("<109I", data, 76)[: header[9]]
    fat = [v for s in fat_sectors for v in struct.unpack_from("<128I", data, 512 + s * sector)]
    entries, current = [], header[10]
    while current != vba._ENDOFCHAIN:
        block = data[512 + current * sector : 512 + (current + 1) * sector]
        for off in range(0, sector, 128):
            f = struct.unpack_from("<64sHBBIII16sIQQIQ", block, off)
            name = f[0][: max(f[1] - 2, 0)].decode("utf-16-le")
            entries.append({"name": name, "type": f[2], "color": f[3], "left": f[4], "right": f[5], "child": f[6],
                            "clsid": f[7], "state": f[8], "created": f[9], "modified": f[10], "start": f[11],
                            "size": f[12]})
        current = fat[current]
    return entries


def test_storage_entries_have_start_sector_zero():
    """Regression: the VBA storage carried start sector 0xFFFFFFFE; MS-CFB 2.6.3 requires 0 (and size 0)."""
    entries = _raw_directory(vba.build_vba_project(sheet_codenames=["Sheet1"]))
    storages = [e for e in entries if e["type"] == 1]
    assert [e["name"] for e in storages] == ["VBA"]
    assert [(e["start"], e["size"]) for e in storages] == [(0, 0)]
    # The same as olefile reads it, and as in the vbaProject.bin xlwings ships.
    ole = olefile.OleFileIO(vba.build_vba_project(sheet_codenames=["Sheet1"]))
    template = _template_vba_project()
    for reader in (ole, template):
        storage = next(e for e in reader.direntries if e is not None and e.entry_type == olefile.STGTY_STORAGE)
        assert (storage.isectStart, storage.size) == (0, 0)


def test_compound_file_invariants_we_rely_on_hold_for_independent_readers():
    """MS-CFB / MS-OVBA invariants of our vbaProject.bin, read with olefile and oletools (not our code)."""
    from oletools.olevba import VBA_Parser

    data = vba.build_vba_project(sheet_codenames=["Sheet1", "Sheet2"])
    # MS-CFB 2.2 header: version 3, little-endian, 512-byte sectors, 64-byte mini sectors, cutoff 4096.
    (signature, clsid, minor, major, order, shift, mini_shift, _r, dir_sectors, _fat, _first_dir, _tx,
     cutoff, *_rest) = struct.unpack_from("<8s16sHHHHH6sIIIIIIIII", data, 0)
    assert (signature, clsid, minor, major, order) == (olefile.MAGIC, bytes(16), 0x3E, 3, 0xFFFE)
    assert (shift, mini_shift, dir_sectors, cutoff) == (9, 6, 0, 4096)
    assert len(data) % 512 == 0

    ole = olefile.OleFileIO(data, raise_defects=olefile.DEFECT_INCORRECT)  # raises on any incorrect structure
    raw = _raw_directory(data)
    root = raw[0]
    assert (root["name"], root["type"], root["color"]) == ("Root Entry", 5, vba._BLACK)
    assert root["size"] % 64 == 0 and root["size"] == sum(-(-e["size"] // 64) * 64 for e in raw
                                                           if e["type"] == 2 and 0 < e["size"] < 4096)
    for entry in raw:
        if entry["type"] == 0:  # unused: all zero but the three links, which are NOSTREAM
            assert entry["name"] == "" and (entry["left"], entry["right"], entry["child"]) == (vba._NOSTREAM,) * 3
            assert (entry["start"], entry["size"], entry["created"], entry["modified"]) == (0, 0, 0, 0)
        elif entry["type"] == 2:
            assert entry["child"] == vba._NOSTREAM
            if entry["size"] == 0:
                assert entry["start"] == vba._ENDOFCHAIN
    # Every stream reads back whole, from the mini stream (< 4096 bytes) or the FAT, and decompresses.
    expected = {m.name: m.code for m in vba.project_modules(sheet_codenames=["Sheet1", "Sheet2"])}
    for name, code in expected.items():
        stream = ole.openstream(f"VBA/{name}").read()
        assert ole.get_size(f"VBA/{name}") == len(stream)
        assert bytes(decompress_stream(bytearray(stream))).decode("cp1252") == code
    # MS-OVBA: interoperable _VBA_PROJECT (version 0xFFFF, no cache), every MODULEOFFSET 0, one module record each.
    assert ole.openstream("VBA/_VBA_PROJECT").read() == bytes.fromhex("cc61ffff000100")
    records = _dir_records(ole.openstream("VBA/dir").read())
    assert dict(records)[0x000F] == struct.pack("<H", len(expected))  # PROJECTMODULES count
    assert [r[1].decode("cp1252") for r in records if r[0] == 0x001A] == list(expected)  # stream names
    assert [struct.unpack("<I", d)[0] for rid, d in records if rid == 0x0031] == [0] * len(expected)
    parser = VBA_Parser("vbaProject.bin", data=data)
    try:
        assert parser.detect_vba_macros()
        assert {f.rsplit(".", 1)[0] for _c, _s, f, _code in parser.extract_macros()} == set(expected)
    finally:
        parser.close()


# --------------------------------------------------------------------------- the workbook


def test_olevba_lists_every_module_with_our_source(ledger_xlsm):
    modules = vba.extract_macros(ledger_xlsm)
    assert set(modules) == {
        "ThisWorkbook",
        "Sheet1",
        "Sheet2",
        "Sheet3",
        "Sheet4",
        BUTTONS_MODULE,
        "xlwings",
        "Dictionary",
    }
    assert modules[BUTTONS_MODULE].splitlines() == vba.render_buttons_module().splitlines()
    assert modules["xlwings"].splitlines() == vba.read_source("xlwings.bas").splitlines()
    assert "Public Function RunPython(PythonCommand As String)" in modules["xlwings"]
    assert modules["xlwings"].splitlines()[2] == f"'Version: {xlwings.__version__}"


def test_document_modules_match_the_workbook_code_names(ledger_xlsm):
    with zipfile.ZipFile(ledger_xlsm) as archive:
        codenames = [_xml(archive, "xl/workbook.xml").find("main:workbookPr", NS).get("codeName")]
        for part in _sheet_parts(archive).values():
            if "/chartsheets/" not in part:  # XlsxWriter gives chartsheets no code name
                codenames.append(_xml(archive, part).find("main:sheetPr", NS).get("codeName"))
        project = olefile.OleFileIO(archive.read("xl/vbaProject.bin")).openstream("PROJECT").read()
    documents = re.findall(r"^Document=(\w+)/", project.decode("cp1252"), re.MULTILINE)
    assert documents == codenames == ["ThisWorkbook", "Sheet1", "Sheet2", "Sheet3", "Sheet4"]


def test_each_button_runs_a_macro_that_calls_toolkit_macros(ledger_xlsm):
    buttons = _buttons(ledger_xlsm)
    assert buttons == {b.caption: f"[0]!{b.macro}" for b in MACROS}
    procedures = _procedures(vba.extract_macros(ledger_xlsm))
    for button in MACROS:
        assert procedures[button.macro] == [
            (BUTTONS_MODULE, ["If Not ToolkitReady() Then Exit Sub", f'RunPython "{button.python_command}"'])
        ]
    assert len(procedures["RunPython"]) == 1 and procedures["RunPython"][0][0] == "xlwings"


def test_macro_sheet_explains_each_button_and_how_to_enable_macros(ledger_xlsm):
    book = openpyxl.load_workbook(ledger_xlsm, read_only=True)
    assert book.sheetnames == ["问题清单", MACRO_SHEET, CONFIG_SHEET, "统计", "图表"]
    texts = [c for row in book[MACRO_SHEET].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    for button in MACROS:
        assert button.help in texts
    assert any("受信任位置" in t and "解除锁定" in t for t in texts)


def test_config_sheet_holds_settings_xlwings_reads(ledger_xlsm):
    book = openpyxl.load_workbook(ledger_xlsm)
    sheet = book[CONFIG_SHEET]
    assert sheet.sheet_state == "hidden"  # xlwings finds it with wb.Sheets(name), hidden or not
    rows = []
    for key, value in sheet.iter_rows(min_col=1, max_col=2, values_only=True):
        if key is None:
            break  # xlwings reads column A from A1 down to the first empty cell
        rows.append((key, value))
    assert rows == [
        ("Interpreter_Win", r"C:\Program Files\Python311\python.exe"),
        ("PYTHONPATH", r"D:\整改 工具"),
        ("Show Console", False),
    ]
    read_by_xlwings = set(re.findall(r'GetConfig\("([^"]+)"', vba.read_source("xlwings.bas")))
    assert {key.upper() for key, _ in rows} <= read_by_xlwings


def test_empty_settings_write_no_row(tmp_path):
    path = tmp_path / "空设置.xlsm"
    wb = xlsxwriter.Workbook(str(path))
    vba.add_macro_sheet(wb, interpreter="", pythonpath="")
    wb.close()
    sheet = openpyxl.load_workbook(path)[CONFIG_SHEET]
    assert [(c.value, sheet.cell(c.row, 2).value) for c in sheet["A"] if c.value] == [("Show Console", False)]


def test_xlsx_name_is_refused(tmp_path):
    wb = xlsxwriter.Workbook(str(tmp_path / "台账.xlsx"))
    with pytest.raises(ValueError, match=r"\.xlsm"):
        vba.add_macro_sheet(wb)
    wb.close()


@pytest.mark.requires("soffice")
def test_libreoffice_opens_the_workbook_and_binds_buttons_to_our_macros(ledger_xlsm, tmp_path):
    profile = (tmp_path / "lo_profile").as_uri()
    out = tmp_path / "转换 结果"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "ods",
            "--outdir",
            str(out),
            str(ledger_xlsm),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    with zipfile.ZipFile(out / (ledger_xlsm.stem + ".ods")) as ods:
        content = ods.read("content.xml").decode("utf-8")
        basic = {
            PurePosixPath(n).stem: ods.read(n).decode("utf-8")
            for n in ods.namelist()
            if n.startswith("Basic/VBAProject/") and "script-" not in n
        }
    # LibreOffice imported our modules from vbaProject.bin ...
    assert set(basic) == {
        "ThisWorkbook",
        "Sheet1",
        "Sheet2",
        "Sheet3",
        "Sheet4",
        BUTTONS_MODULE,
        "xlwings",
        "Dictionary",
    }
    assert 'script:moduleType="class"' in basic["Dictionary"]
    for button in MACROS:
        assert f"RunPython &quot;{button.python_command}&quot;" in basic[BUTTONS_MODULE]
    # ... and found each button's macro in them.
    found = dict(
        re.findall(
            r'<form:button [^>]*form:label="([^"]+)".*?xlink:href="vnd\.sun\.star\.script:([\w.]+)\?',
            content,
            re.DOTALL,
        )
    )
    assert found == {b.caption: f"VBAProject.{BUTTONS_MODULE}.{b.macro}" for b in MACROS}


# --------------------------------------------------------------------------- the click path


def _run_with_hook(site_dir: Path, code: str, *args: str) -> str:
    """Run ``code`` in a fresh interpreter after Python's ``site`` has processed ``site_dir`` (its .pth files)."""
    repo = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", f"import site; site.addsitedir({str(site_dir)!r}); {code}", *args],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": repo},
    )
    return done.stdout.strip()


def test_click_hook_keeps_pandas_off_the_xlwings_import_of_a_button_click(tmp_path):
    from toolkit.excel.vba import clickpath

    path = clickpath.write_click_hook(tmp_path)
    assert path.name == clickpath.PTH_NAME and path.read_bytes().isascii()
    assert path.read_text().count("\n") == 1 and path.read_text().startswith("import ")  # site executes it
    probe = ("import sys, xlwings; before = 'pandas' in sys.modules or 'numpy' in sys.modules; "
             "import pandas; print(before, 'pandas' in sys.modules, xlwings.conversion.pd is None)")
    # Started by RunPython: xlwings imports without pandas/numpy; the toolkit can still import pandas.
    assert _run_with_hook(tmp_path, probe, "--wb=台账.xlsm", "--from_xl=1") == "False True True"
    # Any other use of the venv (zhenggai, launchers): untouched.
    assert _run_with_hook(tmp_path, probe) == "True True False"
