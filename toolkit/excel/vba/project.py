"""The macro-enabled ledger: its VBA project and the 操作 sheet of buttons.

Staff click a button on the ``操作`` sheet; the button runs a one-line VBA Sub that calls
xlwings' ``RunPython``, which starts Python and runs one function of ``toolkit.macros``.
The workbook carries the xlwings *standalone* VBA (``xlwings.bas`` + ``Dictionary.cls``),
so no xlwings add-in is needed on the PC, and an ``xlwings.conf`` sheet that tells
RunPython which Python to start.

The VBA project (``xl/vbaProject.bin``) is built here from the source text kept in
:mod:`toolkit.excel.vba`, with the standard library only. It is a *source-only* project:
``_VBA_PROJECT`` declares version 0xFFFF with no performance cache, and every module stream —
document modules included — holds only compressed source (MODULEOFFSET 0, no compiled
p-code). Office uses compiled caches only when the stored version equals its own; 0xFFFF
matches none, so the caches are ignored and the source is compiled [MS-OVBA 1.6, 2.3.4.1]:
Excel compiles our modules when the workbook is opened, for its own bitness. The ``dir`` stream uses the same records in the same order as the ``vbaProject.bin``
in xlwings' ``quickstart_standalone.xlsm`` (made with Aspose.Cells), and ``PROJECT`` the same
keys; it is *not* a copy of that file: there, most module streams carry compiled code before
the source (offsets 819, 1119, 18665 …), ours carry none.

The container is a version 3 compound file [MS-CFB] (512-byte sectors, 64-byte mini
sectors). Storage entries (``VBA``) have start sector 0 and size 0, as MS-CFB 2.6.3 requires;
empty streams and an absent mini stream have ENDOFCHAIN; siblings form a red-black tree.

Why not the ``ms-ovba`` package (0.0.1): its compressor corrupts any source longer than
about 600 bytes (its own decompressor and olevba both fail on the output; ``xlwings.bas``
is 46 KB), it writes scratch files into the current directory, and its author reports
that the files it makes do not yet run in Excel (Beakerboy/MS-OVBA#116).

Only Windows Excel can confirm that the project compiles and the buttons run; the tests
check the file with olevba and LibreOffice, which read it independently.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import xlsxwriter

# --------------------------------------------------------------------------- buttons

MACROS_MODULE = "toolkit.macros"
"""The Python module whose functions the buttons run."""

MACRO_SHEET = "操作"
CONFIG_SHEET = "xlwings.conf"
BUTTONS_MODULE = "LedgerButtons"
"""VBA module of the button Subs (not ``Buttons``, which is a class of the Excel library)."""


@dataclass(frozen=True)
class MacroButton:
    """One button of the 操作 sheet: what staff see and what it runs.

    ``caption`` and ``help`` are shown to staff; ``macro`` is the VBA Sub the button is
    bound to (ASCII identifier); ``function`` is the function of ``toolkit.macros`` that
    the Sub runs through RunPython.
    """

    caption: str
    macro: str
    function: str
    help: str

    @property
    def python_command(self) -> str:
        """The Python statement RunPython executes for this button."""
        return f"import {MACROS_MODULE} as m; m.{self.function}()"


MACROS: tuple[MacroButton, ...] = (
    MacroButton(
        "校验台账",
        "CheckLedger",
        "check_ledger",
        "检查台账中的必填项、日期、编号和县区名称是否规范，列出需要修改的表、行和列。",
    ),
    MacroButton(
        "更新状态",
        "UpdateStatus",
        "update_status",
        "按今天的日期重新判断每项整改措施的状态（已完成、未到期、临期、逾期），并更新台账和统计。",
    ),
    MacroButton(
        "生成县区报送表",
        "MakeCountyTemplates",
        "make_county_templates",
        "为每个县（市、区）生成一份只含本地任务的报送表，用于下发填报。",
    ),
    MacroButton(
        "汇总县区报送",
        "ConsolidateCounties",
        "consolidate_counties",
        "选择存放县区交回报送表的文件夹，逐份校验后把进展汇总进台账；有问题的文件会单独列出。",
    ),
    MacroButton("生成通报", "MakeNotice", "make_notice", "根据台账当前数据生成整改进展通报（Word 文档）。"),
    MacroButton("生成看板", "MakeBoard", "make_board", "生成督办看板（网页 .html，可离线打开和打印），放在台账旁。"),
)
"""The buttons, in sheet order: the single source of truth for captions, Subs and calls."""


class VbaSourceError(ValueError):
    """VBA source cannot be stored in the project: non-ASCII text, a missing or wrong
    ``Attribute VB_Name`` line, or a name that is not a VBA identifier."""


_VBA_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}\Z")
_PY_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


NO_INTERPRETER_MESSAGE = (
    "整改台账：找不到按钮要用的 Python。\n\n"
    "设置 Interpreter_Win（在隐藏的“xlwings.conf”工作表或用户的 xlwings.conf 文件中）指向的文件不存在：\n"
    "{interpreter}\n\n"
    "请按《员工电脑安装说明》运行安装包中的 install.cmd（为当前用户安装到 %LOCALAPPDATA%\\zhenggai\\venv，"
    "不需要管理员权限）；Python 装在别处的，请把 Interpreter_Win 改为 python.exe 的完整路径。\n"
    "WPS 表格或不能启用宏时，请先保存并关闭台账，再双击台账旁的 .cmd 文件。"
)
"""Shown by the buttons (VBA) when the interpreter xlwings would start does not exist."""

NO_TOOLKIT_MESSAGE = (
    "整改台账：这个 Python 中没有安装整改台账工具（toolkit）或 xlwings：\n{interpreter}\n\n"
    "请重新运行安装包中的 install.cmd；如果 Interpreter_Win 指向了别的 Python，"
    "请改为 %LOCALAPPDATA%\\zhenggai\\venv\\Scripts\\python.exe。"
)
"""Shown by the buttons (VBA) when that interpreter cannot import ``toolkit.macros`` and ``xlwings``."""

_TITLE_CODES = " ".join(f"{ord(ch):X}" for ch in "整改台账")  # the message boxes' title

_IMPORT_CHECK = (
    "import importlib.util as u, sys; "
    f"sys.exit(0 if u.find_spec('{MACROS_MODULE}') and u.find_spec('xlwings') else 1)"
)


def vba_text(text: str, variable: str) -> list[str]:
    """VBA lines that build ``text`` in ``variable`` from ASCII only: ``Zh("6574 6539 ...")`` pieces.

    The module's source stays ASCII (VBA stores it in the project's code page); ``{interpreter}``
    in ``text`` becomes the VBA variable ``interpreter``.
    """
    lines = [f'{variable} = ""']
    for n, piece in enumerate(text.split("{interpreter}")):
        if n:
            lines.append(f"{variable} = {variable} & interpreter")
        for start in range(0, len(piece), 24):
            codes = " ".join(f"{ord(ch):X}" for ch in piece[start : start + 24])
            if codes:
                lines.append(f'{variable} = {variable} & Zh("{codes}")')
    return lines


def render_buttons_module(macros: Sequence[MacroButton] = MACROS) -> str:
    """The text of ``LedgerButtons.bas``: one Public Sub per button, each checks Python, then runs RunPython.

    ``ToolkitReady`` mirrors xlwings' own lookup of the interpreter (``GetConfig``, which expands
    ``%LOCALAPPDATA%``) and, instead of xlwings' English "Could not find Interpreter!" or a Python
    traceback, shows a Chinese message saying what to do. The check costs no process start when
    the toolkit and xlwings are found in the interpreter's ``Lib\\site-packages``; otherwise
    (a PYTHONPATH folder, an editable install) it asks the interpreter, hidden, with ``find_spec``.
    """
    lines = [
        f'Attribute VB_Name = "{BUTTONS_MODULE}"',
        "' Buttons of the ledger's macro sheet. Generated from toolkit.excel.vba.project.MACROS:",
        "' edit that table, then run  python -m toolkit.excel.vba.project  to rewrite this file.",
        "' Each Sub checks that the configured Python has the toolkit, then runs one function of",
        "' toolkit.macros through xlwings RunPython. Chinese text is built with ChrW: the module stays ASCII.",
        "Option Explicit",
    ]
    for button in macros:
        if not _VBA_IDENTIFIER.match(button.macro):
            raise VbaSourceError(f"macro name {button.macro!r} is not a VBA identifier")
        if not _PY_IDENTIFIER.match(button.function):
            raise VbaSourceError(f"function name {button.function!r} is not a Python identifier")
        lines += [
            "",
            f"Public Sub {button.macro}()",
            "    If Not ToolkitReady() Then Exit Sub",
            f'    RunPython "{button.python_command}"',
            "End Sub",
        ]
    lines += [
        "",
        "' True when the interpreter xlwings will start exists and can import the toolkit and xlwings;",
        "' otherwise shows why in Chinese (instead of xlwings' English message or a Python traceback).",
        "Private Function ToolkitReady() As Boolean",
        "    Dim interpreter As String, prefix As String, message As String",
        '    interpreter = GetConfig("INTERPRETER_WIN", "")',
        '    If interpreter = "" Then interpreter = GetConfig("INTERPRETER", "python")',
        '    If interpreter = "python" Or interpreter = "pythonw" Then',
        "        ToolkitReady = True ' looked up on PATH by cmd.exe; nothing to check here",
        "        Exit Function",
        "    End If",
        "    If Not FileExists(interpreter) Then",
        *("        " + line for line in vba_text(NO_INTERPRETER_MESSAGE, "message")),
        f"        MsgBox message, vbCritical, Zh(\"{_TITLE_CODES}\")",
        "        Exit Function",
        "    End If",
        "    prefix = ParentFolder(interpreter)",
        '    If LCase$(Right$(prefix, 8)) = "\\scripts" Then prefix = ParentFolder(prefix)',
        '    If FileExists(prefix & "\\Lib\\site-packages\\toolkit\\macros.py") And '
        'FileExists(prefix & "\\Lib\\site-packages\\xlwings\\__init__.py") Then',
        "        ToolkitReady = True",
        "        Exit Function",
        "    End If",
        "    If ImportsToolkit(interpreter) Then",
        "        ToolkitReady = True",
        "        Exit Function",
        "    End If",
        *("    " + line for line in vba_text(NO_TOOLKIT_MESSAGE, "message")),
        f"    MsgBox message, vbCritical, Zh(\"{_TITLE_CODES}\")",
        "End Function",
        "",
        "' Runs the interpreter hidden on a one-line import check, with the PYTHONPATH xlwings would use.",
        "Private Function ImportsToolkit(ByVal interpreter As String) As Boolean",
        "    Dim env As Object, saved As String",
        '    Set env = CreateObject("WScript.Shell").Environment("PROCESS")',
        '    saved = env("PYTHONPATH")',
        '    env("PYTHONPATH") = ThisWorkbook.Path & ";" & GetConfig("PYTHONPATH")',
        "    On Error Resume Next",
        '    ImportsToolkit = (CreateObject("WScript.Shell").Run(Chr(34) & interpreter & Chr(34) & " -c " & Chr(34) & _',
        f'        "{_IMPORT_CHECK}" & Chr(34), 0, True) = 0)',
        "    On Error GoTo 0",
        '    If saved = "" Then env.Remove "PYTHONPATH" Else env("PYTHONPATH") = saved',
        "End Function",
        "",
        "' Text from hexadecimal UTF-16 code units separated by spaces.",
        "Private Function Zh(ByVal codes As String) As String",
        "    Dim part As Variant",
        '    For Each part In Split(codes, " ")',
        '        Zh = Zh & ChrW(CLng("&H" & part & "&"))',
        "    Next part",
        "End Function",
    ]
    text = "\r\n".join(lines) + "\r\n"
    return _ascii(text, f"{BUTTONS_MODULE}.bas")


# --------------------------------------------------------------------------- modules

ModuleKind = Literal["module", "class", "document"]

_SOURCE_FILES = (f"{BUTTONS_MODULE}.bas", "xlwings.bas", "Dictionary.cls")

# VB_Base of document modules (the Excel type library's classes) and of class modules.
_WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
_WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"
_CLASS_BASE = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"


@dataclass(frozen=True)
class VbaModule:
    """A module as stored in the project: ``code`` starts with its Attribute lines."""

    name: str
    kind: ModuleKind
    code: str


def read_source(filename: str) -> str:
    """The text of one file of :mod:`toolkit.excel.vba` (ASCII, line ends as in the file)."""
    data = resources.files("toolkit.excel.vba").joinpath(filename).read_bytes()
    return _ascii(data.decode("latin-1"), filename)


def _ascii(text: str, where: str) -> str:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.isascii():
            raise VbaSourceError(
                f"{where} line {number} is not ASCII; VBA keeps source in the project's code "
                "page, so put Chinese text in the button captions or in what Python shows"
            )
    return text


def stored_module(text: str, filename: str) -> VbaModule:
    """Turn an exported ``.bas``/``.cls`` file into the module VBA stores.

    A ``.cls`` file loses its ``VERSION``/``BEGIN``…``END`` header and gains the
    ``VB_Base``, ``VB_TemplateDerived`` and ``VB_Customizable`` attributes, as VBA does on
    import.
    """
    _ascii(text, filename)
    stem, _, extension = filename.rpartition(".")
    lines = text.splitlines()
    kind: ModuleKind = "module"
    if extension.lower() == "cls":
        kind = "class"
        if lines and lines[0].startswith("VERSION "):
            end = next((i for i, line in enumerate(lines) if line.strip() == "END"), None)
            if end is None:
                raise VbaSourceError(f"{filename}: class header has no END line")
            lines = lines[end + 1 :]
    match = re.fullmatch(r'Attribute VB_Name = "([^"]+)"', lines[0].strip()) if lines else None
    if match is None:
        raise VbaSourceError(f'{filename}: the first line must be  Attribute VB_Name = "{stem}"')
    name = match.group(1)
    if name != stem or not _VBA_IDENTIFIER.match(name):
        raise VbaSourceError(f"{filename}: VB_Name {name!r} must equal the file name and be a VBA identifier")
    if kind == "class":
        lines.insert(1, f'Attribute VB_Base = "{_CLASS_BASE}"')
        attributes = [i for i, line in enumerate(lines) if line.startswith("Attribute VB_")]
        exposed = next((i for i in attributes if lines[i].startswith("Attribute VB_Exposed")), attributes[-1])
        lines[exposed + 1 : exposed + 1] = ["Attribute VB_TemplateDerived = False", "Attribute VB_Customizable = False"]
    return VbaModule(name, kind, "\r\n".join(lines) + "\r\n")


def document_module(codename: str, base: str = _WORKSHEET_BASE) -> VbaModule:
    """The (empty) module of the workbook or of one sheet, named by its VBA code name."""
    if not _VBA_IDENTIFIER.match(codename):
        raise VbaSourceError(f"VBA code name {codename!r} must be an ASCII identifier of at most 31 characters")
    lines = [
        f'Attribute VB_Name = "{codename}"',
        f'Attribute VB_Base = "{base}"',
        "Attribute VB_GlobalNameSpace = False",
        "Attribute VB_Creatable = False",
        "Attribute VB_PredeclaredId = True",
        "Attribute VB_Exposed = True",
        "Attribute VB_TemplateDerived = False",
        "Attribute VB_Customizable = True",
    ]
    return VbaModule(codename, "document", "\r\n".join(lines) + "\r\n")


def project_modules(*, workbook_codename: str = "ThisWorkbook", sheet_codenames: Sequence[str] = ()) -> list[VbaModule]:
    """Every module of the project, in the order Excel lists them."""
    modules = [document_module(workbook_codename, _WORKBOOK_BASE)]
    modules += [document_module(name, _WORKSHEET_BASE) for name in sheet_codenames]
    modules += [stored_module(read_source(name), name) for name in _SOURCE_FILES]
    names = [m.name.upper() for m in modules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise VbaSourceError(f"module names used twice (VBA ignores case): {', '.join(duplicates)}")
    return modules


# --------------------------------------------------------------------------- vbaProject.bin

_PROJECT_ID = "{6F3B9A2E-5C1D-4E8B-A7D0-2B9C4F61E835}"  # fixed, so equal input gives equal bytes
_CODE_PAGE = 1252  # VBA stores source in this code page; the source is ASCII, so any page reads it
_LCID = 0x0409
_SYSKIND_WIN64 = 3  # as in xlwings' quickstart_standalone.xlsm; Excel recompiles for its own platform
_REFERENCES = (
    ("stdole", "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\\Windows\\System32\\stdole2.tlb#OLE Automation"),
    (
        "Office",
        "*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#"
        "C:\\Program Files\\Common Files\\Microsoft Shared\\OFFICE16\\MSO.DLL#"
        "Microsoft Office 16.0 Object Library",
    ),
)


def build_vba_project(*, workbook_codename: str = "ThisWorkbook", sheet_codenames: Sequence[str] = ()) -> bytes:
    """A ``vbaProject.bin`` holding the button module and the xlwings standalone modules.

    The code names must be those the workbook's XML gives the workbook and its worksheets
    (XlsxWriter: ``Workbook.vba_codename``, ``Worksheet.vba_codename``); each gets its
    (empty) document module, as Excel would save it. :func:`add_macro_sheet` passes them.
    """
    modules = project_modules(workbook_codename=workbook_codename, sheet_codenames=sheet_codenames)
    vba = {
        "_VBA_PROJECT": struct.pack("<HHBH", 0x61CC, 0xFFFF, 0x00, 0x0001),  # no performance cache
        "dir": compress(_dir_stream(modules)),
    }
    for module in modules:
        vba[module.name] = compress(module.code.encode(f"cp{_CODE_PAGE}"))
    root = {
        "VBA": vba,
        "PROJECT": _project_stream(modules),
        "PROJECTwm": _project_wm_stream(modules),
    }
    return compound_file(root)


def _record(record_id: int, data: bytes) -> bytes:
    return struct.pack("<HI", record_id, len(data)) + data


def _mbcs(text: str) -> bytes:
    return text.encode(f"cp{_CODE_PAGE}")


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def _dir_stream(modules: Sequence[VbaModule]) -> bytes:
    """The uncompressed ``dir`` stream [MS-OVBA 2.3.4.2]."""
    out = bytearray()
    out += _record(0x0001, struct.pack("<I", _SYSKIND_WIN64))
    out += _record(0x0002, struct.pack("<I", _LCID))
    out += _record(0x0014, struct.pack("<I", _LCID))  # LCIDINVOKE
    out += _record(0x0003, struct.pack("<H", _CODE_PAGE))
    out += _record(0x0004, _mbcs("VBAProject"))
    out += _record(0x0005, b"") + _record(0x0040, b"")  # doc string, MBCS + Unicode
    out += _record(0x0006, b"") + _record(0x003D, b"")  # help file, twice
    out += _record(0x0007, struct.pack("<I", 0))  # help context
    out += _record(0x0008, struct.pack("<I", 0))  # lib flags
    out += struct.pack("<HIIH", 0x0009, 4, 1, 0)  # PROJECTVERSION: Reserved=4, major, minor
    out += _record(0x000C, b"") + _record(0x003C, b"")  # constants, MBCS + Unicode
    for name, libid in _REFERENCES:
        out += _record(0x0016, _mbcs(name)) + _record(0x003E, _utf16(name))
        libid_bytes = _mbcs(libid)
        registered = struct.pack("<I", len(libid_bytes)) + libid_bytes + struct.pack("<IH", 0, 0)
        out += _record(0x000D, registered)
    out += _record(0x000F, struct.pack("<H", len(modules)))
    out += _record(0x0013, struct.pack("<H", 0xFFFF))  # project cookie
    for module in modules:
        out += _record(0x0019, _mbcs(module.name)) + _record(0x0047, _utf16(module.name))
        out += _record(0x001A, _mbcs(module.name)) + _record(0x0032, _utf16(module.name))  # stream name
        out += _record(0x001C, b"") + _record(0x0048, b"")  # doc string
        out += _record(0x0031, struct.pack("<I", 0))  # source starts at offset 0: no p-code
        out += _record(0x001E, struct.pack("<I", 0))  # help context
        out += _record(0x002C, struct.pack("<H", 0xFFFF))  # module cookie
        out += struct.pack("<HI", 0x0021 if module.kind == "module" else 0x0022, 0)  # MODULETYPE
        out += struct.pack("<HI", 0x002B, 0)  # module terminator
    out += struct.pack("<HI", 0x0010, 0)  # dir terminator
    return bytes(out)


def _project_stream(modules: Sequence[VbaModule]) -> bytes:
    """The ``PROJECT`` stream [MS-OVBA 2.3.1]: project properties as text."""
    protection = encrypt_project_data(bytes(4), seed=0x8D).hex().upper()  # not protected
    password = encrypt_project_data(b"\x00", seed=0x8F).hex().upper()  # no password
    visibility = encrypt_project_data(b"\xff", seed=0x91).hex().upper()  # visible in the editor
    lines = [f'ID="{_PROJECT_ID}"']
    for module in modules:
        if module.kind == "document":
            lines.append(f"Document={module.name}/&H00000000")
        elif module.kind == "class":
            lines.append(f"Class={module.name}")
        else:
            lines.append(f"Module={module.name}")
    lines += [
        'Name="VBAProject"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        f'CMG="{protection}"',
        f'DPB="{password}"',
        f'GC="{visibility}"',
        "",
        "[Host Extender Info]",
        "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
        "",
        "[Workspace]",
    ]
    lines += [f"{module.name}=0, 0, 0, 0, C" for module in modules]
    return _mbcs("\r\n".join(lines) + "\r\n")


def _project_wm_stream(modules: Sequence[VbaModule]) -> bytes:
    """The ``PROJECTwm`` stream: each module name in MBCS and in UTF-16."""
    out = bytearray()
    for module in modules:
        out += _mbcs(module.name) + b"\x00" + _utf16(module.name) + b"\x00\x00"
    return bytes(out + b"\x00\x00")


def encrypt_project_data(data: bytes, *, seed: int, project_id: str = _PROJECT_ID) -> bytes:
    """[MS-OVBA 2.4.3.2] data encryption, used for the CMG, DPB and GC properties.

    Excel picks a random seed; a fixed one keeps the output reproducible. The bytes the
    algorithm lets the writer choose freely ("ignored" bytes) are zeros.
    """
    version = 2
    project_key = sum(project_id.encode("ascii")) & 0xFF
    out = bytearray([seed, seed ^ version, seed ^ project_key])
    unencrypted_1, encrypted_1, encrypted_2 = project_key, seed ^ project_key, seed ^ version
    plain = bytes((seed & 6) // 2) + struct.pack("<I", len(data)) + data
    for byte in plain:
        byte_enc = byte ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        out.append(byte_enc)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, byte_enc, byte
    return bytes(out)


# --------------------------------------------------------------------------- compression

_CHUNK = 4096


def compress(data: bytes) -> bytes:
    """[MS-OVBA 2.4.1] compression of a stream: a 0x01 byte, then chunks of 4096 bytes."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), _CHUNK):
        chunk = data[start : start + _CHUNK]
        body = _compress_chunk(chunk)
        if len(body) <= _CHUNK:
            out += struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body  # compressed, signature 0b011
        elif len(chunk) == _CHUNK:
            out += struct.pack("<H", 0x3000 | 0x0FFF) + chunk  # stored raw
        else:
            # A short raw chunk would be padded with zero bytes, which would end up in the source.
            raise VbaSourceError("the last 4 KB of a module do not compress; add a comment line to the module")
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    """One chunk's tokens: flag bytes, each followed by up to 8 literal bytes or copy tokens."""
    out = bytearray()
    seen: dict[bytes, list[int]] = {}  # 3-byte prefix -> earlier positions in this chunk
    size = len(chunk)
    pos = indexed = 0
    while pos < size:
        flag_at = len(out)
        out.append(0)
        for bit in range(8):
            if pos >= size:
                break
            # [MS-OVBA 2.4.1.3.19.1]: offset bits grow with the distance from the chunk start.
            bit_count = max((pos - 1).bit_length(), 4) if pos > 0 else 4
            max_length = min((0xFFFF >> bit_count) + 3, size - pos)
            best_length = best_offset = 0
            if max_length >= 3:
                for candidate in reversed(seen.get(chunk[pos : pos + 3], [])[-256:]):
                    length = 3
                    while length < max_length and chunk[candidate + length] == chunk[pos + length]:
                        length += 1
                    if length > best_length:
                        best_length, best_offset = length, pos - candidate
                        if length == max_length:
                            break
            if best_length >= 3:
                out += struct.pack("<H", ((best_offset - 1) << (16 - bit_count)) | (best_length - 3))
                out[flag_at] |= 1 << bit
                pos += best_length
            else:
                out.append(chunk[pos])
                pos += 1
            for p in range(indexed, pos):
                seen.setdefault(chunk[p : p + 3], []).append(p)
            indexed = pos
    return bytes(out)


# --------------------------------------------------------------------------- compound file

_SECTOR = 512
_MINI_SECTOR = 64
_MINI_CUTOFF = 4096
_FREESECT, _ENDOFCHAIN, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_RED, _BLACK = 0, 1


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    color: int = _BLACK
    start: int = _ENDOFCHAIN
    size: int = 0


Tree = dict[str, "bytes | Tree"]


def compound_file(root: Tree) -> bytes:
    """A version 3 compound file [MS-CFB] holding ``root``: name → bytes (stream) or dict (storage)."""
    entries: list[_Entry] = []

    def add(name: str, node: bytes | Tree, kind: int) -> int:
        if len(name) > 31:
            raise ValueError(f"compound file names have at most 31 characters: {name!r}")
        index = len(entries)
        # [MS-CFB 2.6.3]: a storage object's starting sector location and size MUST be zero.
        start = 0 if kind == 1 else _ENDOFCHAIN
        entries.append(_Entry(name, kind, node if isinstance(node, bytes) else b"", start=start))
        if isinstance(node, dict):
            children = [add(k, v, 1 if isinstance(v, dict) else 2) for k, v in node.items()]
            entries[index].child = sibling_tree(entries, children)
        return index

    add("Root Entry", root, 5)

    mini = bytearray()
    minifat: list[int] = []
    big: list[_Entry] = []
    for entry in entries:
        if entry.kind != 2:
            continue
        entry.size = len(entry.data)
        if entry.size >= _MINI_CUTOFF:
            big.append(entry)
        elif entry.size:
            count = -(-entry.size // _MINI_SECTOR)
            entry.start = len(minifat)
            minifat += list(range(entry.start + 1, entry.start + count)) + [_ENDOFCHAIN]
            mini += entry.data.ljust(count * _MINI_SECTOR, b"\x00")

    def sectors(n_bytes: int) -> int:
        return -(-n_bytes // _SECTOR)

    dir_count = sectors(len(entries) * 128)
    minifat_count = sectors(len(minifat) * 4)
    mini_count = sectors(len(mini))
    rest = dir_count + minifat_count + mini_count + sum(sectors(e.size) for e in big)
    fat_count = 1
    while fat_count * (_SECTOR // 4) < fat_count + rest:
        fat_count += 1
    if fat_count > 109:
        raise ValueError("compound file too large for a header-only FAT list")

    fat = [_FREESECT] * (fat_count * (_SECTOR // 4))
    fat[:fat_count] = [_FATSECT] * fat_count
    next_sector = fat_count

    def chain(count: int) -> int:
        nonlocal next_sector
        if count == 0:
            return _ENDOFCHAIN
        first = next_sector
        for s in range(first, first + count - 1):
            fat[s] = s + 1
        fat[first + count - 1] = _ENDOFCHAIN
        next_sector += count
        return first

    first_dir = chain(dir_count)
    first_minifat = chain(minifat_count)
    entries[0].start = chain(mini_count)
    entries[0].size = len(mini)
    for entry in big:
        entry.start = chain(sectors(entry.size))

    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        bytes(16),
        0x003E,
        0x0003,
        0xFFFE,
        9,
        6,
        bytes(6),
        0,
        fat_count,
        first_dir,
        0,
        _MINI_CUTOFF,
        first_minifat,
        minifat_count,
        _ENDOFCHAIN,
        0,
    )
    header += struct.pack("<109I", *(list(range(fat_count)) + [_FREESECT] * (109 - fat_count)))

    directory = bytearray()
    for entry in entries:
        name = _utf16(entry.name + "\x00")
        directory += struct.pack(
            "<64sHBBIII16sIQQIQ",
            name,
            len(name),
            entry.kind,
            entry.color,
            entry.left,
            entry.right,
            entry.child,
            bytes(16),
            0,
            0,
            0,
            entry.start,
            entry.size,
        )
    unused = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM, bytes(16), 0, 0, 0, 0, 0)
    while len(directory) % _SECTOR:
        directory += unused

    def padded(data: bytes | bytearray, fill: bytes = b"\x00") -> bytes:
        return bytes(data) + fill * (-len(data) % _SECTOR)

    body = [
        struct.pack(f"<{len(fat)}I", *fat),
        bytes(directory),
        padded(struct.pack(f"<{len(minifat)}I", *minifat), b"\xff"),
        padded(mini),
    ]
    body += [padded(entry.data) for entry in big]
    return header + b"".join(body)


def sibling_tree(entries: list[_Entry], children: Sequence[int]) -> int:
    """Link ``children`` as the red-black tree [MS-CFB] wants; return the root's index.

    Siblings are ordered by name length, then by upper-cased name. The tree is built by
    halving the sorted list, so all empty links sit on the last two levels; colouring the
    deepest level red (and everything else black) gives every path the same black count.
    """
    ordered = sorted(children, key=lambda i: (len(entries[i].name), entries[i].name.upper()))
    depth: dict[int, int] = {}

    def build(lo: int, hi: int, level: int) -> int:
        if lo >= hi:
            return _NOSTREAM
        mid = (lo + hi) // 2
        index = ordered[mid]
        depth[index] = level
        entries[index].left = build(lo, mid, level + 1)
        entries[index].right = build(mid + 1, hi, level + 1)
        return index

    top = build(0, len(ordered), 0)
    deepest = max(depth.values(), default=0)
    for index, level in depth.items():
        entries[index].color = _RED if level == deepest and level > 0 else _BLACK
    return top


# --------------------------------------------------------------------------- workbook


class _VbaProjectAtClose(io.BytesIO):
    """The vbaProject handed to XlsxWriter, built when the workbook is written.

    XlsxWriter reads an in-memory vbaProject with ``getvalue()`` only inside
    ``Workbook.close()``, after it has given every sheet its VBA code name. Building the
    project then gives it exactly one document module per worksheet, whether the caller
    adds its sheets before or after :func:`add_macro_sheet`. Chartsheets get none:
    XlsxWriter writes no code name for them, and a module without its sheet would be an
    orphan; Excel adds their modules itself.
    """

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        super().__init__()
        self._workbook = workbook

    def getvalue(self) -> bytes:  # type: ignore[override]
        sheets = [
            sheet.vba_codename or f"Sheet{sheet.index + 1}"  # XlsxWriter's default
            for sheet in self._workbook.worksheets()
            if not sheet.is_chartsheet
        ]
        return build_vba_project(
            workbook_codename=self._workbook.vba_codename or "ThisWorkbook", sheet_codenames=sheets
        )


_SHEET_NOTES = (
    "使用前须启用宏：请把本文件放在受信任位置（文件 → 选项 → 信任中心 → 信任中心设置 → 受信任位置），"
    "或在文件上右键 → 属性 → 勾选“解除锁定”后重新打开。从邮件、网页或聊天工具收到的文件，Office 默认禁止运行其中的宏。",
    "按钮通过 xlwings 启动本机的 Python 运行 toolkit；Python 的位置等设置在隐藏的“xlwings.conf”表中"
    "（右键任一工作表标签 → 取消隐藏）。运行时请等待完成，期间不要编辑本工作簿。WPS 表格不支持这些按钮。",
)

_CONFIG_NOTES = (
    "本表由按钮使用的 xlwings 读取，勿改表名。A 列为设置名，B 列为值，须从 A1 起连续填写，中间不能有空行。",
    "Interpreter_Win：python.exe 的完整路径；填 python 则使用 PATH 中的 Python。",
    "PYTHONPATH：toolkit 所在的文件夹（多个用英文分号分隔）；本工作簿所在文件夹总会被加入。",
    "删除某一行，则改用本工作簿旁或用户目录 .xlwings 文件夹中 xlwings.conf 文件里的设置。",
)


def add_macro_sheet(workbook: xlsxwriter.Workbook, *, interpreter: str = "python", pythonpath: str = "") -> None:
    """Make ``workbook`` (an XlsxWriter workbook with a ``.xlsm`` name) macro-enabled.

    Adds the ``操作`` sheet with one button per :data:`MACROS` entry and a short Chinese
    explanation beside each, the hidden ``xlwings.conf`` sheet, and the VBA project
    (built when the workbook is closed, so sheets may be added before or after this call).

    ``interpreter`` is the ``Interpreter_Win`` setting: ``"python"`` (the one on PATH) or
    the full path of ``python.exe``; ``pythonpath`` is the ``PYTHONPATH`` setting (folders
    separated by ``;``). An empty value writes no row, so xlwings falls back to an
    ``xlwings.conf`` file beside the workbook or in the user's ``.xlwings`` folder.
    """
    filename = getattr(workbook, "filename", None)
    if isinstance(filename, (str, Path)) and Path(filename).suffix.lower() != ".xlsm":
        raise ValueError(f"a workbook with macros must be saved as .xlsm, not {Path(filename).name}")
    existing = {sheet.name for sheet in workbook.worksheets()}
    for name in (MACRO_SHEET, CONFIG_SHEET):
        if name in existing:
            raise ValueError(f"the workbook already has a sheet named {name}")

    _write_button_sheet(workbook)
    _write_config_sheet(workbook, interpreter=interpreter, pythonpath=pythonpath)
    workbook.add_vba_project(_VbaProjectAtClose(workbook), is_stream=True)
    if workbook.vba_codename is None:
        workbook.set_vba_name("ThisWorkbook")


def _write_button_sheet(workbook: xlsxwriter.Workbook) -> None:
    ws = workbook.add_worksheet(MACRO_SHEET)
    title = workbook.add_format({"bold": True, "font_size": 16})
    note = workbook.add_format({"text_wrap": True, "valign": "top", "font_color": "#7F4F00"})
    help_format = workbook.add_format({"text_wrap": True, "valign": "vcenter"})
    ws.hide_gridlines(2)
    ws.set_column("A:A", 2)
    ws.set_column("B:B", 24)
    ws.set_column("C:C", 2)
    ws.set_column("D:D", 72)
    ws.write_string(0, 1, "整改台账 · 操作", title)
    for row, text in enumerate(_SHEET_NOTES, start=1):
        ws.merge_range(row, 1, row, 3, text, note)
        ws.set_row(row, 48)
    first = len(_SHEET_NOTES) + 2
    for i, button in enumerate(MACROS):
        row = first + 2 * i
        ws.set_row(row, 36)
        ws.insert_button(
            row,
            1,
            {
                "macro": button.macro,
                "caption": button.caption,
                "width": 168,
                "height": 40,
                "x_offset": 4,
                "y_offset": 4,
                "description": button.help,
            },
        )
        ws.write_string(row, 3, button.help, help_format)


def _write_config_sheet(workbook: xlsxwriter.Workbook, *, interpreter: str, pythonpath: str) -> None:
    # xlwings reads A1 down to the first empty cell of column A (keys, case-insensitive) and
    # the value beside each; a key present with an empty value would override the
    # xlwings.conf files with "", so empty settings get no row.
    ws = workbook.add_worksheet(CONFIG_SHEET)
    rows: list[tuple[str, str | bool]] = []
    if interpreter:
        rows.append(("Interpreter_Win", interpreter))
    if pythonpath:
        rows.append(("PYTHONPATH", pythonpath))
    rows.append(("Show Console", False))
    for row, (key, value) in enumerate(rows):
        ws.write_string(row, 0, key)
        if isinstance(value, bool):
            ws.write_boolean(row, 1, value)
        else:
            ws.write_string(row, 1, value)
    for row, text in enumerate(_CONFIG_NOTES):
        ws.write_string(row, 3, text)
    ws.set_column("A:A", 18)
    ws.set_column("B:B", 40)
    ws.hide()


# --------------------------------------------------------------------------- diagnostics


def extract_macros(path: str | Path) -> dict[str, str]:
    """Module name → VBA source (with its ``Attribute`` lines) of a workbook or a
    ``vbaProject.bin``, as olevba reads it."""
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(path))
    try:
        modules: dict[str, str] = {}
        for _container, _stream, vba_filename, code in parser.extract_macros():
            name = vba_filename.rsplit(".", 1)[0]
            modules[name] = code.decode(f"cp{_CODE_PAGE}") if isinstance(code, bytes) else code
        return modules
    finally:
        parser.close()


def write_buttons_module(folder: str | Path | None = None) -> Path:
    """Rewrite ``LedgerButtons.bas`` from :data:`MACROS` (in ``toolkit/excel/vba`` by default)."""
    target = Path(folder) if folder else Path(__file__).resolve().parent
    path = target / f"{BUTTONS_MODULE}.bas"
    path.write_bytes(render_buttons_module().encode("ascii"))
    return path


if __name__ == "__main__":
    print(write_buttons_module())
