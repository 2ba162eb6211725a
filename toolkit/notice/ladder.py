"""The 督办 ladder: which letter each responsible unit gets, its 文号, and the register (督办记录).

Pure: ledger, statuses and the tables of 督办记录 / 月度进展 in; letters and the register's cells out.

Levels (one letter per unit, at the highest level any of its tasks reaches; the table lists all of
them, and the letter's paragraphs speak only of the kinds the unit actually has):

- 提醒函 — tasks 临期 (deadline within the warning window) or 时限待核 (no readable deadline);
- 督办函 — tasks 逾期;
- 告诫函 — tasks overdue in two consecutive monthly snapshots: overdue now and already overdue at the
  previous month's snapshot (the latest 月度进展 row taken in the previous calendar month). 月度进展 holds only totals per month, so a task's state at that
  snapshot is derived from its deadline in force and the snapshot's 截止日期 (a task open now was open
  then); a task named in a 督办函/告诫函 of the previous month in 督办记录 counts as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from toolkit.core.dates import is_workday
from toolkit.core.model import Ledger, Table
from toolkit.core.plan import CellStyle, CellWrite, SheetPlan
from toolkit.core.schema import SHEET_LETTERS, SHEET_MONTHLY
from toolkit.notice.text import clean_text

REMIND = "提醒函"
SUPERVISE = "督办函"
WARN = "告诫函"
LEVELS = (REMIND, SUPERVISE, WARN)
TITLES = {
    REMIND: "关于加快推进巡察整改任务的提醒函",
    SUPERVISE: "关于督促办理逾期巡察整改任务的督办函",
    WARN: "关于巡察整改任务连续逾期的告诫函",
}
REGISTER_COLUMNS = ("文号", "印发日期", "类别", "责任单位", "主送", "任务编号", "逾期任务数", "临期任务数", "回复期限", "文件")
REPEATED = "overdue_repeated"  # task code used in letters for 连续两个月逾期


@dataclass(frozen=True)
class RegisterEntry:
    """One row of 督办记录: a letter issued."""

    number: str
    issued: date | None
    kind: str
    unit: str
    addressee: str
    tasks: tuple[str, ...]
    overdue: int = 0
    due_soon: int = 0
    reply_by: date | None = None
    file: str = ""

    def cells(self) -> list[Any]:
        return [self.number, self.issued, self.kind, self.unit, self.addressee, "、".join(self.tasks), self.overdue,
                self.due_soon, self.reply_by, self.file]


def _day(v: Any) -> date | None:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    m = re.fullmatch(r"\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?\s*", clean_text(v))
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return None


def _int(v: Any) -> int:
    try:
        return int(float(clean_text(v) or 0))
    except ValueError:
        return 0


def read_register(table: Table | None) -> list[RegisterEntry]:
    """督办记录 as entries (header in its first row, found by the column titles; blank rows skipped)."""
    if table is None or not table.rows:
        return []
    header = [clean_text(v) for v in table.rows[0]]
    col = {name: header.index(name) for name in REGISTER_COLUMNS if name in header}

    def get(row: list[Any], name: str) -> Any:
        j = col.get(name)
        return row[j] if j is not None and j < len(row) else None

    out = []
    for row in table.rows[1:]:
        if not any(v not in (None, "") for v in row):
            continue
        tasks = tuple(x for x in re.split(r"[、，,；;\s]+", clean_text(get(row, "任务编号"))) if x)
        out.append(RegisterEntry(clean_text(get(row, "文号")), _day(get(row, "印发日期")), clean_text(get(row, "类别")),
                                 clean_text(get(row, "责任单位")), clean_text(get(row, "主送")), tasks,
                                 _int(get(row, "逾期任务数")), _int(get(row, "临期任务数")), _day(get(row, "回复期限")),
                                 clean_text(get(row, "文件"))))
    return out


def _month_key(v: Any) -> str | None:
    if isinstance(v, (date, datetime)):
        return f"{v.year:04d}-{v.month:02d}"
    m = re.fullmatch(r"\s*(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:月(?:份)?)?\s*", clean_text(v))
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}" if m and 1 <= int(m.group(2)) <= 12 else None


def previous_month(day: date) -> str:
    first = day.replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def previous_snapshot(monthly: Table | None, today: date) -> date | None:
    """The 截止日期 of the latest 月度进展 snapshot taken in the calendar month before ``today`` (None when none).

    A snapshot is a 月度进展 row: its month (the report period) and its 截止日期 (when the figures were
    taken; a row without one counts as its month's last day). What counts is when it was taken, not its
    report period: the snapshot written by this month's own consolidation (period = last month, taken
    this month) is not the previous snapshot, so a first cycle never issues 告诫函.
    """
    if monthly is None:
        return None
    found: date | None = None
    for i, row in enumerate(monthly.rows):
        if monthly.excel_row(i) < 2 or not row:
            continue
        key = _month_key(row[0])
        if key is None:
            continue
        taken = _day(row[1]) if len(row) > 1 else None
        if taken is None:  # a month without its date: the month's last day
            y, m = int(key[:4]), int(key[5:])
            taken = (date(y + (m == 12), m % 12 + 1, 1)) - timedelta(days=1)
        month_start = today.replace(day=1)
        previous_start = (month_start - timedelta(days=1)).replace(day=1)
        if previous_start <= taken < month_start and (found is None or taken > found):
            found = taken
    return found


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (official calendar with 调休; Mon–Fri outside its years)."""
    d, left = start, max(days, 0)
    while left:
        d += timedelta(days=1)
        if is_workday(d)[0]:
            left -= 1
    return d


def _pattern_regex(pattern: str, year: int) -> re.Pattern[str] | None:
    if "{n}" not in pattern:
        return None
    parts = re.split(r"(\{n\}|\{year\})", pattern)
    rx = "".join(r"(\d+)" if p == "{n}" else str(year) if p == "{year}" else re.escape(p) for p in parts)
    return re.compile(rf"^{rx}$")


def next_numbers(pattern: str, register: list[RegisterEntry], today: date, count: int) -> list[str]:
    """``count`` 文号 continuing this year's sequence in 督办记录 (highest number found + 1, …)."""
    pattern = clean_text(pattern) or "整改办函〔{year}〕{n}号"
    rx = _pattern_regex(pattern, today.year)
    used = [int(m.group(1)) for e in register if rx and (m := rx.match(e.number))]
    if not used:  # numbers written another way: count this year's letters
        used = [len([e for e in register if e.issued and e.issued.year == today.year])]
    start = max(used) + 1 if used else 1
    out = []
    for n in range(start, start + count):
        try:
            out.append(pattern.format(year=today.year, n=n))
        except (KeyError, IndexError, ValueError):
            out.append(f"{pattern}{n}号")
    return out


def addressee_of(ledger: Ledger, unit: str) -> tuple[str, bool]:
    """主送: the 单位全称 given for ``unit`` in 县区 or 责任清单; the unit itself (and False) when none is."""
    for c in ledger.counties:
        if clean_text(c.name) == unit and clean_text(c.full_name):
            return clean_text(c.full_name), True
    for p in ledger.people:
        if clean_text(p.unit) == unit and clean_text(p.full_name):
            return clean_text(p.full_name), True
    return unit, False


@dataclass
class LetterPlan:
    """One letter: level, unit, the tasks (task, status, code) and its place in the register."""

    level: str
    unit: str
    addressee: str
    items: list[tuple[Any, Any, str]]  # (Task, TaskStatus, code: overdue_repeated/overdue/due_soon/deadline_unclear)
    number: str = ""
    reply_by: date | None = None
    previous: list[str] = field(default_factory=list)  # 文号 of earlier letters to this unit naming these tasks
    named_in_full: bool = True  # 主送 found as 单位全称

    def count(self, *codes: str) -> int:
        return sum(code in codes for _, _, code in self.items)


def plan_letters(
    ledger: Ledger,
    status,
    *,
    today: date,
    register: list[RegisterEntry],
    monthly: Table | None,
) -> list[LetterPlan]:
    """The letters due on ``today``, one per unit, in ledger order of the units, numbered in sequence."""
    snapshot = previous_snapshot(monthly, today)
    last_month = previous_month(today)
    escalated_before = {
        t for e in register
        if e.kind in (SUPERVISE, WARN) and e.issued and f"{e.issued.year:04d}-{e.issued.month:02d}" == last_month
        for t in e.tasks
    }
    by_unit: dict[str, list[tuple[Any, Any, str]]] = {}
    for task in ledger.tasks:
        ts = status.of(task)
        unit = clean_text(task.unit)
        if ts is None or not unit or ts.code not in ("overdue", "due_soon", "deadline_unclear"):
            continue
        code = ts.code
        if code == "overdue" and (
            (snapshot is not None and ts.deadline is not None and ts.deadline < snapshot) or task.id in escalated_before
        ):
            code = REPEATED
        by_unit.setdefault(unit, []).append((task, ts, code))
    order = {REPEATED: 0, "overdue": 1, "due_soon": 2, "deadline_unclear": 3}
    letters = []
    for unit, items in by_unit.items():
        items.sort(key=lambda it: (order[it[2]], -it[1].days_overdue, it[1].days_left or 0))
        codes = {c for _, _, c in items}
        level = WARN if REPEATED in codes else SUPERVISE if "overdue" in codes else REMIND
        addressee, found = addressee_of(ledger, unit)
        ids = {t.id for t, _, _ in items}
        previous = [e.number for e in register if e.unit == unit and ids & set(e.tasks) and e.number]
        letters.append(LetterPlan(level, unit, addressee, items, previous=previous, named_in_full=found))
    numbers = next_numbers(ledger.settings.letter_number_pattern, register, today, len(letters))
    reply_by = add_working_days(today, ledger.settings.letter_reply_days)
    for letter, number in zip(letters, numbers, strict=True):
        letter.number, letter.reply_by = number, reply_by
    return letters


def register_plan(register: list[RegisterEntry], new: list[RegisterEntry]) -> SheetPlan:
    """督办记录 rewritten: every earlier letter as read, then the new ones (one row each)."""
    head = CellStyle(bold=True, fill="D9E1F2", align="center")
    day = CellStyle(num_format="yyyy-mm-dd")
    cells = [CellWrite(1, chr(65 + j), h, head) for j, h in enumerate(REGISTER_COLUMNS)]
    for r, entry in enumerate([*register, *new], start=2):
        for j, v in enumerate(entry.cells()):
            cells.append(CellWrite(r, chr(65 + j), v, day if isinstance(v, date) else None))
    widths = {"A": 22, "B": 12, "C": 8, "D": 14, "E": 24, "F": 30, "G": 10, "H": 10, "I": 12, "J": 30}
    return SheetPlan(SHEET_LETTERS, cells, owned_sheet=True, clear_from_row=1, column_widths=widths)


__all__ = [
    "LEVELS",
    "LetterPlan",
    "REMIND",
    "RegisterEntry",
    "SHEET_LETTERS",
    "SHEET_MONTHLY",
    "SUPERVISE",
    "TITLES",
    "WARN",
    "add_working_days",
    "addressee_of",
    "next_numbers",
    "plan_letters",
    "read_register",
    "register_plan",
]
