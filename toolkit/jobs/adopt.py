"""接入台账 (``zhenggai adopt``): take the staff's own ledger as it is and add what the toolkit needs.

Without ``write`` the job only reads: it says which layout was recognised (sheet, header row, which
column is which field, how measures were grouped into problems) and what would be added. With
``write`` it adds, through the lossless write path and in one write (backup first):

* the 【自动】 columns right of the ledger's table and the owned sheets (校验结果, 统计) — the status plan;
* a 基本信息 sheet with the settings found (e.g. in the title row) or defaulted, when there is none;
* a 台账映射 sheet recording the recognised mapping, for a one-sheet ledger without one (staff edit it
  to correct the detection; later runs follow it);
* a 县区 sheet listing the county-level units named in 责任单位, when there is none (county templates
  are made for the units listed there).

Nothing of the staff's is moved, renamed or restyled: the new sheets are new, and the plan writes
only 【自动】 cells in the ledger sheet. The plan is computed on the workbook as it will be after
adoption, so 校验结果 already reflects the new 基本信息.
"""

from __future__ import annotations

from datetime import date

from toolkit.core import layouts as L
from toolkit.core import schema as S
from toolkit.core.check import CheckResult, check_tables
from toolkit.core.errors import ToolkitError
from toolkit.core.intake import find_mapping_sheet, find_sheet
from toolkit.core.layout import SETTINGS_HEADER
from toolkit.core.model import Ledger, Table
from toolkit.core.plan import CellStyle, CellWrite, SheetPlan, WritePlan
from toolkit.core.writeplan import HEADER_STYLE
from toolkit.jobs.check import check_only, record_write, write_blockers
from toolkit.jobs.result import JobResult
from toolkit.jobs.sources import LedgerSource

NOTE_STYLE = CellStyle(font_color="7F7F7F", wrap=True)


def run_adopt(source: LedgerSource, *, write: bool = False, today: date | None = None) -> JobResult:
    """接入台账: show the recognised layout; with ``write`` add 基本信息/台账映射/县区 and the 【自动】 columns."""
    job = JobResult("adopt", "接入台账", ledger=getattr(source, "path", None), dry_run=not write)
    if write:
        source.require_writable()
    tables = source.tables
    before = check_tables(tables, today=today, source=source.name, clock_today=date.today())
    ledger = before.ledger
    added = adoption_sheets(ledger, tables)
    augmented = dict(tables)
    for sp in added:
        augmented[sp.sheet] = _as_table(sp)
    result = check_tables(augmented, today=today, source=source.name, clock_today=date.today())
    job.check, job.today = result, result.today
    job.notes.extend(describe_layout(before))
    plan = result.plan
    blockers = write_blockers(result)
    if blockers:
        plan = check_only(result)
        job.refused.extend(blockers)
    plan = WritePlan([*added, *plan.sheets])
    job.notes.extend(_additions(added, result))
    if not write:
        try:
            job.changes = list(source.write(plan, dry_run=True).changes)
        except ToolkitError as exc:
            job.refused.append(f"台账不能写入：{exc}")
        job.notes.append("以上为识别结果，尚未修改台账。确认无误后运行 zhenggai adopt 台账文件 --yes 写入"
                         "（写前自动备份；只新增工作表和“【自动】”列，不移动、不改名、不改格式）。")
        return job
    record_write(job, source, source.write(plan))
    return job


def describe_layout(result: CheckResult) -> list[str]:
    """The recognised layout in words: which sheet, header row, columns, grouping and numbering."""
    layout = result.ledger.layout
    if layout.one_sheet:
        return list(layout.detection)
    if layout.missing_sheets or S.SHEET_TASKS not in layout.header_rows:
        return ["未能识别台账格式：找不到问题清单/任务清单，也找不到含“存在问题”“整改措施”列的一表式台账。"
                f"请核对表头，或新建“{L.MAPPING_SHEET}”工作表写明台账所在工作表、表头行和各列（字段 | 列）。"]
    lines = [f"工作簿是{L.LAYOUT_NAMES[L.THREE_LISTS]}："]
    for canonical in (S.SHEET_PROBLEMS, S.SHEET_TASKS):
        cols = layout.columns.get(canonical, {})
        by_key = {c.key: c.header for c in S.SHEET_COLUMNS[canonical]}
        fields = "、".join(f"{letter}列=“{by_key[k]}”" for k, letter in cols.items() if k in by_key)
        lines.append(f"工作表“{layout.sheet(canonical)}”第{layout.header_rows[canonical]}行为表头；{fields}")
    return lines


def adoption_sheets(ledger: Ledger, tables: dict[str, Table]) -> list[SheetPlan]:
    """The sheets adoption adds (each only when the workbook has none): 基本信息, 台账映射, 县区."""
    out: list[SheetPlan] = []
    if find_sheet(tables, S.SHEET_SETTINGS) is None:
        out.append(settings_sheet(ledger))
    if ledger.layout.one_sheet and find_mapping_sheet(tables) is None:
        out.append(mapping_sheet(ledger))
    if find_sheet(tables, S.SHEET_COUNTIES) is None:
        names = L.counties_from_units([t.unit for t in ledger.tasks])
        if names:
            out.append(counties_sheet(names))
    return out


def _setting_value(ledger: Ledger, setting: S.Setting) -> object:
    value = getattr(ledger.settings, setting.key)
    if setting.kind == "bool":
        return "是" if value else "否"
    if value in ("", None):
        return None
    return value


def settings_sheet(ledger: Ledger) -> SheetPlan:
    """基本信息: every setting, its value as found (title row) or defaulted, and what it is for."""
    cells = [CellWrite(1, S.column_letter(j), h, HEADER_STYLE) for j, h in enumerate(SETTINGS_HEADER)]
    for i, setting in enumerate(S.SETTINGS, start=2):
        value = _setting_value(ledger, setting)
        note = "；".join(x for x in (setting.help, f"用于{setting.purpose}" if setting.purpose else "",
                                      "必填" if setting.required else "") if x)
        cells.append(CellWrite(i, "A", setting.label))
        cells.append(CellWrite(i, "B", value, CellStyle(num_format="yyyy-mm-dd") if isinstance(value, date) else None))
        cells.append(CellWrite(i, "C", note or None, NOTE_STYLE))
    return SheetPlan(S.SHEET_SETTINGS, cells, owned_sheet=True, clear_from_row=1,
                     column_widths={"A": 18, "B": 40, "C": 60})


def mapping_sheet(ledger: Ledger) -> SheetPlan:
    """台账映射: the recognised sheet, header row and field → column, for staff to confirm or correct."""
    layout = ledger.layout
    cells = [CellWrite(1, S.column_letter(j), h, HEADER_STYLE) for j, h in enumerate(L.MAPPING_HEADER)]
    cells.append(CellWrite(2, "A", L.MAPPING_SHEET_KEY))
    cells.append(CellWrite(2, "B", layout.sheet(S.SHEET_TASKS)))
    cells.append(CellWrite(2, "C", "台账所在的工作表", NOTE_STYLE))
    cells.append(CellWrite(3, "A", L.MAPPING_HEADER_ROW_KEY))
    cells.append(CellWrite(3, "B", layout.header_rows.get(S.SHEET_TASKS)))
    cells.append(CellWrite(3, "C", "表头所在的行号", NOTE_STYLE))
    for i, col in enumerate(L.ONE_SHEET_COLUMNS, start=4):
        letter = layout.fields.get(col.key)
        cells.append(CellWrite(i, "A", col.header))
        cells.append(CellWrite(i, "B", letter or L.MAPPING_NONE[0]))
        note = "自动识别" if letter else "台账中没有此列"
        if col.key == "seq":
            note += "；序号可为 1 / 1.1 / （1） / 一是，没有时按 1-1、1-2 生成措施编号"
        cells.append(CellWrite(i, "C", note + "；填列号（如 C）、与表头一致的列名，或“无”", NOTE_STYLE))
    return SheetPlan(L.MAPPING_SHEET, cells, owned_sheet=True, clear_from_row=1,
                     column_widths={"A": 14, "B": 16, "C": 70})


def counties_sheet(names: list[str]) -> SheetPlan:
    """县区: the county-level units named in 责任单位 (staff add or remove names)."""
    cells = [CellWrite(1, S.column_letter(j), c.header, HEADER_STYLE) for j, c in enumerate(S.COUNTY_COLUMNS)]
    cells += [CellWrite(i, "A", name) for i, name in enumerate(names, start=2)]
    return SheetPlan(S.SHEET_COUNTIES, cells, owned_sheet=True, clear_from_row=1, column_widths={"A": 22})


def _as_table(sp: SheetPlan) -> Table:
    """A planned new sheet as the reader would give it back (for checking the adopted workbook before writing)."""
    rows_n = max((c.row for c in sp.cells), default=0)
    width = max((S.column_index(c.column) + 1 for c in sp.cells), default=0)
    rows: list[list[object]] = [[None] * width for _ in range(rows_n)]
    for c in sp.cells:
        rows[c.row - 1][S.column_index(c.column)] = c.value
    return Table(sp.sheet, rows)


def _additions(added: list[SheetPlan], result: CheckResult) -> list[str]:
    lines = []
    for sp in added:
        if sp.sheet == S.SHEET_SETTINGS:
            blank = [s.label for s in S.SETTINGS if s.required and not getattr(result.ledger.settings, s.key)]
            lines.append("新增“基本信息”工作表：各项设置取自标题或默认值"
                         + (f"；请补填 {'、'.join(blank)}（生成通报时需要）" if blank else ""))
        elif sp.sheet == L.MAPPING_SHEET:
            lines.append(f"新增“{L.MAPPING_SHEET}”工作表：记录上面识别出的各列；如有误请在该表中改正，以后各次运行都按它读取")
        elif sp.sheet == S.SHEET_COUNTIES:
            names = [c.value for c in sp.cells if c.row > 1]
            lines.append(f"新增“县区”工作表：{'、'.join(names)}（取自责任单位；生成县区报送表时按此名单）")
    layout = result.ledger.layout
    if S.SHEET_TASKS in layout.header_rows:
        owned = [c.header for c in S.TASK_OWNED]
        if layout.one_sheet:
            owned += [c.header for c in S.PROBLEM_OWNED if c.key != "check"]
        lines.append(f"在工作表“{layout.sheet(S.SHEET_TASKS)}”的表格右侧增加（或更新）：{'、'.join(owned)}；"
                     "另写入“校验结果”“统计”工作表")
    return lines
