"""The staff's ledger as a file: read it (pre-checked), say which formats can be written, write a new one."""

from __future__ import annotations

import os
from pathlib import Path

from toolkit.core.errors import ToolkitError
from toolkit.core.model import Ledger, Table
from toolkit.core.plan import WritePlan

WRITABLE_FORMATS = {"xlsx", "xlsm"}
FORMAT_NAMES = {"xls": "旧版 Excel 97-2003 工作簿（.xls）", "xlsb": "Excel 二进制工作簿（.xlsb）",
                "ods": "OpenDocument 表格（.ods，WPS/LibreOffice 常用）"}

LEDGER_LIMITS = {"max_rows": 1_048_576, "max_cols": 16_384, "max_cells": 20_000_000}
"""The staff's own file: only what would exhaust memory is refused."""


def precheck_ledger(path: str | Path, *, defer_largest: bool = False):  # noqa: ANN201 - FileFacts
    """The structural pre-check of a ledger workbook (FileFacts); ToolkitError when it cannot be read.

    Even the staff's own file gets it (a few ms for a normal ledger): one stray cell at XFD1048576
    would otherwise make the reader abort the whole process. Its limits are wider than for county
    files: only what would exhaust memory is refused. ``defer_largest``: the largest sheet (the task
    list) is left for later (see precheck); :func:`read_ledger_tables` and :func:`read_ledger_staged`
    finish the pre-check before they parse it.
    """
    from toolkit.excel.read import UnreadableWorkbook
    from toolkit.excel.untrusted import precheck

    try:
        return precheck(path, defer_largest=defer_largest, **LEDGER_LIMITS)
    except UnreadableWorkbook as exc:
        raise ToolkitError(str(exc)) from exc


def _pending_sheet_wanted(path: str | Path, facts, sheets) -> bool:  # noqa: ANN001
    """Whether reading ``sheets`` (names or a test on a name, None: all) would parse a part the pre-check has not
    cleared yet. Asked of the package itself (sheet name → part); when in doubt, yes."""
    import zipfile

    from toolkit.excel.read import _norm, _sheet_parts

    if sheets is None:
        return True
    keep = sheets if callable(sheets) else ({sheets} if isinstance(sheets, str) else set(sheets)).__contains__
    pending = {_norm(i.filename) for i in facts.pending}
    try:
        with zipfile.ZipFile(path) as zf:
            parts = _sheet_parts(zf)
    except Exception:  # noqa: BLE001 - the read itself says what is wrong; here: finish first
        return True
    wanted = [name for name in parts if keep(name)]
    return not wanted or any(_norm(parts[name]) in pending for name in wanted)


def read_ledger_staged(path: str | Path, *, facts=None, while_parsing=None):  # noqa: ANN001, ANN201
    """Pre-check and read a ledger workbook in one go: (FileFacts, tables); ToolkitError when it cannot be read.

    The largest sheet (the task list) is pre-checked first and parsed in a background thread while the other
    sheets are pre-checked and read (toolkit.excel.read.read_workbook_staged); the tables are a Mapping whose
    largest sheet is converted when first asked for (UnreadableWorkbook then, if it cannot be read).
    ``facts``: this file's pre-check already done (then the reader chooses the sheet to parse in the
    background). ``while_parsing``: work for the wait, see toolkit.excel.read.StagedTables.
    Returns (FileFacts, Mapping[str, Table]).
    """
    from toolkit.excel.read import OpeningWorkbook, UnreadableWorkbook, read_workbook_staged
    from toolkit.excel.untrusted import finish_precheck, precheck

    opened: list[OpeningWorkbook] = []  # the workbook opened while the largest sheet is pre-checked

    def open_ahead(fmt: str) -> None:
        try:
            opened.append(OpeningWorkbook(path, fmt))
        except RuntimeError:  # no thread to spare: the read opens the workbook itself
            pass

    try:
        if facts is None:
            facts = precheck(path, largest_sheet_first=True, before_largest=open_ahead, **LEDGER_LIMITS)
        elif facts.largest_pending:
            # The largest sheet was left for later: cleared before it is parsed.
            finish_precheck(facts, before_largest=open_ahead)
        tables = read_workbook_staged(
            path, first_part=facts.largest_sheet if facts.pending else None,
            finish=lambda: finish_precheck(facts),
            error_parts=lambda: facts.error_parts if facts.format in ("xlsx", "xlsm") else None,
            while_parsing=while_parsing, opening=opened.pop() if opened else None)
    except UnreadableWorkbook as exc:
        for opening in opened:  # refused before the read took it
            opening.close()
        raise ToolkitError(str(exc)) from exc
    return facts, tables


def read_ledger_tables(path: str | Path, *, facts=None, sheets=None) -> dict[str, Table]:  # noqa: ANN001
    """Read a ledger workbook (trusted: the staff's own file) into tables; ToolkitError when it cannot be read.

    ``facts``: this file's pre-check already done (:func:`precheck_ledger`), else it is done here.
    ``sheets``: names or a test on a name, to read only those sheets (see read_workbook).
    """
    from toolkit.excel.read import UnreadableWorkbook, read_workbook
    from toolkit.excel.untrusted import finish_precheck

    if facts is None:
        facts = precheck_ledger(path)
    try:
        if facts.pending and _pending_sheet_wanted(path, facts, sheets):
            finish_precheck(facts)  # a part left for later is cleared before it is parsed
        return read_workbook(path, sheets=sheets,
                             error_parts=facts.error_parts if facts.format in ("xlsx", "xlsm") else None)
    except UnreadableWorkbook as exc:
        raise ToolkitError(str(exc)) from exc


def require_writable_format(path: Path) -> None:
    """Write-back works on .xlsx/.xlsm only; say which format this is and how to convert it."""
    from toolkit.excel.read import UnreadableWorkbook, detect_format

    try:
        kind = detect_format(path)
    except UnreadableWorkbook as exc:
        raise ToolkitError(str(exc)) from exc
    if kind not in WRITABLE_FORMATS:
        raise ToolkitError(
            f"“{path.name}”是{FORMAT_NAMES.get(kind, kind)}，工具只能把结果写回 .xlsx/.xlsm 工作簿（不会改动本文件）。"
            "请在 Excel 或 WPS 中“另存为”Excel 工作簿（.xlsx）后，对新文件运行；校验（zhenggai check）可以直接读取本文件。"
        )


def write_new_ledger(path: Path, ledger: Ledger, plan: WritePlan) -> None:
    """Write a brand-new ledger workbook atomically (temp file in the same folder, then rename)."""
    from toolkit.excel.build import write_ledger_workbook

    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # a new ledger in a new folder
        write_ledger_workbook(tmp, ledger, plan)
        os.replace(tmp, path)
    except PermissionError as exc:
        raise ToolkitError(f"无法写入 {path}：没有写入权限，或同名文件正在 Excel/WPS 中打开。") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
