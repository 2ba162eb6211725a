"""The consolidation report: a new workbook (XlsxWriter) that staff can forward to the counties.

Sheets: 汇总 (one row per county: state, file, time, late, rows changed, conflicts, issues),
问题明细 (every issue with its file, sheet, cell and the fix), 导入修改 (every value written into the
master, with the county cell and the master cell), 冲突待核对 (edits withheld because the center
changed the row after issue), 文件清单 (every file of the inbox and what became of it), 说明 (the rules).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import xlsxwriter

from toolkit.counties.metadata import period_label
from toolkit.counties.model import LATE, MISSING, PERIOD_COLUMN_HEADER, REJECTED_STATE, SUBMITTED, ConsolidationResult
from toolkit.counties.returns import ACCEPTED, BLANK, REJECTED, SUPERSEDED

STATUS_WORDS = {ACCEPTED: "已导入", REJECTED: "退回", SUPERSEDED: "被较晚一份取代"}

RULES_TEXT = (
    "县区由报送表中隐藏的校验信息识别，与文件名无关；报送文件夹及其子文件夹（如按县区存放的解压邮件附件）中的文件都会汇总，"
    "其他文件（不是下发的报送表）会被退回并说明原因；临时文件、隐藏文件和工具生成的文件夹（汇总报告、台账备份、下发的报送表）跳过。",
    "报送表凭下发时记录的“台账编号”（台账“基本信息”中）识别所属台账：修改基本信息中的反馈日期等不影响已下发的报送表；"
    "台账编号不同的报送表属于另一本台账，退回时说明单位名称、巡察轮次、台账编号中哪一项不同。",
    "只要一份报送表有任何“错误”，整份退回、不导入任何内容；请县区按“问题明细”修改后重新报送一份。“警告”不影响导入。",
    "逾期：报送时间（北京时间）晚于报回截止日当天即为逾期（仍会导入）。报送时间优先取文件属性中的“最后保存时间”"
    "（Excel/WPS/LibreOffice 保存时写入，换算为北京时间）；缺少该属性或早于下发时间时，取文件的修改时间（同样按北京时间）。",
    "同一县区报送多份：按报送时间先后排列（相同时按文件名），较晚的一份只有在是较早一份的“完整更新”时才生效"
    "（较早一份改过的每一项都保留或继续填写：完成情况不倒退，完成日期不变，整改进展和佐证材料保留原有文字），否则全部退回，请县区确认后只报送一份。",
    "冲突：某项在报送表下发后已被市中心在台账中修改，县区又填报了不同的内容，该行不导入，列在“冲突待核对”中，请人工核对后在台账中处理。",
    "导入的内容写入台账“任务清单”的 完成情况、完成日期、整改进展、佐证材料 列，每一处修改都记入台账的“变更记录”工作表；"
    f"“县区”表的【自动】本期报送 列显示各县区本期报送情况，{PERIOD_COLUMN_HEADER} 列注明是哪个报送期；"
    "本期没有可导入的报送表时，也会更新为本期的情况（未报送/被退回），台账其余内容不变；“月度进展”表记录本期统计。",
)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def report_name(result: ConsolidationResult) -> str:
    return f"{result.period}_县区报送汇总_{result.now:%Y%m%d-%H%M%S}.xlsx"


def write_report(result: ConsolidationResult, folder: str | Path) -> Path:
    """Write the report workbook into ``folder`` (created if needed); returns its path."""
    report = PendingReport(result, folder)
    try:
        return report.commit()
    finally:
        report.discard()


class PendingReport:
    """The report workbook made under a temporary name (:meth:`make`), put in place by :meth:`commit`.

    Consolidation makes it while the master's read-back runs and commits it only once the write has
    succeeded; :meth:`discard` removes a temporary file that was not committed.
    """

    def __init__(self, result: ConsolidationResult, folder: str | Path) -> None:
        self.result = result
        self.folder = Path(folder)
        self.path = self.folder / report_name(result)
        self.tmp = self.path.with_name(f".{self.path.stem}.tmp{os.getpid()}.xlsx")
        self.made = False

    def make(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _write(self.tmp, self.result)
        self.made = True

    def make_ahead(self) -> None:
        """:meth:`make`, ahead of the write: a failure here (a folder that cannot be written…) never stops
        the write; :meth:`commit` makes the report again afterwards and raises then, as before."""
        try:
            self.make()
        except OSError:
            self.made = False
            self.discard()

    def commit(self) -> Path:
        if not self.made:
            self.make()
        os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        if self.tmp.exists():
            self.tmp.unlink()


class _Sheet:
    def __init__(self, wb: Any, name: str, headers: tuple[str, ...], widths: tuple[int, ...], fmt: dict[str, Any]):
        self.ws = wb.add_worksheet(name)
        self.fmt = fmt
        self.row = 0
        for j, (h, w) in enumerate(zip(headers, widths)):
            self.ws.write_string(0, j, h, fmt["head"])
            self.ws.set_column(j, j, w, fmt["wrap"] if w >= 24 else fmt["cell"])
        self.ws.freeze_panes(1, 0)
        self.ws.autofilter(0, 0, 0, len(headers) - 1)
        self.width = len(headers)

    def add(self, *values: Any, style: str | None = None) -> None:
        self.row += 1
        for j, v in enumerate(values):
            fmt = self.fmt.get(style or "", None) if style and j == 1 else None
            if v is None or v == "":
                self.ws.write_blank(self.row, j, None, fmt)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                self.ws.write_number(self.row, j, v, fmt)
            else:
                self.ws.write_string(self.row, j, str(v), fmt)

    def done(self) -> None:
        self.ws.autofilter(0, 0, max(self.row, 1), self.width - 1)


def _write(path: Path, result: ConsolidationResult) -> None:
    wb = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    base = {"font_name": "宋体", "font_size": 10, "valign": "top"}
    fmt = {
        "head": wb.add_format({**base, "bold": True, "bg_color": "#D9D9D9", "align": "center", "text_wrap": True}),
        "cell": wb.add_format(base),
        "wrap": wb.add_format({**base, "text_wrap": True}),
        "title": wb.add_format({**base, "bold": True, "font_size": 14}),
        "ok": wb.add_format({**base, "bg_color": "#C6EFCE", "font_color": "#006100"}),
        "late": wb.add_format({**base, "bg_color": "#F8CBAD", "font_color": "#833C0B"}),
        "bad": wb.add_format({**base, "bg_color": "#FFC7CE", "font_color": "#9C0006"}),
        "missing": wb.add_format({**base, "bg_color": "#FFEB9C", "font_color": "#9C5700"}),
    }
    state_style = {SUBMITTED: "ok", LATE: "late", REJECTED_STATE: "bad", MISSING: "missing"}
    summary = _Sheet(
        wb,
        "汇总",
        (
            "县区",
            "报送情况",
            "应报任务数",
            "导入的文件",
            "报送时间",
            "时间来源",
            "截止日期",
            "导入修改数",
            "冲突数",
            "报送文件数",
            "说明",
        ),
        (16, 22, 8, 34, 17, 20, 11, 9, 7, 9, 70),
        fmt,
    )
    changes_by_file: dict[str, int] = {}
    for a in result.changes:
        changes_by_file[a.file] = changes_by_file.get(a.file, 0) + 1
    for sub in result.counties:
        f = sub.applied
        notes = []
        for g in sub.files:
            if g.status == REJECTED:
                first = g.errors[0].message if g.errors else ""
                notes.append(
                    f"“{g.name}”退回：{first}"
                    + (f"（另有{len(g.errors) - 1}处，见问题明细）" if len(g.errors) > 1 else "")
                )
            elif g.status == SUPERSEDED:
                notes.append(f"“{g.name}”：{g.note}")
        if sub.state == MISSING:
            notes.insert(0, "本期未收到该县区的报送表（按隐藏校验信息识别）：请催报。")
        summary.add(
            sub.county,
            sub.text,
            sub.tasks or None,
            f.name if f else "",
            f"{f.submitted_at:%Y-%m-%d %H:%M}" if f and f.submitted_at else "",
            f.time_source if f else "",
            f.deadline.isoformat() if f and f.deadline else "",
            changes_by_file.get(f.name, 0) if f else None,
            len(f.conflicts) if f else None,
            len(sub.files) or None,
            "；".join(notes),
            style=state_style.get(sub.state),
        )
    summary.done()
    ws = summary.ws
    n = summary.row + 2
    ws.write_string(
        n,
        0,
        f"台账：{result.ledger_path.name}；报送期：{period_label(result.period)}；统计日期：{result.today.isoformat()}；"
        f"汇总时间：{result.now:%Y-%m-%d %H:%M:%S}" + ("（试运行，未写入台账）" if result.dry_run else ""),
    )
    ws.write_string(
        n + 1,
        0,
        f"共 {len(result.files)} 个文件：导入 {len(result.accepted)}、退回 {len(result.rejected)}；"
        f"写入台账 {len(result.changes)} 处修改；冲突待核对 {len(result.conflicts)} 处。",
    )
    for k, note in enumerate(result.notes, start=2):
        ws.write_string(n + k, 0, note.message)

    issues = _Sheet(
        wb,
        "问题明细",
        ("文件", "级别", "县区", "工作表", "单元格", "字段", "问题及修改方法", "代码"),
        (34, 6, 14, 14, 8, 10, 80, 22),
        fmt,
    )
    for f in result.files:
        for i in f.issues:
            issues.add(
                f.name,
                "错误" if i.is_error else "警告",
                f.county or (f"（文件名含“{f.name_hint}”）" if f.name_hint else "未识别"),
                i.location.sheet,
                i.location.cell,
                i.location.field,
                i.message,
                i.code,
                style="bad" if i.is_error else "missing",
            )
    for i in result.notes:
        issues.add(
            result.ledger_path.name,
            "警告",
            "",
            i.location.sheet,
            i.location.cell,
            i.location.field,
            i.message,
            i.code,
            style="missing",
        )
    issues.done()

    changes = _Sheet(
        wb,
        "导入修改",
        ("县区", "文件", "任务编号", "字段", "原值", "新值", "报送表单元格", "台账单元格"),
        (14, 34, 9, 10, 40, 40, 10, 10),
        fmt,
    )
    for a in result.changes:
        ch = a.change
        changes.add(
            a.county,
            a.file,
            ch.task_id,
            ch.label,
            ch.old or BLANK,
            ch.new or BLANK,
            ch.county_cell,
            f"任务清单!{a.master_cell}",
        )
    changes.done()

    conflicts = _Sheet(
        wb,
        "冲突待核对",
        ("县区", "文件", "任务编号", "字段", "台账现值（下发后市中心已改）", "县区填报", "报送表单元格", "处理建议"),
        (14, 34, 9, 10, 40, 40, 10, 50),
        fmt,
    )
    for f, c in result.conflicts:
        conflicts.add(
            f.county,
            f.name,
            c.task_id,
            c.label,
            c.master_now or BLANK,
            c.county or BLANK,
            c.county_cell,
            "该行未导入：请核对后在台账中手工修改，或请县区按台账现值重新填报。",
        )
    conflicts.done()

    listing = _Sheet(
        wb,
        "文件清单",
        ("文件", "结果", "县区（按校验信息）", "报送期", "报送时间", "是否逾期", "说明"),
        (34, 14, 16, 9, 17, 8, 80),
        fmt,
    )
    for f in result.files:
        why = f.note or (f.errors[0].message if f.errors else "")
        listing.add(
            f.name,
            STATUS_WORDS.get(f.status, f.status),
            f.county or "未识别",
            f.meta.period if f.meta else "",
            f"{f.submitted_at:%Y-%m-%d %H:%M}" if f.submitted_at else "",
            ("是" if f.late else "否") if f.meta else "",
            why,
            style={ACCEPTED: "ok", REJECTED: "bad"}.get(f.status),
        )
    for p, why in result.ignored:
        listing.add(_relative(p, result.inbox), "已忽略", "", "", "", "", why)
    listing.done()

    rules = wb.add_worksheet("说明")
    rules.set_column(0, 0, 120, fmt["wrap"])
    rules.write_string(0, 0, f"{period_label(result.period)}县区报送汇总规则", fmt["title"])
    for k, text in enumerate(RULES_TEXT, start=1):
        rules.write_string(k + 1, 0, f"{k}. {text}", fmt["wrap"])
    summary.ws.activate()
    wb.set_properties({"title": f"{period_label(result.period)}县区报送汇总", "comments": "由 zhenggai 生成"})
    wb.close()


__all__ = ["PendingReport", "write_report", "report_name", "RULES_TEXT"]
