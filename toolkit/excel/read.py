"""Read workbooks into :class:`~toolkit.core.model.Table` objects with their Excel coordinates.

python-calamine does the parsing (fast, and it reads .xlsx/.xlsm/.xls/.xlsb/.ods). This module
adds what the toolkit needs on top of it:

- the real file type is taken from the file's first bytes, not from its extension, and a file
  that is not a workbook (a renamed .docx, a PDF, a web page saved as .xls, a CSV...) is refused
  with a Chinese message that says what it really is and how to fix it;
- every failure (missing file, no permission, encrypted, corrupt, a calamine panic) becomes an
  :class:`UnreadableWorkbook`; no other exception leaves :func:`read_workbook`;
- each table keeps the sheet's true first row and column, merged ranges, and merged values
  copied to every covered cell (what a person sees in Excel);
- Excel error values come back as :class:`~toolkit.core.model.CellError` for .xlsx/.xlsm
  (python-calamine turns them into empty cells, so the sheet XML is scanned for them);
- numbers that are whole come back as ``int`` (Excel stores 3 as 3.0), empty cells as ``None``.

Strings are returned exactly as stored: trimming and NFKC belong to the core.

This module trusts the file's size and shape: files from outside go through
:mod:`toolkit.excel.untrusted` first, which rejects hostile files and reads in a worker process.
"""

from __future__ import annotations

import os
import re
import struct
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date as date_type
from pathlib import Path, PurePosixPath
from typing import Any
from xml.parsers import expat

from toolkit.core.model import CellError, Table
from toolkit.core.schema import normalize_part_name

__all__ = [
    "UnreadableWorkbook",
    "SheetInfo",
    "detect_format",
    "read_workbook",
    "read_workbook_staged",
    "OpeningWorkbook",
    "StagedTables",
    "list_sheets",
    "describe_sheets",
    "WORKBOOK_FORMATS",
]

#: File types this module reads (the value of :func:`detect_format`).
WORKBOOK_FORMATS = ("xlsx", "xlsm", "xlsb", "xls", "ods")

_SAVE_AS = "请用 Excel 或 WPS 打开后“另存为”Excel 工作簿（.xlsx）再提交"


class UnreadableWorkbook(Exception):
    """The file cannot be read as a workbook; ``str(e)`` says why and how to fix it, in Chinese.

    ``code`` is a stable kebab-case identifier of the condition (``not-found``, ``encrypted``,
    ``not-a-workbook``, ``corrupt``...) for reports and tests; ``path`` is the file concerned.
    """

    def __init__(self, reason: str, code: str = "unreadable", path: str = "") -> None:
        super().__init__(reason, code, path)
        self.reason = reason
        self.code = code
        self.path = path

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class SheetInfo:
    """A sheet as listed in the workbook: name, kind and visibility.

    ``kind`` is ``worksheet``, ``chartsheet``, ``dialogsheet``, ``macrosheet`` or ``vba``;
    ``visible`` is ``visible``, ``hidden`` or ``very_hidden`` (ODS knows no ``very_hidden``).
    """

    name: str
    kind: str = "worksheet"
    visible: str = "visible"


# --------------------------------------------------------------------------------------
# What the file really is

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Other formats people send instead of a workbook: first bytes → (code, what it is).
_OTHER_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF", "pdf", "PDF 文件"),
    (b"{\\rtf", "rtf", "RTF 文档"),
    (b"\x89PNG", "image", "PNG 图片"),
    (b"\xff\xd8\xff", "image", "JPEG 图片"),
    (b"GIF8", "image", "GIF 图片"),
    (b"BM", "image", "BMP 图片"),
    (b"Rar!", "archive", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "archive", "7z 压缩包"),
    (b"\x1f\x8b", "archive", "gzip 压缩包"),
    (b"\x00\x00\x00\x0cjP", "image", "JPEG 2000 图片"),
)

_EXT_FORMAT = {
    ".xlsx": "xlsx",
    ".xlsm": "xlsm",
    ".xltx": "xlsx",
    ".xltm": "xlsm",
    ".xlam": "xlsm",
    ".xlsb": "xlsb",
    ".xls": "xls",
    ".xlt": "xls",
    ".ods": "ods",
    ".et": "xls",
}


def _name(path: str | os.PathLike[str]) -> str:
    return Path(path).name


def _extension_note(path: str | os.PathLike[str], what: str) -> str:
    """'（文件扩展名是 .xlsx，但实际内容是…）' when the extension claims a workbook."""
    ext = Path(path).suffix.lower()
    if ext in _EXT_FORMAT:
        return f"（文件扩展名是 {ext}，但实际内容是{what}）"
    return ""


def _refuse(path: str | os.PathLike[str], code: str, what: str, fix: str) -> UnreadableWorkbook:
    ext = Path(path).suffix.lower()
    what = f" {what}" if what[:1].isascii() else what  # 而是 Word 文档 / 而是网页
    if ext in _EXT_FORMAT:
        text = f"文件扩展名是 {ext}，但实际内容不是 Excel 工作簿，而是{what}；{fix}。"
    else:
        text = f"该文件不是 Excel 工作簿，而是{what}；{fix}。"
    return UnreadableWorkbook(text, code, str(path))


def _os_error(path: str | os.PathLike[str], exc: OSError) -> UnreadableWorkbook:
    name = _name(path)
    if isinstance(exc, FileNotFoundError):
        return UnreadableWorkbook(f"找不到文件“{name}”，请检查文件路径和文件名是否正确。", "not-found", str(path))
    if isinstance(exc, IsADirectoryError):
        return UnreadableWorkbook(f"“{name}”是文件夹而不是文件，请选择一个 Excel 工作簿文件。", "not-a-file", str(path))
    if isinstance(exc, PermissionError):
        return UnreadableWorkbook(
            f"没有权限读取文件“{name}”：请检查文件权限；如果文件正在 Excel 或 WPS 中打开，请先关闭再重试。",
            "permission-denied",
            str(path),
        )
    return UnreadableWorkbook(
        f"读取文件“{name}”时出错（{exc.strerror or exc}），请确认文件能正常打开后重试。", "os-error", str(path)
    )


def _encrypted(path: str | os.PathLike[str]) -> UnreadableWorkbook:
    return UnreadableWorkbook(
        "文件已加密（设置了打开密码），无法读取：请在 Excel 中打开，"
        "依次点“文件 → 信息 → 保护工作簿 → 用密码进行加密”，清空密码，然后另存为 .xlsx 再提交。",
        "encrypted",
        str(path),
    )


def _corrupt(path: str | os.PathLike[str], detail: str = "") -> UnreadableWorkbook:
    extra = f"（{detail}）" if detail else ""
    return UnreadableWorkbook(
        f"文件已损坏或不完整{extra}，无法读取：可能是下载或传输中断，请重新导出或重新发送该文件；"
        f"如果在 Excel 中能打开，请另存为 .xlsx 后再提交。",
        "corrupt",
        str(path),
    )


def _sniff_text(head: bytes) -> str | None:
    """'html', 'xml2003', 'xml' or 'text' when the file starts like text, else None."""
    sample = head[:4096]
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if sample.startswith(bom):
            sample = sample[len(bom) :]
            if bom != b"\xef\xbb\xbf":
                try:
                    sample = sample.decode("utf-16-le" if bom == b"\xff\xfe" else "utf-16-be", "ignore").encode()
                except UnicodeError:  # pragma: no cover - decode with "ignore" does not raise
                    return None
            break
    low = sample.lstrip().lower()
    if low.startswith((b"<!doctype html", b"<html", b"<table", b"<meta", b"<head")) or b"<html" in low[:512]:
        return "html"
    if low.startswith(b"<?xml"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in sample or b"<workbook" in low:
            return "xml2003"
        if b"<html" in low:
            return "html"
        return "xml"
    if b"\x00" in sample:
        return None
    for enc in ("utf-8", "gb18030"):
        try:
            sample.decode(enc)
            return "text"
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sample is still text.
            if exc.start >= len(sample) - 4:
                return "text"
    return None


_norm = normalize_part_name  # a zip member name as compared (the one rule, shared with the county zip probe)


def _zip_kind(path: str | os.PathLike[str], names: list[str], read: Any) -> str:
    """Classify a zip by its parts: a workbook format or raise UnreadableWorkbook.

    ``read(name)`` returns the first bytes of a member. Names are compared loosely (some
    producers write backslashes, some put the workbook at the package root).
    """
    real = {_norm(n): n for n in names}
    lower = set(real)

    def head(norm_name: str) -> bytes:
        if norm_name not in real:
            return b""
        try:
            return read(real[norm_name])
        except Exception:  # noqa: BLE001 - a damaged part: let the parser report it
            return b""

    if "mimetype" in lower:
        mime = head("mimetype")[:100].decode("ascii", "replace").strip()
        if mime == "application/vnd.oasis.opendocument.spreadsheet":
            return "ods"
        if mime.startswith("application/vnd.oasis.opendocument.text"):
            raise _refuse(path, "wrong-format", "OpenDocument 文字文档（.odt）", "请提交 Excel 工作簿（.xlsx）")
        if mime.startswith("application/vnd.oasis.opendocument"):
            raise _refuse(path, "wrong-format", "OpenDocument 文档（非表格）", "请提交 Excel 工作簿（.xlsx）")
    if "content.xml" in lower and any(n.startswith("meta-inf/") for n in lower):
        return "ods"
    ct = head("[content_types].xml")
    if "xl/workbook.bin" in lower or b"sheet.binary.macroEnabled" in ct:
        return "xlsb"
    if any(n.startswith("xl/") for n in lower) or b"spreadsheetml" in ct or b"ms-excel.sheet" in ct:
        if "xl/vbaproject.bin" in lower or b"macroEnabled" in ct:
            return "xlsm"
        return "xlsx"
    if any(n.startswith("word/") for n in lower) or b"wordprocessingml" in ct:
        raise _refuse(path, "wrong-format", "Word 文档（.docx）", "请提交 Excel 工作簿（.xlsx），不要只改扩展名")
    if any(n.startswith("ppt/") for n in lower) or b"presentationml" in ct:
        raise _refuse(path, "wrong-format", "PowerPoint 演示文稿（.pptx）", "请提交 Excel 工作簿（.xlsx）")
    if any(n.startswith("index/") and n.endswith(".iwa") for n in lower):
        raise _refuse(path, "wrong-format", "苹果 Numbers 表格", "请在 Numbers 中“导出为 Excel”（.xlsx）后再提交")
    if any(n.endswith((".xlsx", ".xls", ".xlsm", ".et")) for n in lower):
        raise _refuse(path, "wrong-format", "装有表格文件的压缩包（zip）", "请解压后提交其中的 Excel 工作簿")
    raise _refuse(path, "wrong-format", "压缩包（zip）或其他文档", "请提交 Excel 工作簿（.xlsx）")


def cfb_stream_names(head: bytes, fh: Any, size: int, *, max_entries: int = 4096) -> list[str]:
    """Names of the streams and storages in an OLE compound file (CFB), read defensively.

    ``head`` holds at least the 512-byte header; ``fh`` is the open file. Raises ValueError on
    anything malformed (a loop, a sector past the end), so a hostile file cannot stall this.
    """
    if len(head) < 512 or not head.startswith(_CFB_MAGIC):
        raise ValueError("short or bad CFB header")
    shift = struct.unpack_from("<H", head, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError("bad sector shift")
    ssize = 1 << shift
    n_fat, first_dir = struct.unpack_from("<II", head, 0x2C)[0], struct.unpack_from("<I", head, 0x30)[0]
    first_difat, n_difat = struct.unpack_from("<II", head, 0x44)
    difat = list(struct.unpack_from("<109I", head, 0x4C))
    n_sectors = max(0, (size - ssize) // ssize) + 1
    if n_fat > n_sectors:
        raise ValueError("FAT larger than file")

    def sector(n: int) -> bytes:
        if n >= n_sectors:
            raise ValueError("sector past end")
        fh.seek((n + 1) << shift)
        data = fh.read(ssize)
        if len(data) < ssize and n != n_sectors - 1:
            raise ValueError("short sector")
        return data.ljust(ssize, b"\0")

    # DIFAT beyond the 109 entries in the header.
    nxt, seen = first_difat, 0
    while nxt < 0xFFFFFFFA and seen < n_difat and len(difat) < n_fat + 109:
        sec = sector(nxt)
        vals = struct.unpack_from(f"<{ssize // 4}I", sec)
        difat.extend(vals[:-1])
        nxt = vals[-1]
        seen += 1
    fat_sectors = [s for s in difat[:n_fat] if s < 0xFFFFFFFA]
    per = ssize // 4
    cache: dict[int, tuple[int, ...]] = {}

    def fat(n: int) -> int:
        idx = n // per
        if idx >= len(fat_sectors):
            raise ValueError("FAT index past end")
        if idx not in cache:
            cache[idx] = struct.unpack_from(f"<{per}I", sector(fat_sectors[idx]))
        return cache[idx][n % per]

    names: list[str] = []
    cur, steps = first_dir, 0
    while cur < 0xFFFFFFFA:
        steps += 1
        if steps * (ssize // 128) > max_entries:
            raise ValueError("too many directory entries")
        data = sector(cur)
        for off in range(0, ssize, 128):
            nlen = struct.unpack_from("<H", data, off + 64)[0]
            etype = data[off + 66]
            if etype in (1, 2, 5) and 2 <= nlen <= 64:
                names.append(data[off : off + nlen - 2].decode("utf-16-le", "replace"))
        cur = fat(cur)
    return names


def detect_format(path: str | os.PathLike[str]) -> str:
    """The workbook type of a file from its content: ``xlsx``, ``xlsm``, ``xlsb``, ``xls`` or ``ods``.

    Raises :class:`UnreadableWorkbook` (with a Chinese message saying what the file really is)
    for a missing/empty file, an encrypted workbook, or anything that is not a workbook.
    """
    return _detect(path, keep_zip=False)[0]


def _detect(path: str | os.PathLike[str], *, keep_zip: bool) -> tuple[str, zipfile.ZipFile | None]:
    """detect_format, optionally handing back the opened zip (the caller closes it)."""
    try:
        size = os.stat(path).st_size
        if os.path.isdir(path):
            raise IsADirectoryError(21, "Is a directory", str(path))
        with open(path, "rb") as fh:
            head = fh.read(4096)
            if not head:
                if size:
                    raise _corrupt(path)
                raise UnreadableWorkbook(
                    "文件是空的（0 字节），可能保存或传输失败：请重新导出或重新发送该文件。", "empty-file", str(path)
                )
            if head.startswith(_ZIP_MAGIC):
                return _detect_zip(path, keep_zip)
            if head.startswith(_CFB_MAGIC):
                try:
                    names = cfb_stream_names(head if len(head) >= 512 else head.ljust(512, b"\0"), fh, size)
                except (ValueError, struct.error, OSError):
                    raise _corrupt(path, "Office 旧格式文件结构异常") from None
                return _cfb_kind(path, names), None
    except OSError as exc:
        raise _os_error(path, exc) from None
    for magic, code, what in _OTHER_MAGIC:
        if head.startswith(magic):
            fix = "请提交 Excel 工作簿（.xlsx）" if code != "archive" else "请解压后提交其中的 Excel 工作簿（.xlsx）"
            raise _refuse(path, code if code != "image" else "wrong-format", what, fix)
    kind = _sniff_text(head)
    if kind == "html":
        raise _refuse(path, "html", "网页（HTML）格式的表格（很多系统导出的 .xls 其实是网页）", _SAVE_AS)
    if kind == "xml2003":
        raise _refuse(path, "xml-spreadsheet", "Excel 2003 XML 表格", _SAVE_AS)
    if kind == "xml":
        raise _refuse(path, "wrong-format", "XML 文本文件", "请提交 Excel 工作簿（.xlsx）")
    if kind == "text":
        raise _refuse(path, "text", "文本文件（例如 CSV 或 TXT）", _SAVE_AS)
    raise UnreadableWorkbook(
        "无法识别的文件格式，不是 Excel 工作簿"
        + _extension_note(path, "其他格式的文件")
        + "：请提交 .xlsx 文件（也支持 .xlsm、.xls、.xlsb、.ods）；如果在 Excel 中能打开，请另存为 .xlsx 后再提交。",
        "unknown-format",
        str(path),
    )


def _detect_zip(path: str | os.PathLike[str], keep: bool) -> tuple[str, zipfile.ZipFile | None]:
    zf: zipfile.ZipFile | None = None
    try:
        zf = zipfile.ZipFile(path)
        names = zf.namelist()
        if any(i.flag_bits & 0x1 for i in zf.infolist()):
            raise UnreadableWorkbook(
                "文件是带密码的压缩包，无法读取：请解压（或取消压缩密码）后提交其中的 Excel 工作簿。",
                "encrypted",
                str(path),
            )

        def read(name: str) -> bytes:
            assert zf is not None
            with zf.open(name) as fh:
                return fh.read(65536)

        fmt = _zip_kind(path, names, read)
        if keep:
            zf, kept = None, zf
            return fmt, kept
        return fmt, None
    except zipfile.BadZipFile:
        raise _corrupt(path, "压缩结构不完整") from None
    except (zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError):
        raise _corrupt(path) from None
    finally:
        if zf is not None:
            zf.close()


def _cfb_kind(path: str | os.PathLike[str], names: list[str]) -> str:
    low = {n.lower() for n in names}
    if "encryptedpackage" in low or "encryptioninfo" in low:
        raise _encrypted(path)
    if "workbook" in low or "book" in low:
        return "xls"
    if "worddocument" in low:
        raise _refuse(path, "wrong-format", "Word 97-2003 文档（.doc）", "请提交 Excel 工作簿（.xlsx）")
    if "powerpoint document" in low:
        raise _refuse(path, "wrong-format", "PowerPoint 97-2003 演示文稿（.ppt）", "请提交 Excel 工作簿（.xlsx）")
    raise _refuse(
        path,
        "wrong-format",
        "其他 Office 旧格式文件（不含 Excel 工作表）",
        "请用 Excel 或 WPS 打开后另存为 .xlsx（WPS 的 .et 文件也请另存为 .xlsx）",
    )


# --------------------------------------------------------------------------------------
# Reading

_KIND = {
    "WorkSheet": "worksheet",
    "ChartSheet": "chartsheet",
    "DialogSheet": "dialogsheet",
    "MacroSheet": "macrosheet",
    "Vba": "vba",
}
_VISIBLE = {"Visible": "visible", "Hidden": "hidden", "VeryHidden": "very_hidden"}
_NO_CELLS = ("chartsheet", "vba")
_BIG = 9007199254740992.0  # 2**53: beyond this a float is not an exact integer anyway


def _open(path: str | os.PathLike[str], fmt: str) -> Any:
    """Open with calamine; by content when the extension does not match the real type."""
    import python_calamine as pc

    ext_fmt = _EXT_FORMAT.get(Path(path).suffix.lower())
    same = ext_fmt == fmt or {ext_fmt, fmt} <= {"xlsx", "xlsm"}
    if same and Path(path).suffix.lower() != ".et":
        return pc.CalamineWorkbook.from_path(os.fspath(path))
    with open(path, "rb") as fh:
        return pc.CalamineWorkbook.from_filelike(fh)


def _calamine_error(path: str | os.PathLike[str], exc: BaseException, sheet: str | None = None) -> UnreadableWorkbook:
    """Turn anything calamine raised (including a Rust panic) into an UnreadableWorkbook."""
    import python_calamine as pc

    if isinstance(exc, pc.PasswordError):
        return _encrypted(path)
    if isinstance(exc, OSError) and not isinstance(exc, (pc.CalamineError,)) and exc.errno is not None:
        return _os_error(path, exc)
    if isinstance(exc, MemoryError):
        return UnreadableWorkbook(
            "文件内容过大，读取时内存不足：请删除无关的工作表和空白行列后另存为 .xlsx 再提交。", "too-large", str(path)
        )
    where = f"工作表“{sheet}”" if sheet else "文件"
    detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
    return UnreadableWorkbook(
        f"{where}无法读取，文件可能已损坏或格式不规范（{detail}）：请在 Excel 或 WPS 中打开该文件，"
        f"另存为 .xlsx 后重新提交。",
        "corrupt",
        str(path),
    )


def _enum_name(value: Any) -> str:
    """'WorkSheet' from calamine's SheetTypeEnum.WorkSheet (pyo3 enums have no .name)."""
    return str(value).rsplit(".", 1)[-1]


def _passthrough(exc: BaseException) -> bool:
    return isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit))


def _close_quietly(wb: Any) -> None:
    """Close a python-calamine workbook (None: nothing to do); only an interrupt escapes (a read-only handle:
    nothing to lose)."""
    if wb is None:
        return
    try:
        wb.close()
    except BaseException as exc:  # noqa: BLE001 - pyo3 panics derive from BaseException
        if _passthrough(exc):
            raise


def _unreadable(path: str | os.PathLike[str], exc: BaseException, sheet: str | None) -> BaseException:
    """What leaves a read for ``exc``: an UnreadableWorkbook or an interrupt as it is, anything else (a calamine
    error, a pyo3 panic) as the UnreadableWorkbook that says it in Chinese."""
    if isinstance(exc, UnreadableWorkbook) or _passthrough(exc):
        return exc
    return _calamine_error(path, exc, sheet)


def describe_sheets(path: str | os.PathLike[str]) -> list[SheetInfo]:
    """The sheets of a workbook in workbook order, with kind and visibility.

    Raises :class:`UnreadableWorkbook` when the file cannot be opened.
    """
    fmt = detect_format(path)
    try:
        with _open(path, fmt) as wb:
            return [
                SheetInfo(
                    m.name, _KIND.get(_enum_name(m.typ), "worksheet"), _VISIBLE.get(_enum_name(m.visible), "visible")
                )
                for m in wb.sheets_metadata
            ]
    except UnreadableWorkbook:
        raise
    except BaseException as exc:  # noqa: BLE001 - pyo3 panics derive from BaseException
        if _passthrough(exc):
            raise
        raise _calamine_error(path, exc) from None


def list_sheets(path: str | os.PathLike[str]) -> list[str]:
    """Sheet names in workbook order (see :func:`describe_sheets` for kind and visibility)."""
    return [s.name for s in describe_sheets(path)]


def read_workbook(path: str | os.PathLike[str], *, sheets: Iterable[str] | Callable[[str], bool] | None = None,
                  error_parts: set[str] | None = None) -> dict[str, Table]:
    """Read a workbook: sheet name → :class:`Table`, in workbook order.

    ``sheets`` (names, or a test on a name) limits the read to those sheets (faster: other sheets are not parsed); names
    not in the workbook are left out of the result, so the caller reports a missing sheet in
    its own words. Chart sheets are never returned (they hold no cells). ``error_parts`` (from
    :attr:`FileFacts.error_parts` of a pre-check of this file) names the sheet parts that can hold
    error values; the other .xml parts are not decompressed again to look for them.

    Raises :class:`UnreadableWorkbook` and nothing else for a file that cannot be read.
    This function trusts the file: use :func:`toolkit.excel.untrusted.read_untrusted` for files
    from outside.
    """
    fmt, zf = _detect(path, keep_zip=True)
    return _read_all(path, fmt, zf, sheets, error_parts)


def _read_all(path: str | os.PathLike[str], fmt: str, zf: zipfile.ZipFile | None,
              sheets: Iterable[str] | Callable[[str], bool] | None, error_parts: set[str] | None) -> dict[str, Table]:
    """read_workbook once the format is known (``zf``: the open zip of an .xlsx/.xlsm, closed here)."""
    if callable(sheets):
        keep = sheets
    else:
        names = None if sheets is None else {sheets} if isinstance(sheets, str) else set(sheets)
        keep = None if names is None else names.__contains__
    with _reading(path, zf) as where, _open(path, fmt) as wb:
        return _sheet_tables(wb, fmt, zf, keep, error_parts, where)[1]


def _sheet_tables(wb: Any, fmt: str, zf: zipfile.ZipFile | None, keep: Callable[[str], bool] | None,
                  error_parts: set[str] | None, where: list[str | None], skip: str = "",
                  ) -> tuple[list[str], dict[str, Table], dict[str, list[tuple[int, int, str]]], dict[Any, Any]]:
    """From the open workbook ``wb``: (the cell sheets kept, in workbook order; their tables, ``skip`` left out;
    the error cells of every kept sheet; the memo of shared objects). ``where[0]`` names the sheet being read."""
    metas = [m for m in wb.sheets_metadata if keep is None or keep(m.name)]
    names = [m.name for m in metas if _KIND.get(_enum_name(m.typ), "worksheet") not in _NO_CELLS]
    errors: dict[str, list[tuple[int, int, str]]] = {}
    memo: dict[Any, Any] = {}  # one object per repeated short text or date (see _to_table)
    if fmt in ("xlsx", "xlsm") and names and zf is not None:
        errors = _xlsx_error_cells(zf, names, error_parts)
    out: dict[str, Table] = {}
    for name in names:
        if name != skip:
            where[0] = name
            out[name] = _to_table(wb.get_sheet_by_name(name), name, errors.get(name, ()), memo)
    return names, out, errors, memo


@contextmanager
def _reading(path: str | os.PathLike[str], zf: zipfile.ZipFile | None,
             on_error: Callable[[], None] | None = None) -> Iterator[list[str | None]]:
    """Around a read: whatever escapes leaves as :func:`_unreadable` makes it, naming the sheet last put in the
    yielded list; ``on_error`` runs first; the zip is closed in every case."""
    where: list[str | None] = [None]
    try:
        yield where
    except BaseException as exc:  # noqa: BLE001 - pyo3 panics derive from BaseException
        if on_error is not None:
            on_error()
        err = _unreadable(path, exc, where[0])
        if err is exc:
            raise
        raise err from None
    finally:
        if zf is not None:
            zf.close()


class StagedTables(Mapping[str, Table]):
    """Sheet name → :class:`Table` in workbook order, while the largest sheet may still be parsing.

    Made by :func:`read_workbook_staged`. Every other sheet is read already; the largest is parsed by
    python-calamine in a background thread (it releases the interpreter lock while it parses), and is
    converted when first asked for. So a caller that needs the small sheets first (settings, problems) works
    on them meanwhile. :meth:`resolve` gives the plain dict :func:`read_workbook` would have given;
    :meth:`close` ends the background parse without raising. UnreadableWorkbook when the sheet cannot be read.
    ``while_parsing`` (optional) is called once, in the caller's thread, when the largest sheet is asked for
    while it still parses: other work that does not need it fills the wait.
    """

    def __init__(self, path: str | os.PathLike[str], names: list[str], ready: dict[str, Table], pending: str = "",
                 worker: threading.Thread | None = None, box: dict[str, Any] | None = None, wb: Any = None,
                 errors: Iterable[tuple[int, int, str]] = (), memo: dict[Any, Any] | None = None,
                 while_parsing: Callable[[], Any] | None = None) -> None:
        self._path, self._names, self._ready = path, names, ready
        self._idle = while_parsing
        self._pending, self._worker, self._wb = pending, worker, wb
        self._box = box if box is not None else {}
        self._errors, self._memo = errors, memo if memo is not None else {}

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._ready or (bool(self._pending) and name == self._pending)

    def __getitem__(self, name: str) -> Table:
        table = self._ready.get(name)
        if table is not None:
            return table
        if self._pending and name == self._pending:
            return self._settle()
        raise KeyError(name)

    def _settle(self) -> Table:
        name = self._pending
        idle, self._idle = self._idle, None
        if idle is not None and self._worker is not None and self._worker.is_alive():
            idle()  # the caller's work that does not need this sheet, while it still parses
        try:
            sheet = self._join()
            table = _to_table(sheet, name, self._errors, self._memo)
        except BaseException as exc:  # noqa: BLE001 - pyo3 panics derive from BaseException
            err = _unreadable(self._path, exc, name)
            if err is exc:
                raise
            raise err from None
        finally:
            self._pending = ""
            self._close_book()
        self._ready[name] = table
        return table

    def _wait(self) -> None:
        if self._worker is not None:
            self._worker.join()
            self._worker = None

    def _join(self) -> Any:
        self._wait()
        if "error" in self._box:
            raise self._box.pop("error")
        return self._box.pop("sheet")

    def _close_book(self) -> None:
        wb, self._wb = self._wb, None
        _close_quietly(wb)

    def resolve(self) -> dict[str, Table]:
        """Every table, the largest included (waits for its parse): what read_workbook returns."""
        return {name: self[name] for name in self._names}

    def close(self) -> None:
        """Wait for the background parse to end and drop it (for a caller that stops early); never raises."""
        self._wait()
        self._box.clear()
        self._pending = ""
        self._close_book()


class OpeningWorkbook:
    """python-calamine opening a workbook in a background thread, started before the read that takes it.

    The open reads the package, the workbook part, the shared strings and the styles, never a worksheet, and
    python-calamine does it without holding the interpreter lock: started once those parts are pre-checked
    (``precheck(before_largest=...)``), it overlaps the pre-check of the largest worksheet (about 6 ms of a 10k-task
    ledger, 90 ms at 100k: the shared strings). :meth:`take` gives the workbook (what opening raised, raised there);
    :meth:`close` ends it unused and never raises.
    """

    def __init__(self, path: str | os.PathLike[str], fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self._box: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._open, name="zhenggai-open", daemon=True)
        self._thread.start()

    def _open(self) -> None:
        try:
            self._box["wb"] = _open(self.path, self.fmt)
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that takes the workbook
            self._box["error"] = exc

    def take(self) -> Any:
        """The open workbook (waits for the open); raises what opening raised. Once only."""
        self._thread.join()
        if "error" in self._box:
            raise self._box.pop("error")
        return self._box.pop("wb")

    def close(self) -> None:
        """Wait for the open and close the workbook if it was not taken; never raises."""
        self._thread.join()
        self._box.pop("error", None)
        _close_quietly(self._box.pop("wb", None))


def read_workbook_staged(path: str | os.PathLike[str], *, first_part: str | None = None,
                         finish: Callable[[], Any] | None = None,
                         error_parts: Callable[[], set[str] | None] | None = None,
                         while_parsing: Callable[[], Any] | None = None,
                         opening: OpeningWorkbook | None = None) -> Mapping[str, Table]:
    """:func:`read_workbook` of every sheet, with the largest sheet parsed in a background thread.

    ``first_part`` (normalised, see :func:`_norm`) is the one sheet part already cleared to be parsed while
    ``finish()`` still checks the others (the two steps of ``precheck(largest_sheet_first=True)``); None: the
    file is cleared already, and the largest sheet part is chosen here. No other sheet is parsed before
    ``finish()`` has returned, and whatever it raises is raised here (once the background parse is over).
    ``error_parts()``: as read_workbook's ``error_parts``, asked for once the whole file is cleared.
    ``while_parsing``: see :class:`StagedTables`. ``opening``: this file's workbook being opened already (see
    :class:`OpeningWorkbook`): the largest sheet is parsed on it; it is closed here whatever happens.

    Returns a :class:`StagedTables` for .xlsx/.xlsm with more than one sheet, else the plain dict of
    read_workbook (after ``finish()``). Raises :class:`UnreadableWorkbook` and nothing else.
    """
    staged: StagedTables | None = None

    def stop() -> None:
        if opening is not None:
            opening.close()
        if staged is not None:
            staged.close()

    try:
        fmt, zf = _detect(path, keep_zip=True)
    except BaseException:
        stop()
        raise

    with _reading(path, zf, stop) as where:
        big = ""
        if fmt in ("xlsx", "xlsm") and zf is not None and (
                first_part is not None or staged_sheet_part(zf.infolist()) is not None):
            big = _largest_sheet(zf, first_part)
        if not big:
            if opening is not None:
                opening.close()
            if finish is not None:
                finish()
            return _read_all(path, fmt, zf, None, error_parts() if error_parts else None)
        wb = opening.take() if opening is not None and opening.fmt == fmt else _open(path, fmt)
        if opening is not None:
            opening.close()  # taken (nothing left to close), or opened as another format (closed unused)
        box: dict[str, Any] = {}

        def parse() -> None:
            try:
                box["sheet"] = wb.get_sheet_by_name(big)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                box["error"] = exc

        worker = threading.Thread(target=parse, name="zhenggai-read", daemon=True)
        worker.start()
        staged = StagedTables(path, [], {}, big, worker, box, wb, while_parsing=while_parsing)
        if finish is not None:
            finish()
        with _open(path, fmt) as small:
            names, ready, errors, memo = _sheet_tables(small, fmt, zf, None, error_parts() if error_parts else None,
                                                       where, skip=big)
        if big not in names:  # not a sheet read_workbook returns (a part listed twice, say): drop its parse
            staged.close()
            return ready
        staged._names, staged._ready = names, ready
        staged._errors, staged._memo = errors.get(big, ()), memo
        return staged


STAGED_MIN_SHEET_BYTES = 2**20
"""A workbook whose largest sheet part is smaller than this (about 1,500 tasks) is read the plain way: the thread
and the second handle on the file cost more than the overlap saves (measured on the demo ledger: 22 → 25 ms)."""


# Sheet parts, matched against normalised names (see _norm); a workbook at the package root (minimal packages)
# has its sheets there.
SHEET_PART = re.compile(r"^(xl/)?(worksheets|dialogsheets|macrosheets)/[^/]+\.(xml|bin)$|^sheet\d*\.xml$")


def is_sheet_xml(name: str) -> bool:
    """``name`` (a zip member) is a sheet's XML part."""
    low = _norm(name)
    return bool(SHEET_PART.match(low)) and low.endswith(".xml")


def staged_sheet_part(infos: Iterable[zipfile.ZipInfo]) -> zipfile.ZipInfo | None:
    """The one rule for reading in two steps, asked by the pre-check and by the reader: the largest sheet XML
    part, when there are several and it is at least STAGED_MIN_SHEET_BYTES; else None."""
    sheets = [i for i in infos if is_sheet_xml(i.filename)]
    if len(sheets) < 2:
        return None
    largest = max(sheets, key=lambda i: i.file_size)
    return largest if largest.file_size >= STAGED_MIN_SHEET_BYTES else None


def _largest_sheet(zf: zipfile.ZipFile, first_part: str | None) -> str:
    """The sheet to parse first: ``first_part``'s sheet, else the one with the largest part; "" when there is
    nothing to gain (fewer than two sheets with a part, or the largest under STAGED_MIN_SHEET_BYTES) or
    ``first_part`` is no listed sheet's part."""
    infos = {_norm(i.filename): i for i in zf.infolist()}
    parts = {name: _norm(part) for name, part in _sheet_parts(zf).items()}
    sizes = {name: infos[part].file_size for name, part in parts.items() if part in infos}
    if len(sizes) < 2:
        return ""
    if first_part is not None:
        return next((n for n in sizes if parts[n] == first_part), "")
    big = max(sizes, key=lambda n: sizes[n])
    return big if sizes[big] >= STAGED_MIN_SHEET_BYTES else ""


def _to_table(sheet: Any, name: str, errors: Iterable[tuple[int, int, str]], memo: dict[Any, Any]) -> Table:
    start = sheet.start
    if start is None:
        raw: list[list[Any]] = []
        first_row, first_col = 1, 0
    else:
        raw = sheet.to_python(skip_empty_area=True)
        first_row, first_col = start[0] + 1, start[1]
    big = _BIG
    # Calamine gives every cell its own object, even a shared string repeated on 10,000 rows. Short texts
    # (names, units, 完成情况 words) and dates are made one object each: a 100k-task sheet's cells take
    # about a third of the memory. Long texts are mostly unique and are left as they are (hashing costs).
    same = memo.setdefault
    rows = [
        [
            ((same(v, v) if len(v) < 24 else v) if v else None) if v.__class__ is str
            else int(v) if v.__class__ is float and v.is_integer() and -big <= v <= big
            else same(v, v) if v.__class__ is date_type else v  # not bools: True == 1 would merge them
            for v in r
        ]
        for r in raw
    ]
    placed = False  # calamine gives no CellError: the cells placed here are the table's only ones
    for r0, c0, code in errors:
        i, j = r0 - (first_row - 1), c0 - first_col
        if 0 <= i < len(rows) and 0 <= j < len(rows[i]):
            rows[i][j] = CellError(code)
            placed = True
    merged: list[tuple[int, int, int, int]] = []
    for (r1, c1), (r2, c2) in sheet.merged_cell_ranges or ():
        merged.append((r1 + 1, c1, r2 + 1, c2))
        _spread(rows, r1 - (first_row - 1), c1 - first_col, r2 - (first_row - 1), c2 - first_col)
    return Table(name=name, rows=rows, first_row=first_row, first_col=first_col, merged=merged, has_errors=placed)


def _spread(rows: list[list[Any]], i1: int, j1: int, i2: int, j2: int) -> None:
    """Copy a merged range's top-left value to every covered cell inside the data area."""
    if not (0 <= i1 < len(rows) and 0 <= j1 < len(rows[i1])):
        return
    value = rows[i1][j1]
    if value is None:
        return
    for i in range(i1, min(i2, len(rows) - 1) + 1):
        row = rows[i]
        for j in range(max(j1, 0), min(j2, len(row) - 1) + 1):
            row[j] = value


# --------------------------------------------------------------------------------------
# Error values in .xlsx (python-calamine returns them as empty cells)

_REL_NS_ID = re.compile(r"(?:^|\})id$")


def _parse_small_xml(data: bytes, on_start: Any) -> None:
    """Parse a small XML part with expat, refusing any DTD (no entity expansion)."""
    parser = expat.ParserCreate(namespace_separator="}")

    def no_dtd(*_: Any) -> None:
        raise ValueError("DTD not allowed")

    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    parser.StartElementHandler = on_start
    parser.Parse(data, True)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _resolve(base_part: str, target: str) -> str:
    """Resolve a relationship target against the part that owns the .rels file."""
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for seg in (str(PurePosixPath(base_part).parent) + "/" + target).split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts:
                parts.pop()
        else:
            parts.append(seg)
    return "/".join(parts)


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, str]:
    p = PurePosixPath(part)
    rels_name = f"{p.parent}/_rels/{p.name}.rels" if str(p.parent) != "." else f"_rels/{p.name}.rels"
    out: dict[str, str] = {}
    try:
        data = _read_member(zf, rels_name)
    except KeyError:
        return out

    def start(tag: str, attrs: dict[str, str]) -> None:
        if _local(tag) == "Relationship" and "Id" in attrs and "Target" in attrs:
            if attrs.get("TargetMode", "") != "External":
                out[attrs["Id"]] = _resolve(part, attrs["Target"])

    _parse_small_xml(data, start)
    return out


def _read_member(zf: zipfile.ZipFile, name: str) -> bytes:
    """A zip member by name, tolerating case differences and a leading slash."""
    try:
        return zf.read(name)
    except KeyError:
        want = _norm(name)
        for n in zf.namelist():
            if _norm(n) == want:
                return zf.read(n)
        raise


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → sheet XML part, from the package relationships."""
    root = _rels(zf, "")
    wb_part = next((t for t in root.values() if t.lower().endswith("workbook.xml")), "xl/workbook.xml")
    rels = _rels(zf, wb_part)
    out: dict[str, str] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        if _local(tag) == "sheet" and "name" in attrs:
            rid = next((v for k, v in attrs.items() if _REL_NS_ID.search(k) and k != "sheetId"), None)
            if rid and rid in rels:
                out[attrs["name"]] = rels[rid]

    _parse_small_xml(_read_member(zf, wb_part), start)
    return out


_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_ATTR_R = re.compile(rb"""\sr\s*=\s*["']([A-Za-z]*)(\d+)["']""")
_ATTR_T_E = re.compile(rb"""\st\s*=\s*["']e["']""")
_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?v(?:\s[^>]*)?>([^<]*)<")
_CELL_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?c>")


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n - 1


def _xlsx_error_cells(zf: zipfile.ZipFile, names: list[str],
                      error_parts: set[str] | None = None) -> dict[str, list[tuple[int, int, str]]]:
    """0-based (row, col, code) of every error-valued cell of the named sheets.

    Costs one decompression of each sheet's XML (a few ms per MB); the full scan runs only
    when the XML holds an error cell at all. An .xml part not in ``error_parts`` (when given:
    the pre-check saw no error-typed cell in it) is skipped. Any trouble here yields no errors:
    calamine has already read the values, and this is only a refinement.
    """
    out: dict[str, list[tuple[int, int, str]]] = {}
    try:
        parts = _sheet_parts(zf)
        for name in names:
            part = parts.get(name)
            if not part:
                continue
            if error_parts is not None and _norm(part).endswith(".xml") and _norm(part) not in error_parts:
                continue  # the pre-check read every .xml part and saw no error marker in this one
            data = _read_member(zf, part)
            if b't="e"' not in data and b"t='e'" not in data:
                continue
            out[name] = _scan_errors(data)
    except Exception:  # noqa: BLE001 - see docstring
        return out
    return out


def _scan_errors(data: bytes) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    row, col = 0, -1
    for m in _TAG.finditer(data):
        kind, attrs = m.group(1), m.group(2)
        ref = _ATTR_R.search(attrs)
        if kind == b"row":
            row = int(ref.group(2)) if ref else row + 1
            col = -1
            continue
        if ref and ref.group(1):
            col = _col_index(ref.group(1))
            row = int(ref.group(2))
        else:
            col += 1
        if _ATTR_T_E.search(attrs) and not attrs.rstrip().endswith(b"/"):
            end = _CELL_END.search(data, m.end())
            stop = end.start() if end else len(data)
            v = _VALUE.search(data, m.end(), stop)
            if v:
                found.append((row - 1, col, v.group(1).decode("utf-8", "replace").strip()))
    return found
