"""Status engine: what is done, on track, due soon or overdue — pure functions, ``today`` passed in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from toolkit.core.dates import working_days_until
from toolkit.core.model import Ledger, Settings, Task
from toolkit.core.schema import LONG_TERM_AS_OPEN, LONG_TERM_EXCLUDED, STATE_DONE, STATE_LONG_TERM

ON_TRACK = "on_track"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
DONE_ON_TIME = "done_on_time"
DONE_LATE = "done_late"
SIGNED_OFF = "signed_off"
LONG_TERM = "long_term"

LABELS = {
    ON_TRACK: "按期推进",
    DUE_SOON: "临期",
    OVERDUE: "逾期",
    DONE_ON_TIME: "按期完成",
    DONE_LATE: "逾期完成",
    SIGNED_OFF: "已销号",
    LONG_TERM: "长期坚持",
}
DONE_CODES = frozenset({DONE_ON_TIME, DONE_LATE, SIGNED_OFF})
OPEN_CODES = frozenset({ON_TRACK, DUE_SOON, OVERDUE})

# Colours staff see (fill, font): supervision practice — red overdue, yellow near deadline.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    ON_TRACK: ("DDEBF7", "1F4E79"),
    DUE_SOON: ("FFEB9C", "9C5700"),
    OVERDUE: ("FFC7CE", "9C0006"),
    DONE_ON_TIME: ("C6EFCE", "006100"),
    DONE_LATE: ("F8CBAD", "833C0B"),
    SIGNED_OFF: ("A9D08E", "375623"),
    LONG_TERM: ("E4DFEC", "5B2C6F"),
}

P_DONE = "done"
P_OPEN = "open"
P_DUE_SOON = "due_soon"
P_OVERDUE = "overdue"
P_LONG_TERM = "long_term"
PROBLEM_LABELS = {
    P_DONE: "已完成",
    P_OPEN: "正在整改",
    P_DUE_SOON: "临期",
    P_OVERDUE: "逾期",
    P_LONG_TERM: "长期坚持",
}


@dataclass(frozen=True)
class TaskStatus:
    task_id: str
    code: str
    label: str
    days_overdue: int = 0  # overdue: days past the deadline; done late: days late
    deadline: date | None = None  # the deadline in force (extended when granted)
    days_left: int | None = None  # open tasks: days (working days when so set) until the deadline
    calendar_exact: bool = True  # False when working days fell back to Mon–Fri (year unknown)

    @property
    def is_done(self) -> bool:
        return self.code in DONE_CODES

    @property
    def is_open(self) -> bool:
        return self.code in OPEN_CODES


@dataclass(frozen=True)
class ProblemStatus:
    problem_id: str
    code: str
    label: str
    done_tasks: int
    total_tasks: int
    overdue_tasks: int = 0


@dataclass
class Counts:
    """Tallies for one group of tasks (or problems)."""

    total: int = 0
    done: int = 0
    done_late: int = 0
    signed_off: int = 0
    open: int = 0
    on_track: int = 0
    due_soon: int = 0
    overdue: int = 0
    long_term: int = 0
    rate: float | None = None  # completion rate by the ledger's rule for 长期坚持

    def add(self, code: str) -> None:
        self.total += 1
        if code in DONE_CODES:
            self.done += 1
            self.done_late += code == DONE_LATE
            self.signed_off += code == SIGNED_OFF
        elif code == LONG_TERM:
            self.long_term += 1
        else:
            self.open += 1
            self.on_track += code == ON_TRACK
            self.due_soon += code == DUE_SOON
            self.overdue += code == OVERDUE

    def finish(self, rule: str) -> Counts:
        self.rate = completion_rate(self.done, self.long_term, self.total, rule)
        return self


def completion_rate(done: int, long_term: int, total: int, rule: str) -> float | None:
    """已完成 / 总数, counting 长期坚持 as the ledger's 基本信息 says."""
    if rule == LONG_TERM_EXCLUDED:
        denominator, numerator = total - long_term, done
    elif rule == LONG_TERM_AS_OPEN:
        denominator, numerator = total, done
    else:  # LONG_TERM_AS_DONE
        denominator, numerator = total, done + long_term
    return numerator / denominator if denominator else None


@dataclass
class Stats:
    overall: Counts = field(default_factory=Counts)
    problems_overall: Counts = field(default_factory=Counts)
    by_category: dict[str, Counts] = field(default_factory=dict)
    by_unit: dict[str, Counts] = field(default_factory=dict)
    by_county: dict[str, Counts] = field(default_factory=dict)
    overdue: list[str] = field(default_factory=list)  # task ids, most overdue first
    due_soon: list[str] = field(default_factory=list)


@dataclass
class LedgerStatus:
    today: date
    tasks: dict[str, TaskStatus] = field(default_factory=dict)
    problems: dict[str, ProblemStatus] = field(default_factory=dict)
    stats: Stats = field(default_factory=Stats)


def task_status(task: Task, *, today: date, settings: Settings) -> TaskStatus:
    """Status of one task on ``today``."""
    deadline = task.effective_deadline
    if task.state == STATE_DONE:
        if task.signed_off_on is not None:
            code = SIGNED_OFF
        elif deadline and task.completed_on and task.completed_on > deadline:
            code = DONE_LATE
        else:
            code = DONE_ON_TIME
        late = (task.completed_on - deadline).days if deadline and task.completed_on else 0
        return TaskStatus(task.id, code, LABELS[code], max(late, 0), deadline)
    long_term = task.state == STATE_LONG_TERM or (
        task.deadline is not None and task.deadline.is_long_term and task.extended_deadline is None
    )
    if long_term:
        return TaskStatus(task.id, LONG_TERM, LABELS[LONG_TERM], 0, None)
    if deadline is None:
        # No usable deadline (a validation error says so): cannot be late, shown as on track.
        return TaskStatus(task.id, ON_TRACK, LABELS[ON_TRACK], 0, None)
    if today > deadline:
        return TaskStatus(task.id, OVERDUE, LABELS[OVERDUE], (today - deadline).days, deadline, -(today - deadline).days)
    exact = True
    if settings.working_days:
        left, exact = working_days_until(today, deadline)
    else:
        left = (deadline - today).days
    code = DUE_SOON if left <= settings.warning_days else ON_TRACK
    return TaskStatus(task.id, code, LABELS[code], 0, deadline, left, exact)


def problem_status(problem_id: str, statuses: Iterable[TaskStatus]) -> ProblemStatus:
    """Roll-up: done when every measure is done; overdue if any is; long-term if only those remain."""
    sts = list(statuses)
    done = sum(s.is_done for s in sts)
    overdue = sum(s.code == OVERDUE for s in sts)
    if not sts:
        code = P_OPEN
    elif done == len(sts):
        code = P_DONE
    elif overdue:
        code = P_OVERDUE
    elif any(s.code == DUE_SOON for s in sts):
        code = P_DUE_SOON
    elif all(s.is_done or s.code == LONG_TERM for s in sts):
        code = P_LONG_TERM
    else:
        code = P_OPEN
    return ProblemStatus(problem_id, code, PROBLEM_LABELS[code], done, len(sts), overdue)


def problem_count_code(status: ProblemStatus) -> str:
    """How a problem is tallied: done / long_term / open (due soon and overdue are open)."""
    if status.code == P_DONE:
        return DONE_ON_TIME
    if status.code == P_LONG_TERM:
        return LONG_TERM
    return OVERDUE if status.code == P_OVERDUE else ON_TRACK


def evaluate_ledger(ledger: Ledger, *, today: date) -> LedgerStatus:
    """Statuses of every task and problem plus statistics by category, unit and county."""
    settings = ledger.settings
    rule = settings.long_term_rule
    result = LedgerStatus(today=today)
    for t in ledger.tasks:
        result.tasks.setdefault(t.id, task_status(t, today=today, settings=settings))
    by_problem: dict[str, list[TaskStatus]] = {p.id: [] for p in ledger.problems}
    for t in ledger.tasks:
        if t.problem_id in by_problem:
            by_problem[t.problem_id].append(result.tasks[t.id])
    for pid, sts in by_problem.items():
        result.problems[pid] = problem_status(pid, sts)

    stats = result.stats
    category_of = {p.id: p.category for p in ledger.problems}
    for c in ledger.categories():
        stats.by_category[c] = Counts()
    counties = ledger.county_names()
    for c in ledger.counties:
        stats.by_county[c.name] = Counts()
    for t in ledger.tasks:
        code = result.tasks[t.id].code
        stats.overall.add(code)
        if t.problem_id in category_of:
            stats.by_category[category_of[t.problem_id]].add(code)
        if t.unit:
            stats.by_unit.setdefault(t.unit, Counts()).add(code)
            if t.unit in counties:
                stats.by_county[t.unit].add(code)
    for ps in result.problems.values():
        stats.problems_overall.add(problem_count_code(ps))
    for counts in (stats.overall, stats.problems_overall, *stats.by_category.values(),
                   *stats.by_unit.values(), *stats.by_county.values()):
        counts.finish(rule)
    open_sts = [s for s in result.tasks.values() if s.is_open]
    stats.overdue = [s.task_id for s in sorted(open_sts, key=lambda s: -s.days_overdue) if s.code == OVERDUE]
    stats.due_soon = [s.task_id for s in sorted(open_sts, key=lambda s: s.days_left or 0) if s.code == DUE_SOON]
    return result
