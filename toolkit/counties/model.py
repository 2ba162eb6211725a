"""Result types and constants of a consolidation run, shared by the merge and the report.

:mod:`toolkit.counties.consolidate` fills a :class:`ConsolidationResult`;
:mod:`toolkit.counties.report` and the front ends read it. Neither imports the other's module
for these names, so this module imports nothing but the core and the pure return checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from toolkit.core.check import CheckResult
from toolkit.core.plan import CellStyle, WritePlan
from toolkit.core.report import Issue
from toolkit.counties.returns import ACCEPTED, REJECTED, Conflict, FieldChange, ReturnCheck

# A county's submission state for the period (县区!【自动】本期报送).
SUBMITTED = "已报送"
LATE = "逾期报送"
REJECTED_STATE = "被退回"
MISSING = "未报送"
NOT_REQUIRED = "无需报送"

CHANGELOG_COLUMNS = ("时间", "报送期", "县区", "文件", "任务编号", "字段", "原值", "新值")
REPORT_DIR_NAME = "县区报送汇总"
# The 县区 column saying which period the 【自动】本期报送 states belong to (one cell per county row).
PERIOD_COLUMN_HEADER = "【自动】报送期"
# Code and text of the note when the inbox holds no file at all.
EMPTY_INBOX = "empty-inbox"
NO_FILES_TEXT = "没有报送文件"

STATE_STYLES: dict[str, CellStyle | None] = {
    SUBMITTED: CellStyle(fill="C6EFCE", font_color="006100", align="center"),
    LATE: CellStyle(fill="F8CBAD", font_color="833C0B", align="center"),
    REJECTED_STATE: CellStyle(fill="FFC7CE", font_color="9C0006"),
    MISSING: CellStyle(fill="FFEB9C", font_color="9C5700", align="center"),
    NOT_REQUIRED: None,
}

# Short reasons for the 县区 sheet's 【自动】本期报送 cell (the report has the full text).
SHORT_REASONS: dict[str, str] = {
    "missing-metadata": "不是下发的报送表",
    "metadata-tampered": "校验信息被改动",
    "bad-metadata": "校验信息不完整",
    "old-template": "模板版本过旧",
    "newer-template": "模板版本过新",
    "other-ledger": "不属于本台账",
    "unknown-county": "县区名称不符",
    "wrong-period": "报送期不对",
    "missing-data-sheet": "工作表被删除",
    "header-changed": "表头被改动",
    "readonly-edited": "只读单元格被修改",
    "row-added": "增加了行",
    "row-deleted": "删除了行",
    "rows-reordered": "行顺序被调换",
    "other-county-task": "含其他县区的任务",
    "duplicate-inconsistent": "多份报送内容不一致",
    "formula-in-cell": "单元格含公式",
    "excel-error": "单元格含错误值",
    "bad-date": "完成日期无法识别",
    "unknown-state": "完成情况无法识别",
    "done-without-date": "已完成但未填完成日期",
    "date-without-done": "完成日期与完成情况不符",
    "date-in-future": "完成日期晚于今天",
    "state-cleared": "完成情况被清空",
    "macro-file": "文件含宏",
    "not-xlsx": "不是 .xlsx 格式",
    "encrypted": "文件加密",
    "corrupt": "文件损坏",
    "empty-file": "空文件",
    "timeout": "读取超时",
    "crashed": "文件无法读取",
}


@dataclass(frozen=True)
class AppliedChange:
    """A change written into the master: which county, which file, which cell."""

    county: str
    file: str
    change: FieldChange
    master_cell: str  # e.g. "J12" on 任务清单


@dataclass
class CountySubmission:
    """One county's submission state for the period."""

    county: str
    state: str  # SUBMITTED / LATE / REJECTED_STATE / MISSING / NOT_REQUIRED
    tasks: int = 0  # tasks the county reports on (open, not signed off)
    files: list[ReturnCheck] = field(default_factory=list)
    applied: ReturnCheck | None = None
    reason: str = ""  # short reason when rejected

    @property
    def text(self) -> str:
        """The cell text of 县区!【自动】本期报送."""
        return f"{REJECTED_STATE}（{self.reason}）" if self.state == REJECTED_STATE else self.state


@dataclass
class ConsolidationResult:
    """What a consolidation run found, applied and wrote."""

    ledger_path: Path
    inbox: Path
    period: str
    today: date
    now: datetime
    dry_run: bool
    files: list[ReturnCheck] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)
    counties: list[CountySubmission] = field(default_factory=list)
    changes: list[AppliedChange] = field(default_factory=list)
    notes: list[Issue] = field(default_factory=list)  # master-side notes (a missing column...)
    check: CheckResult | None = None
    plan: WritePlan = field(default_factory=WritePlan)
    written: Any = None  # toolkit.excel.safe_write.WriteResult; None in a run that had nothing to write
    report_path: Path | None = None

    @property
    def accepted(self) -> list[ReturnCheck]:
        return [f for f in self.files if f.status == ACCEPTED]

    @property
    def rejected(self) -> list[ReturnCheck]:
        return [f for f in self.files if f.status == REJECTED]

    @property
    def conflicts(self) -> list[tuple[ReturnCheck, Conflict]]:
        return [(f, c) for f in self.files if f.status == ACCEPTED for c in f.conflicts]

    @property
    def no_files(self) -> bool:
        """The inbox (with its subfolders) held no file to check: said in ``notes`` as 没有报送文件."""
        return not self.files

    @property
    def needs_attention(self) -> bool:
        """A file was rejected or a conflict waits for staff."""
        return bool(self.rejected or self.conflicts)

    def county(self, name: str) -> CountySubmission | None:
        return next((c for c in self.counties if c.county == name), None)


__all__ = [
    "SUBMITTED",
    "LATE",
    "REJECTED_STATE",
    "MISSING",
    "NOT_REQUIRED",
    "CHANGELOG_COLUMNS",
    "REPORT_DIR_NAME",
    "PERIOD_COLUMN_HEADER",
    "EMPTY_INBOX",
    "NO_FILES_TEXT",
    "STATE_STYLES",
    "SHORT_REASONS",
    "AppliedChange",
    "CountySubmission",
    "ConsolidationResult",
]
