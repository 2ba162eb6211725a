"""New workbooks with XlsxWriter: the ledger (``zhenggai init``), laid out for the patcher.

Only ever writes a new file (never re-saves a staff workbook). Owned columns and sheets are
filled from a :class:`~toolkit.core.plan.WritePlan` in the same pass, so a fresh ledger opens with
its statuses, check results and statistics already there.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from toolkit.core import schema as S
from toolkit.core.layout import SETTINGS_HEADER, TITLE_ROWS, header_row
from toolkit.core.model import Ledger
from toolkit.core.plan import CellStyle, Formula, WritePlan
from toolkit.core.writeplan import MONTHLY_COLUMNS, stats_layout_for

# The ledger's own id, one row of 基本信息 below the settings: county returns carry it, so a
# return stays bound to its ledger whatever else staff edit in 基本信息 (see docs/rules/counties.md).
LEDGER_ID_LABEL = "台账编号"
LEDGER_ID_NOTE = "自动生成，请勿修改或删除：县区报送表凭此识别本台账"


def new_ledger_id() -> str:
    """A fresh ledger id (a random UUID: unique without any registry)."""
    return str(uuid.uuid4())


DATA_ROWS_RESERVE = 1000  # validation and colouring extend this far below the last row
LIST_SHEET = S.SHEET_LISTS


class _Formats:
    """XlsxWriter formats, created once per distinct style."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        self.cache: dict[Any, Any] = {}
        self.base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}

    def get(self, style: CellStyle | None = None, **extra: Any):
        key = (style, tuple(sorted(extra.items())))
        if key not in self.cache:
            props = dict(self.base)
            if style:
                if style.fill:
                    props.update(bg_color="#" + style.fill, pattern=1)
                if style.font_color:
                    props["font_color"] = "#" + style.font_color
                if style.bold:
                    props["bold"] = True
                if style.num_format:
                    props["num_format"] = style.num_format
                if style.wrap:
                    props["text_wrap"] = True
                if style.align:
                    props["align"] = style.align
            props.update(extra)
            self.cache[key] = self.wb.add_format(props)
        return self.cache[key]


def _write_value(ws, fmt: _Formats, row0: int, col0: int, value: Any, style: CellStyle | None = None) -> None:
    if value is None:
        ws.write_blank(row0, col0, None, fmt.get(style))
    elif isinstance(value, Formula):
        ws.write_formula(row0, col0, "=" + value.text, fmt.get(style),
                         "" if value.cached is None else value.cached)
    elif isinstance(value, bool):
        ws.write_boolean(row0, col0, value, fmt.get(style))
    elif isinstance(value, (int, float)):
        ws.write_number(row0, col0, value, fmt.get(style))
    elif isinstance(value, (date, datetime)):
        style = style or CellStyle()
        ws.write_datetime(row0, col0, datetime(value.year, value.month, value.day) if not isinstance(value, datetime)
                          else value, fmt.get(CellStyle(**{**style.__dict__, "num_format": style.num_format or "yyyy-mm-dd"})))
    else:
        ws.write_string(row0, col0, str(value), fmt.get(style))


def _record_value(rec: Any, key: str) -> Any:
    value = getattr(rec, key, None)
    if key == "deadline" and value is not None:
        return "长期坚持" if value.is_long_term else value.on
    if key == "state":
        return rec.state or rec.state_text or None
    return value if value not in ("",) else None


def write_ledger_workbook(
    path: str | Path, ledger: Ledger, plan: WritePlan | None = None, *, ledger_id: str | None = None
) -> Path:
    """Write a new ledger workbook (``.xlsx``, or ``.xlsm`` with the button sheet) to ``path``.

    ``ledger.layout`` must come from :func:`toolkit.core.layout.assign_new_layout`. 基本信息 gets a
    :data:`LEDGER_ID_LABEL` row holding ``ledger_id`` (a new one when not given).
    """
    path = Path(path)
    macros = path.suffix.lower() == ".xlsm"
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    fmt = _Formats(wb)
    plan_cells = plan.as_grid() if plan else {}
    if macros:
        from toolkit.excel.vba.project import add_macro_sheet

        # Where docs/staff-setup.md installs the toolkit (xlwings expands the variable).
        add_macro_sheet(wb, interpreter=r"%LOCALAPPDATA%\zhenggai\venv\Scripts\python.exe")
    _settings_sheet(wb, fmt, ledger, ledger_id or new_ledger_id())
    lists = _list_ranges(ledger)
    sheets = {}
    for canonical in (S.SHEET_PROBLEMS, S.SHEET_TASKS, S.SHEET_PEOPLE, S.SHEET_COUNTIES, S.SHEET_NOTICE_TEXT):
        sheets[canonical] = _staff_sheet(wb, fmt, ledger, canonical, plan_cells.get(canonical, {}), lists)
    for name in (S.SHEET_CHECK, S.SHEET_STATS, S.SHEET_CHANGELOG, S.SHEET_MONTHLY):
        ws = wb.add_worksheet(name)
        sp = plan.sheet(name) if plan else None
        if sp:
            for c in sp.cells:
                _write_value(ws, fmt, c.row - 1, S.column_index(c.column), c.value, c.style)
            for letter, width in sp.column_widths.items():
                ws.set_column(f"{letter}:{letter}", width)
        ws.set_tab_color("#7F7F7F")
    _changelog_and_monthly(wb, fmt)
    _stats_charts(wb, ledger)
    _lists_sheet(wb, ledger)
    wb.set_properties({"title": "巡察整改台账", "subject": ledger.settings.unit_name, "comments": "由 zhenggai 生成"})
    wb.close()
    return path


def _settings_sheet(wb, fmt: _Formats, ledger: Ledger, ledger_id: str) -> None:
    ws = wb.add_worksheet(S.SHEET_SETTINGS)
    head = fmt.get(CellStyle(fill="D9D9D9", bold=True, align="center"))
    for j, h in enumerate(SETTINGS_HEADER):
        ws.write_string(0, j, h, head)
    st = ledger.settings
    for setting in S.SETTINGS:
        r = st.cells[setting.key][0] - 1
        label_fmt = fmt.get(CellStyle(bold=setting.required))
        ws.write_string(r, 0, setting.label + ("*" if setting.required else ""), label_fmt)
        value = getattr(st, setting.key)
        if setting.kind == "bool":
            value = "是" if value else "否"
        if setting.key == "as_of" and value is None:
            value = None
        _write_value(ws, fmt, r, 1, value if value != "" else None, CellStyle(align="left"))
        note = setting.help + ("；可选：" + "/".join(setting.choices) if setting.choices else "")
        if setting.kind == S.DATE:
            note = (note + "；" if note else "") + "日期，如 2024-06-30"
            ws.data_validation(r, 1, r, 1, {"validate": "date", "criteria": ">=", "value": date(2000, 1, 1),
                                            "error_message": "请填写日期，如 2024-06-30"})
        elif setting.kind == "bool":
            ws.data_validation(r, 1, r, 1, {"validate": "list", "source": ["是", "否"]})
        elif setting.kind == "choice":
            ws.data_validation(r, 1, r, 1, {"validate": "list", "source": list(setting.choices)})
        elif setting.kind == "int":
            ws.data_validation(r, 1, r, 1, {"validate": "integer", "criteria": ">=", "value": 0})
        if note:
            ws.write_string(r, 2, note, fmt.get(CellStyle(font_color="7F7F7F")))
    r = max((row for row, _ in st.cells.values()), default=1)  # the row below the last setting (0-based)
    ws.write_string(r, 0, LEDGER_ID_LABEL, fmt.get(CellStyle()))
    ws.write_string(r, 1, ledger_id, fmt.get(CellStyle(align="left", font_color="7F7F7F")))
    ws.write_string(r, 2, LEDGER_ID_NOTE, fmt.get(CellStyle(font_color="7F7F7F")))
    ws.set_column("A:A", 20)
    ws.set_column("B:B", 40)
    ws.set_column("C:C", 50)
    ws.freeze_panes(1, 0)
    ws.set_tab_color("#4472C4")


def _list_ranges(ledger: Ledger) -> dict[str, str]:
    units = _units(ledger)
    names = [p.name for p in ledger.people if p.name]
    counties = [c.name for c in ledger.counties]
    sizes = {"state": len(S.STATES), "unit": len(units), "person": len(names), "county": len(counties)}
    out = {}
    for j, key in enumerate(("state", "unit", "person", "county")):
        col = S.column_letter(j)
        # Reserve 200 rows so staff can add names to the hidden list without re-making the dropdown.
        out[key] = f"='{LIST_SHEET}'!${col}$2:${col}${max(sizes[key], 1) + 200}"
    return out


def _units(ledger: Ledger) -> list[str]:
    seen: dict[str, None] = {}
    for p in ledger.people:
        if p.unit:
            seen.setdefault(p.unit, None)
    for p in ledger.problems:
        if p.department:
            seen.setdefault(p.department, None)
    for c in ledger.counties:
        seen.setdefault(c.name, None)
    return list(seen)


def _lists_sheet(wb, ledger: Ledger) -> None:
    ws = wb.add_worksheet(LIST_SHEET)
    columns = (("完成情况", list(S.STATES)), ("责任单位", _units(ledger)),
               ("责任人", [p.name for p in ledger.people if p.name]), ("县区", [c.name for c in ledger.counties]))
    for j, (title, values) in enumerate(columns):
        ws.write_string(0, j, title)
        for i, v in enumerate(values):
            ws.write_string(i + 1, j, v)
    ws.hide()


def _staff_sheet(wb, fmt: _Formats, ledger: Ledger, canonical: str, owned: dict, lists: dict[str, str]):
    ws = wb.add_worksheet(canonical)
    columns = S.SHEET_COLUMNS[canonical]
    owned_cols = S.SHEET_OWNED.get(canonical, ())
    hr0 = header_row(canonical) - 1
    records = {S.SHEET_PROBLEMS: ledger.problems, S.SHEET_TASKS: ledger.tasks, S.SHEET_PEOPLE: ledger.people,
               S.SHEET_COUNTIES: ledger.counties, S.SHEET_NOTICE_TEXT: ledger.notice_text}[canonical]
    n_cols = len(columns) + len(owned_cols)
    if TITLE_ROWS.get(canonical):
        title = {S.SHEET_PROBLEMS: "巡察反馈问题清单", S.SHEET_TASKS: "巡察整改任务清单（逐项销号）"}[canonical]
        ws.merge_range(0, 0, 0, n_cols - 1, f"{ledger.settings.unit_name}{title}",
                       fmt.get(CellStyle(bold=True, align="center"), font_size=14))
        ws.set_row(0, 26)
    head = fmt.get(CellStyle(fill="D9D9D9", bold=True, align="center", wrap=True), border=1)
    for j, col in enumerate(columns):
        ws.write_string(hr0, j, col.header + ("*" if False else ""), head)
        ws.set_column(j, j, col.width, fmt.get(CellStyle(wrap=col.width >= 24), num_format="@") if col.kind == S.ID
                      else fmt.get(CellStyle(wrap=col.width >= 24)))
    owned_head = fmt.get(CellStyle(fill="BFBFBF", bold=True, align="center", wrap=True), border=1)
    for k, col in enumerate(owned_cols):
        j = len(columns) + k
        ws.write_string(hr0, j, col.header, owned_head)
        ws.set_column(j, j, col.width)
    ws.set_row(hr0, 30)
    date_style = CellStyle(num_format="yyyy-mm-dd", align="center")
    for rec in records:
        r0 = rec.row - 1
        for j, col in enumerate(columns):
            value = _record_value(rec, col.key)
            style = date_style if isinstance(value, date) else CellStyle(wrap=col.width >= 24)
            if col.kind == S.ID and value is not None:
                ws.write_string(r0, j, str(value), fmt.get(style))
            else:
                _write_value(ws, fmt, r0, j, value, style)
    for (row, letter), (value, style) in owned.items():
        if row - 1 == hr0:
            continue
        _write_value(ws, fmt, row - 1, S.column_index(letter), value, style)
    last0 = hr0 + max(len(records), 1) + DATA_ROWS_RESERVE
    first0 = hr0 + 1
    letters = ledger.layout.columns[canonical]
    if canonical == S.SHEET_TASKS:
        col = S.column_index(letters["state"])
        ws.data_validation(first0, col, last0, col, {"validate": "list", "source": lists["state"],
                                                     "error_title": "完成情况",
                                                     "error_message": "请从下拉列表选择：" + "/".join(S.STATES)})
        col = S.column_index(letters["unit"])
        ws.data_validation(first0, col, last0, col, {"validate": "list", "source": lists["unit"],
                                                     "error_type": "warning",
                                                     "error_message": "该单位不在责任清单/县区中，确定要填写吗？"})
        col = S.column_index(letters["person"])
        ws.data_validation(first0, col, last0, col, {"validate": "list", "source": lists["person"],
                                                     "error_type": "warning",
                                                     "error_message": "该责任人不在责任清单中，确定要填写吗？"})
        for key in ("extended_deadline", "completed_on", "signed_off_on"):
            col = S.column_index(letters[key])
            ws.data_validation(first0, col, last0, col, {"validate": "date", "criteria": ">=",
                                                         "value": date(2000, 1, 1), "error_title": "日期",
                                                         "error_message": "请填写日期，如 2024-06-30"})
            ws.set_column(col, col, 12, fmt.get(CellStyle(num_format="yyyy-mm-dd", align="center")))
        col = S.column_index(letters["deadline"])
        ws.data_validation(first0, col, last0, col, {"validate": "any", "input_title": "完成时限",
                                                     "input_message": "填日期（如 2024-06-30）或“长期坚持”"})
        status_col = letters["owned:status"]
        last_letter = S.column_letter(n_cols - 1)
        rng = f"A{first0 + 1}:{last_letter}{last0 + 1}"
        for label, fill in (("逾期", "#FFC7CE"), ("临期", "#FFEB9C")):
            ws.conditional_format(rng, {"type": "formula", "criteria": f'=${status_col}{first0 + 1}="{label}"',
                                        "format": wb.add_format({"bg_color": fill})})
    if canonical in (S.SHEET_PROBLEMS, S.SHEET_TASKS):
        ws.freeze_panes(hr0 + 1, 2)
        ws.autofilter(hr0, 0, hr0 + max(len(records), 1), n_cols - 1)
        set_list_printing(ws, hr0)
    else:
        ws.freeze_panes(hr0 + 1, 0)
    return ws


def set_list_printing(ws, header_row0: int) -> None:
    """Print a list sheet on A4 landscape, one page wide, header repeated, page numbers in Chinese."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer("&C第 &P 页，共 &N 页")


def _changelog_and_monthly(wb, fmt: _Formats) -> None:
    head = fmt.get(CellStyle(fill="D9D9D9", bold=True, align="center"))
    ws = wb.get_worksheet_by_name(S.SHEET_CHANGELOG)
    for j, h in enumerate(("时间", "报送期", "县区", "文件", "任务编号", "字段", "原值", "新值")):
        ws.write_string(0, j, h, head)
    ws.set_column("A:A", 18)
    ws.set_column("D:D", 24)
    ws.set_column("G:H", 30)
    ws = wb.get_worksheet_by_name(S.SHEET_MONTHLY)
    for j, h in enumerate(MONTHLY_COLUMNS):
        ws.write_string(0, j, h, head)
    ws.set_column("A:H", 11)


def _stats_charts(wb, ledger: Ledger) -> None:
    """Native charts fed by the cells the patcher fills (fixed ranges of the 统计 layout)."""
    name = S.SHEET_STATS
    ws = wb.get_worksheet_by_name(name)
    layout = stats_layout_for(ledger)  # the rows the write plan fills for this ledger
    first = layout.first(layout.category_header)  # 1-based Excel row of the first category
    last = first + max(len(ledger.categories()), 1) - 1
    chart = wb.add_chart({"type": "bar", "subtype": "stacked"})
    for j, colour in ((2, "#70AD47"), (5, "#FFC000"), (8, "#8064A2")):
        letter = S.column_letter(j)
        chart.add_series({
            "name": [name, layout.category_header - 1, j],
            "categories": f"='{name}'!$A${first}:$A${last}",
            "values": f"='{name}'!${letter}${first}:${letter}${last}",
            "fill": {"color": colour},
        })
    chart.set_title({"name": "按问题方面的整改进展", "name_font": {"size": 11}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 620, "height": 300})
    ws.insert_chart("L4", chart)

    cfirst = layout.first(layout.county_header)
    clast = cfirst + max(len(ledger.counties), 1) - 1
    chart = wb.add_chart({"type": "column"})
    chart.add_series({
        "name": "完成率",
        "categories": f"='{name}'!$A${cfirst}:$A${clast}",
        "values": f"='{name}'!$J${cfirst}:$J${clast}",
        "fill": {"color": "#4472C4"},
        "data_labels": {"value": True, "num_format": "0%"},
    })
    chart.set_title({"name": "各县（市、区）措施完成率", "name_font": {"size": 11}})
    chart.set_y_axis({"num_format": "0%", "max": 1, "min": 0})
    chart.set_legend({"none": True})
    chart.set_size({"width": 620, "height": 300})
    ws.insert_chart("L21", chart)

    monthly = S.SHEET_MONTHLY
    chart = wb.add_chart({"type": "line"})
    chart.add_series({
        "name": "完成率",
        "categories": f"='{monthly}'!$A$2:$A$61",
        "values": f"='{monthly}'!$H$2:$H$61",
        "marker": {"type": "circle"},
    })
    chart.set_title({"name": "月度完成率走势", "name_font": {"size": 11}})
    chart.set_y_axis({"num_format": "0%", "min": 0, "max": 1})
    chart.set_legend({"none": True})
    chart.set_size({"width": 620, "height": 300})
    ws.insert_chart("L38", chart)
