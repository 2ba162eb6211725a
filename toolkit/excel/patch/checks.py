"""Plan checks and refusals: everything the patcher refuses to do, and why (in Chinese).

* :func:`validate_plan` — a malformed plan (duplicate cells, bad references or values).
* :func:`check_touch` — a cell that must not be rewritten: shared/array/data-table formulas,
  rich-value cells, table header/totals rows, pivot tables, merged ranges.
* :func:`check_header` — a staff column whose header does not start with ``【自动】``.
* :func:`check_sheet_name` — a sheet the plan would create under an invalid name.
* :func:`sheet_areas` — the table and pivot areas of a worksheet, for :func:`check_touch`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from toolkit.core.plan import CellStyle, CellValue, CellWrite, Formula, SheetPlan, WritePlan
from toolkit.core.schema import OWNED_PREFIX, column_index, column_letter
from toolkit.excel.patch.cells import MAX_COL, MAX_ROW, MAX_TEXT, OldCell, cell_ref, formula_text, in_range, parse_range
from toolkit.excel.patch.errors import refuse
from toolkit.excel.patch.package import Package, resolve_target
from toolkit.excel.patch.xmltree import parse_tree

Range = tuple[int, int, int, int]
_VM_CM_RE = re.compile(rb"(?:^|\s)(?:vm|cm)\s*=")


@dataclass
class Area:
    """A region of a worksheet the patcher must not write into."""

    kind: str  # table-header / table-totals / pivot / array
    name: str
    rng: tuple[int, int, int, int]


# ----------------------------------------------------------------------------- plan checks
_COLUMN_RE = re.compile(r"[A-Z]{1,3}")
_RGB_RE = re.compile(r"#?[0-9A-Fa-f]{6}")
_BAD_SHEET_CHARS = set("[]:*?/\\")


def validate_plan(plan: WritePlan) -> None:
    """Refuse plans that are malformed (duplicate cells, bad references, bad values)."""
    names: set[str] = set()
    for sp in plan.sheets:
        if sp.sheet in names:
            raise refuse(f"写入计划有误：工作表「{sp.sheet}」在计划中出现了两次。", sp.sheet)
        names.add(sp.sheet)
        if sp.clear_from_row < 1 or sp.clear_from_row > MAX_ROW:
            raise refuse(f"写入计划有误：工作表「{sp.sheet}」的起始清理行 {sp.clear_from_row} 超出范围。", sp.sheet)
        for letters in (*sp.owned_columns, *sp.column_widths):
            if not _COLUMN_RE.fullmatch(letters) or column_index(letters) >= MAX_COL:
                raise refuse(
                    f"写入计划有误：工作表「{sp.sheet}」的列名“{letters}”无效，应为 A～XFD 的大写字母。", sp.sheet
                )
        for letters, width in sp.column_widths.items():
            if not (isinstance(width, (int, float)) and 0 < width <= 255):
                raise refuse(
                    f"写入计划有误：工作表「{sp.sheet}」{letters} 列的列宽 {width} 应在 0～255 之间。", sp.sheet
                )
        if _cells_ok(sp.cells):
            continue  # nothing below would refuse: the loop only finds the first refusal, in plan order
        seen: set[tuple[int, str]] = set()
        columns_ok: dict[str, bool] = {}
        styles_ok: set[CellStyle] = set()
        style_ids_ok: set[int] = set()  # id() of style objects already checked (the plan keeps them alive)
        texts_ok: set[str] = set()  # texts already found valid (status texts repeat)
        for cw in sp.cells:
            ok = columns_ok.get(cw.column)
            if ok is None:
                ok = columns_ok[cw.column] = bool(_COLUMN_RE.fullmatch(cw.column)) and column_index(cw.column) < MAX_COL
            if not ok or not 1 <= cw.row <= MAX_ROW:
                raise refuse(
                    f"写入计划有误：工作表「{sp.sheet}」的单元格 {cw.column}{cw.row} 超出 Excel 的范围。", sp.sheet
                )
            key = (cw.row, cw.column)
            if key in seen:
                ref = f"{cw.column}{cw.row}"
                raise refuse(f"写入计划有误：工作表「{sp.sheet}」的 {ref} 在计划中出现了两次。", sp.sheet, ref)
            seen.add(key)
            value = cw.value
            if value is not None:
                if type(value) is str:
                    if value not in texts_ok:
                        if len(value) > MAX_TEXT or not _encodable(value):
                            _validate_value(sp.sheet, f"{cw.column}{cw.row}", value)
                        texts_ok.add(value)
                else:
                    _validate_value(sp.sheet, f"{cw.column}{cw.row}", value)
            style = cw.style
            if style is not None and id(style) not in style_ids_ok:
                if style not in styles_ok:
                    _validate_style(sp.sheet, f"{cw.column}{cw.row}", style)
                    styles_ok.add(style)
                style_ids_ok.add(id(style))


def _cells_ok(cells: list) -> bool:
    """Would the per-cell checks of :func:`validate_plan` pass for every cell? Decided over whole
    columns of the plan at once (each distinct column, text and style checked once); False as soon as
    anything may be wrong, then the per-cell loop finds the refusal and its message."""
    try:
        if not cells:
            return True
        rows = [cw.row for cw in cells]
        columns = [cw.column for cw in cells]
        if not (1 <= min(rows) and max(rows) <= MAX_ROW):
            return False
        for letters in set(columns):
            if not (_COLUMN_RE.fullmatch(letters) and column_index(letters) < MAX_COL):
                return False
        if len(set(zip(rows, columns))) != len(cells):
            return False  # a duplicate cell
        del rows, columns
        texts: set[str] = set()
        others: list[CellValue] = []
        for cw in cells:
            value = cw.value
            if type(value) is str:
                texts.add(value)
            elif value is not None:
                others.append(value)
        for text in texts:
            if len(text) > MAX_TEXT or not _encodable(text):
                return False
        for value in others:
            _validate_value("", "", value)
        styles = {id(cw.style): cw.style for cw in cells if cw.style is not None}
        for style in set(styles.values()):
            _validate_style("", "", style)
    except Exception:  # a refusal, or a value the per-cell loop will refuse or raise on as before
        return False
    return True


def _validate_value(sheet: str, ref: str, value: CellValue) -> None:
    where = f"写入计划有误：工作表「{sheet}」的 {ref}"
    if isinstance(value, Formula):
        text = formula_text(value)
        if not text or len(text) > 8192 or not _encodable(text):
            raise refuse(f"{where} 的公式为空、超过 8192 个字符或含有无效字符。", sheet, ref)
        _validate_value(sheet, ref, value.cached)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, (int, float)):
        if not math.isfinite(value) or abs(value) > 9.99999999999999e307:
            raise refuse(f"{where} 的数值 {value} 无法保存到 Excel（不是有限数）。", sheet, ref)
    elif isinstance(value, date):
        if (value.date() if isinstance(value, datetime) else value) < date(1900, 3, 1):
            raise refuse(f"{where} 的日期 {value} 早于 1900-03-01，Excel 无法正确表示。", sheet, ref)
    elif isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise refuse(f"{where} 的文字超过 Excel 单元格上限 32767 个字符，请缩短。", sheet, ref)
        if not _encodable(value):
            raise refuse(
                f"{where} 的文字含有无法保存的字符（不成对的代理字符或 U+FFFE/U+FFFF，多为乱码），请检查这段文字的来源。",
                sheet,
                ref,
            )
    else:
        raise refuse(f"{where} 的值类型 {type(value).__name__} 不受支持。", sheet, ref)


def _encodable(text: str) -> bool:
    """No lone surrogates and no U+FFFE/U+FFFF: characters no XML file (and no reader) can carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\ufffe" not in text and "\uffff" not in text


def _validate_style(sheet: str, ref: str, style: CellStyle) -> None:
    where = f"写入计划有误：工作表「{sheet}」的 {ref}"
    for colour in (style.fill, style.font_color):
        if colour is not None and not _RGB_RE.fullmatch(colour):
            raise refuse(f"{where} 的颜色“{colour}”无效，应为 RRGGBB 形式的十六进制颜色。", sheet, ref)
    if style.align not in (None, "left", "center", "right"):
        raise refuse(f"{where} 的对齐方式“{style.align}”无效，应为 left、center 或 right。", sheet, ref)
    if style.num_format is not None and not (0 < len(style.num_format) <= 255):
        raise refuse(f"{where} 的数字格式为空或过长。", sheet, ref)


def check_sheet_name(name: str, existing: Iterable[str]) -> None:
    if not name or len(name) > 31 or set(name) & _BAD_SHEET_CHARS or name[0] == "'" or name[-1] == "'":
        raise refuse(
            f"写入计划有误：不能新建工作表「{name}」：表名须为 1～31 个字符，不能含 [ ] : * ? / \\，不能以单引号开头或结尾。",
            name,
        )
    for other in existing:
        if other.lower() == name.lower():
            raise refuse(
                f"工作簿中已有名称仅大小写不同的工作表「{other}」，无法新建「{name}」。请重命名其中一个。", name
            )


def sheet_areas(pkg: Package, part: str) -> list[Area]:
    """Table header/totals rows and pivot-table areas of a worksheet."""
    areas: list[Area] = []
    for ty, target in pkg.part_rels(part).values():
        kind = ty.rsplit("/", 1)[-1]
        if kind not in ("table", "pivotTable"):
            continue
        tpart = resolve_target(part, target)
        if not pkg.has(tpart):
            continue
        root = parse_tree(pkg.read(tpart), tpart)
        try:
            if kind == "table":
                r1, c1, r2, c2 = parse_range(root.get(b"ref") or "")
                name = root.get(b"displayName") or root.get(b"name") or ""
                if (root.get(b"headerRowCount") or "1") != "0":
                    areas.append(Area("table-header", name, (r1, c1, r1, c2)))
                if int(root.get(b"totalsRowCount") or "0") > 0:
                    areas.append(Area("table-totals", name, (r2, c1, r2, c2)))
            else:
                loc = root.find(b"location")
                if loc is not None:
                    areas.append(Area("pivot", root.get(b"name") or "", parse_range(loc.get(b"ref") or "")))
        except ValueError:
            raise refuse(f"工作簿部件 {tpart} 中的区域引用无法识别。请用 Excel 打开并另存为 .xlsx 后再试。") from None
    return areas


def check_touch(
    sheet: str,
    r: int,
    col: int,
    old: OldCell | None,
    attrs: bytes,
    value: CellValue,
    *,
    array_ranges: list[Range],
    areas: list[Area],
    merges: list[Range],
) -> None:
    """Refuse rewriting or clearing cell (``r``, ``col``) when that would damage the workbook.

    ``old`` is the cell as stored (None when absent) and ``attrs`` its raw attributes.
    """
    ref = cell_ref(r, col)
    where = f"工作表「{sheet}」的 {ref}"
    if old is not None and old.formula_type == b"shared":
        raise refuse(
            f"{where} 属于共享公式（Excel 拖动填充公式时生成），改写它会破坏同组其他单元格的公式。"
            "请确认写入的是“【自动】”列；如确需由工具填写，请先在 Excel 中清除该列的公式。",
            sheet,
            ref,
        )
    if old is not None and old.formula_type in (b"array", b"dataTable"):
        raise refuse(
            f"{where} 含有数组公式或模拟运算表，工具不能改写它。请先在 Excel 中删除该公式，或把它移出“【自动】”列。",
            sheet,
            ref,
        )
    for rng in array_ranges:
        if in_range(r, col, rng):
            raise refuse(
                f"{where} 位于数组公式的区域内，工具不能改写它。请先在 Excel 中删除该数组公式，或把它移出“【自动】”列。",
                sheet,
                ref,
            )
    if _VM_CM_RE.search(attrs):
        raise refuse(
            f"{where} 含有单元格内图片、复选框或动态数组等特殊内容，工具不能改写它。请把这些内容移出“【自动】”列后再运行。",
            sheet,
            ref,
        )
    for area in areas:
        if in_range(r, col, area.rng):
            if area.kind == "table-header":
                raise refuse(
                    f"{where} 是表格“{area.name}”的标题行，改写后 Excel 会报告文件损坏。"
                    "请在 Excel 中手工填写该表头（或把表格转换为普通区域）后再运行。",
                    sheet,
                    ref,
                )
            if area.kind == "table-totals":
                raise refuse(
                    f"{where} 是表格“{area.name}”的汇总行，工具不能改写它。请在 Excel 中关闭该表格的汇总行，或把表格移出“【自动】”列。",
                    sheet,
                    ref,
                )
            raise refuse(
                f"{where} 位于数据透视表“{area.name}”的区域内，工具不能改写它。请把数据透视表移到其他位置后再运行。",
                sheet,
                ref,
            )
    if value is not None:
        for rng in merges:
            if in_range(r, col, rng) and (r, col) != (rng[0], rng[1]):
                top_left = cell_ref(rng[0], rng[1])
                raise refuse(
                    f"{where} 位于合并单元格 {top_left}:{cell_ref(rng[2], rng[3])} 中但不是左上角单元格，写入的内容不会显示。"
                    "请在 Excel 中取消该合并后再运行。",
                    sheet,
                    ref,
                )


def check_header(
    sheet: str,
    plan: SheetPlan,
    header_row: int,
    header_cols: set[int],
    planned: dict[int, CellWrite],
    header_values: dict[int, object],
) -> None:
    """Refuse writing into a staff sheet's column whose header does not start with 【自动】.

    ``planned`` are the plan's cells of the header row, ``header_values`` the header cells read.
    """
    if header_row < 1:
        raise refuse(
            f"写入计划有误：工作表「{sheet}」不是工具专用表，clear_from_row 必须大于 1（其上一行是表头）。",
            sheet,
        )
    # A plan model that names staff columns it may write (county consolidation) exempts them.
    exempt = {column_index(c) for c in getattr(plan, "staff_columns", ())}
    for col in sorted(header_cols - exempt):
        value = planned[col].value if col in planned else header_values.get(col)
        if not (isinstance(value, str) and value.strip().startswith(OWNED_PREFIX)):
            shown = "" if value is None else str(value)
            raise refuse(
                f"工作表「{sheet}」的 {column_letter(col)} 列（表头 {column_letter(col)}{header_row}「{shown}」）不是以“{OWNED_PREFIX}”开头的工具列，"
                "工具不会改写员工填写的列。请检查第 "
                f"{header_row} 行的表头：只有表头以“{OWNED_PREFIX}”开头的列才由工具填写。",
                sheet,
                f"{column_letter(col)}{header_row}",
            )
