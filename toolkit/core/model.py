"""Ledger records as plain data. No Excel, no Word: every adapter converts to and from these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from toolkit.core.schema import column_letter


@dataclass
class Table:
    """A sheet's cells as read, with the coordinates a person sees in Excel.

    ``rows[i][j]`` is the value at Excel row ``first_row + i`` and column
    ``column_letter(first_col + j)``. Values are str, int, float, bool, date, datetime,
    None, time/timedelta for time-only and duration cells, or :class:`CellError` for Excel error values.
    """

    name: str
    rows: list[list[Any]]
    first_row: int = 1
    first_col: int = 0
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # 1-based r1,c1,r2,c2 (cols 0-based)
    # False when the reader knows that no cell is a CellError (it placed them all and placed none); None: not known.
    has_errors: bool | None = field(default=None, compare=False)

    def excel_row(self, i: int) -> int:
        return self.first_row + i

    def letter(self, j: int) -> str:
        return column_letter(self.first_col + j)

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)


@dataclass(frozen=True)
class CellError:
    """An Excel error value such as #REF! or #VALUE! (a formula that failed)."""

    code: str

    def __str__(self) -> str:
        return self.code


@dataclass(frozen=True, slots=True)
class Deadline:
    """A task deadline: a date, or a standing measure (长期坚持) / immediate one (立行立改)."""

    on: date | None
    kind: str = "date"  # "date" | "long_term" | "invalid" (unreadable text, reported by intake)
    text: str = ""  # what staff typed, for messages

    @property
    def is_long_term(self) -> bool:
        return self.kind == "long_term"


@dataclass
class Settings:
    """基本信息: typed known settings plus anything else staff put there."""

    unit_name: str = ""
    unit_short: str = ""
    party_group: str = ""
    deployer: str = "市委"
    inspection_round: str = ""
    inspection_group: str = ""
    inspection_start: date | None = None
    inspection_end: date | None = None
    feedback_date: date | None = None
    as_of: date | None = None
    warning_days: int = 7
    working_days: bool = True
    long_term_rule: str = "计为已完成"
    notice_date: date | None = None
    public_days: int = 30
    phone: str = ""
    address: str = ""
    email: str = ""
    signature: str = ""
    reminder_signature: str = ""
    notice_stats_sentence: bool = False
    notice_quote_finding: bool = False
    notice_levels: int = 2
    notice_problem_heading: str = "{title}"
    word_done: str = "已完成整改"
    word_open: str = "正在整改"
    word_long_term: str = "长期坚持"
    # House style of the notice and the 督办 letters (schema.NOTICE_STYLE_SETTINGS).
    notice_profile: str = "参考样式"
    basic_done_rule: str = "单列，不计入完成率"
    notice_stats_position: str = "不显示"
    notice_count_measures: bool = False
    notice_measures_label: str = ""
    notice_publish_verb: str = "予以公布"
    notice_title_break: str = ""
    notice_edition: str = "公开版"
    notice_accountability: bool = False
    letter_number_pattern: str = "整改办函〔{year}〕{n}号"
    letter_reply_days: int = 5
    letter_contact: str = ""
    letter_contact_phone: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    cells: dict[str, tuple[int, str]] = field(default_factory=dict)  # key -> (row, column) of its value


@dataclass(slots=True)
class Problem:
    id: str
    category: str
    title: str
    finding: str = ""
    leader: str = ""
    department: str = ""
    row: int = 0
    public: bool = True  # 是否公开 = 否: left out of the public edition of the notice (summarised)


@dataclass(slots=True)
class Task:
    id: str
    problem_id: str
    measure: str
    progress: str = ""
    leader: str = ""
    unit: str = ""
    person: str = ""
    deadline: Deadline | None = None
    extended_deadline: date | None = None
    state: str = ""  # normalised: 未启动/推进中/已完成/长期坚持, "" when blank or unknown
    state_text: str = ""  # what staff typed in 完成情况 (for messages about unknown words)
    completed_on: date | None = None
    evidence: str = ""
    signed_off_on: date | None = None
    signed_off_by: str = ""
    remark: str = ""
    row: int = 0
    public: bool = True  # 是否公开 = 否: left out of the public edition of the notice (summarised)

    @property
    def effective_deadline(self) -> date | None:
        """The deadline in force: the extended one when granted."""
        if self.extended_deadline is not None:
            return self.extended_deadline
        return self.deadline.on if self.deadline else None


@dataclass
class Person:
    name: str
    post: str = ""
    unit: str = ""
    phone: str = ""
    row: int = 0
    full_name: str = ""  # 单位全称 of ``unit`` (主送 of 督办 letters)


@dataclass
class County:
    name: str
    contact: str = ""
    phone: str = ""
    row: int = 0
    full_name: str = ""  # 单位全称 (主送 of 督办 letters)


@dataclass
class NoticeParagraph:
    """Text of the notice that is not per task: section 一 (主体责任) and 三 (下一步)."""

    section: str  # "一" or "三"
    order: int
    lead: str = ""
    text: str = ""
    row: int = 0


@dataclass
class Outcome:
    """One row of 问责与成效: an accountability or outcome count for the notice's sentence."""

    kind: str  # 问责 (people held accountable) or 成效 (rules made, money recovered …)
    item: str  # 政务处分 / 组织处理 / 建立完善制度 / 挽回经济损失 …
    amount: float
    unit: str = ""  # 人 / 项 / 万元
    row: int = 0


@dataclass
class Layout:
    """Where each field sits in each sheet: header row and field → column letter."""

    sheet_names: dict[str, str] = field(default_factory=dict)  # canonical → actual sheet name
    header_rows: dict[str, int] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # canonical sheet → key → letter
    last_rows: dict[str, int] = field(default_factory=dict)
    next_free_column: dict[str, int] = field(default_factory=dict)  # 0-based index right of the used area
    # What intake could not find, structurally (the issues say it in words):
    # required sheets that are absent (canonical names) ...
    missing_sheets: list[str] = field(default_factory=list)
    # ... and, per canonical sheet that is present, the keys of the required columns whose header was not
    # found (every required key when no header row was found at all). Computed columns that depend on
    # them must not be written: see ``toolkit.core.plan.computed_columns_blocked``.
    missing_columns: dict[str, list[str]] = field(default_factory=dict)
    # Rows below the header that intake read as table notes / repeated headers, not records (Excel rows).
    skipped_rows: dict[str, list[int]] = field(default_factory=dict)
    # Which layout the workbook was read in (see toolkit.core.layouts): "three-lists" (问题清单/任务清单/…)
    # or "one-sheet" (problems and their measures on one sheet, problem cells merged/repeated/blank below).
    kind: str = "three-lists"
    # How the layout was recognised, in Chinese, one line each (shown by ``adopt``).
    detection: list[str] = field(default_factory=list)
    # The mapping sheet (台账映射) that overrode detection, when there is one.
    mapping_sheet: str = ""
    # One-sheet ledgers: each recognised field of the one sheet (toolkit.core.layouts.ONE_SHEET_COLUMNS) → letter.
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def one_sheet(self) -> bool:
        return self.kind == "one-sheet"

    def sheet(self, canonical: str) -> str:
        return self.sheet_names.get(canonical, canonical)

    def column(self, canonical: str, key: str) -> str | None:
        return self.columns.get(canonical, {}).get(key)

    def lacks(self, canonical: str, key: str | None = None) -> bool:
        """True when a required sheet is absent, or (with ``key``) its required column ``key`` was not found."""
        if canonical in self.missing_sheets:
            return True
        missing = self.missing_columns.get(canonical, ())
        return bool(missing) if key is None else key in missing


@dataclass
class Ledger:
    """The whole ledger as plain data."""

    settings: Settings = field(default_factory=Settings)
    problems: list[Problem] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    counties: list[County] = field(default_factory=list)
    notice_text: list[NoticeParagraph] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)  # 问责与成效 sheet (optional)
    layout: Layout = field(default_factory=Layout)
    source: str = ""  # file name, for messages

    def categories(self) -> list[str]:
        """Categories in order of first appearance in 问题清单."""
        seen: dict[str, None] = {}
        for p in self.problems:
            seen.setdefault(p.category, None)
        return list(seen)

    def tasks_by_problem(self) -> dict[str, list[Task]]:
        out: dict[str, list[Task]] = {p.id: [] for p in self.problems}
        for t in self.tasks:
            out.setdefault(t.problem_id, []).append(t)
        return out

    def county_names(self) -> set[str]:
        return {c.name for c in self.counties}
