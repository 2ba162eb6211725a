"""Status engine: what is done, on track, due soon or overdue — pure functions, ``today`` passed in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from toolkit.core.dates import working_days_until
from toolkit.core.model import Ledger, Settings, Task
from toolkit.core.schema import (
    BASIC_DONE_AS_DONE,
    BASIC_DONE_SEPARATE,
    LONG_TERM_AS_OPEN,
    LONG_TERM_EXCLUDED,
    STATE_BASIC_DONE,
    STATE_DONE,
    STATE_LONG_TERM,
    STATE_NOT_STARTED,
)

ON_TRACK = "on_track"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
DONE_ON_TIME = "done_on_time"
DONE_LATE = "done_late"
SIGNED_OFF = "signed_off"
LONG_TERM = "long_term"
DEADLINE_UNCLEAR = "deadline_unclear"  # open, but its deadline is missing or cannot be read
BASIC_DONE = "basic_done"  # 基本完成: substantially done, counted on its own (never overdue)

LABELS = {
    ON_TRACK: "按期推进",
    DUE_SOON: "临期",
    OVERDUE: "逾期",
    DONE_ON_TIME: "按期完成",
    DONE_LATE: "逾期完成",
    SIGNED_OFF: "已销号",
    LONG_TERM: "长期坚持",
    DEADLINE_UNCLEAR: "时限待核",
    BASIC_DONE: "基本完成",
}
DONE_CODES = frozenset({DONE_ON_TIME, DONE_LATE, SIGNED_OFF})
OPEN_CODES = frozenset({ON_TRACK, DUE_SOON, OVERDUE, DEADLINE_UNCLEAR})

# Colours staff see (fill, font): supervision practice — red overdue, yellow near deadline.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    ON_TRACK: ("DDEBF7", "1F4E79"),
    DUE_SOON: ("FFEB9C", "9C5700"),
    OVERDUE: ("FFC7CE", "9C0006"),
    DONE_ON_TIME: ("C6EFCE", "006100"),
    DONE_LATE: ("F8CBAD", "833C0B"),
    SIGNED_OFF: ("A9D08E", "375623"),
    LONG_TERM: ("E4DFEC", "5B2C6F"),
    DEADLINE_UNCLEAR: ("FCE4D6", "843C0C"),
    BASIC_DONE: ("E2EFDA", "375623"),
}

P_DONE = "done"
P_OPEN = "open"
P_DUE_SOON = "due_soon"
P_OVERDUE = "overdue"
P_LONG_TERM = "long_term"
P_UNCLEAR = "deadline_unclear"
P_BASIC_DONE = "basic_done"
PROBLEM_LABELS = {
    P_DONE: "已完成",
    P_OPEN: "正在整改",
    P_DUE_SOON: "临期",
    P_OVERDUE: "逾期",
    P_LONG_TERM: "长期坚持",
    P_UNCLEAR: "时限待核",
    P_BASIC_DONE: "基本完成",
}
# How a problem is tallied in 统计 (the task code whose column it falls in): the problem's own
# label decides, so 问题清单 and 统计 always show the same words.
PROBLEM_COUNT_CODES = {
    P_DONE: DONE_ON_TIME,
    P_OPEN: ON_TRACK,
    P_DUE_SOON: DUE_SOON,
    P_OVERDUE: OVERDUE,
    P_LONG_TERM: LONG_TERM,
    P_UNCLEAR: DEADLINE_UNCLEAR,
    P_BASIC_DONE: BASIC_DONE,
}
# Colour of a problem status in 问题清单: that of the task status it is counted as.
PROBLEM_COLOURS = {code: STATUS_COLOURS[task_code] for code, task_code in PROBLEM_COUNT_CODES.items()}


@dataclass(frozen=True, slots=True)
class TaskStatus:
    task_id: str
    code: str
    label: str
    days_overdue: int = 0  # overdue: days past the deadline; done late: days late
    deadline: date | None = None  # the deadline in force (extended when granted)
    days_left: int | None = None  # open tasks: calendar days until the deadline (negative when overdue)
    calendar_exact: bool = True  # False when working days fell back to Mon–Fri (year unknown)
    working_days_left: int | None = None  # open tasks when 预警按工作日计算=是: decides 临期 only
    key: str = ""  # unique per task row (the id; "id#2", "id#3" … for later rows repeating an id)

    @property
    def is_done(self) -> bool:
        return self.code in DONE_CODES

    @property
    def is_open(self) -> bool:
        return self.code in OPEN_CODES


def _slot_constructor(cls: type) -> Callable[..., Any]:
    """A constructor for a frozen slots dataclass taking every field positionally: it sets the slots directly
    (the generated ``__init__`` goes through ``object.__setattr__`` per field, twice the cost). The object is
    the one ``cls(*values)`` makes (a test compares them). Written out as source, as dataclasses writes its own
    ``__init__``: a loop over the fields would cost what it saves."""
    names = [f.name for f in fields(cls)]
    namespace: dict[str, Any] = {f"_set_{n}": cls.__dict__[n].__set__ for n in names}
    namespace.update(_new=object.__new__, _cls=cls)
    source = (f"def make({', '.join(names)}):\n    obj = _new(_cls)\n"
              + "".join(f"    _set_{n}(obj, {n})\n" for n in names) + "    return obj\n")
    exec(source, namespace)  # noqa: S102 - source built above from the dataclass's own field names
    return namespace["make"]


_new_status: Callable[..., TaskStatus] = _slot_constructor(TaskStatus)
"""TaskStatus(task_id, code, label, days_overdue, deadline, days_left, calendar_exact, working_days_left, key)."""


@dataclass(frozen=True, slots=True)
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
    unclear: int = 0  # 时限待核: open, deadline missing or unreadable (part of ``open``)
    rate: float | None = None  # completion rate by the ledger's rule for 长期坚持 (and 基本完成)
    basic_done: int = 0  # 基本完成: neither done nor open; in the rate's numerator only by 基本完成计入方式

    def add(self, code: str, n: int = 1) -> None:
        """Count ``n`` tasks (or problems) of status ``code``."""
        self.total += n
        if code == BASIC_DONE:
            self.basic_done += n
        elif code in DONE_CODES:
            self.done += n
            self.done_late += n * (code == DONE_LATE)
            self.signed_off += n * (code == SIGNED_OFF)
        elif code == LONG_TERM:
            self.long_term += n
        else:
            self.open += n
            self.on_track += n * (code == ON_TRACK)
            self.due_soon += n * (code == DUE_SOON)
            self.overdue += n * (code == OVERDUE)
            self.unclear += n * (code == DEADLINE_UNCLEAR)

    def parts_add_up(self) -> bool:
        """total = done + basic_done + open + long_term and open = on_track + due_soon + overdue + unclear."""
        return (self.total == self.done + self.basic_done + self.open + self.long_term
                and self.open == self.on_track + self.due_soon + self.overdue + self.unclear)

    def finish(self, rule: str, basic_rule: str = BASIC_DONE_SEPARATE) -> Counts:
        done = self.done + (self.basic_done if basic_rule == BASIC_DONE_AS_DONE else 0)
        self.rate = completion_rate(done, self.long_term, self.total, rule)
        return self


def completion_rate(done: int, long_term: int, total: int, rule: str) -> float | None:
    """已完成 / 总数, counting 长期坚持 as the ledger's 基本信息 says.

    ``done`` already holds the 基本完成 count when 基本完成计入方式 is 计为已完成 (see :meth:`Counts.finish`);
    otherwise 基本完成 stays in the denominator only (688 done of 697 → 98.71%).
    """
    if rule == LONG_TERM_EXCLUDED:
        denominator, numerator = total - long_term, done
    elif rule == LONG_TERM_AS_OPEN:
        denominator, numerator = total, done
    else:  # LONG_TERM_AS_DONE
        denominator, numerator = total, done + long_term
    return numerator / denominator if denominator else None


UNLINKED_CATEGORY = "（问题编号不在问题清单中）"  # 统计 group of tasks whose problem is unknown
NO_UNIT = "（未填写责任单位）"  # 统计 group of tasks without a unit


@dataclass
class Stats:
    overall: Counts = field(default_factory=Counts)
    problems_overall: Counts = field(default_factory=Counts)
    by_category: dict[str, Counts] = field(default_factory=dict)
    by_unit: dict[str, Counts] = field(default_factory=dict)
    by_county: dict[str, Counts] = field(default_factory=dict)
    overdue: list[str] = field(default_factory=list)  # task row keys, most overdue first
    due_soon: list[str] = field(default_factory=list)  # task row keys, nearest deadline first
    unclear: list[str] = field(default_factory=list)  # task row keys of 时限待核 tasks, in ledger order


@dataclass
class LedgerStatus:
    """Statuses of one ledger on ``today``: one per task ROW (repeated ids included).

    ``tasks`` maps each row's key (:func:`task_keys`) to its status; ``rows`` lists them in
    ledger order. Look a task up with :meth:`of`, never by ``tasks[task.id]`` (a repeated id
    would give the first row's status).
    """

    today: date
    tasks: dict[str, TaskStatus] = field(default_factory=dict)
    problems: dict[str, ProblemStatus] = field(default_factory=dict)
    stats: Stats = field(default_factory=Stats)
    rows: list[TaskStatus] = field(default_factory=list)
    problem_rows: list[ProblemStatus] = field(default_factory=list)  # one per 问题清单 row
    task_by_key: dict[str, Task] = field(default_factory=dict, repr=False)
    _index: dict[int, int] = field(default_factory=dict, repr=False)  # id(task) → position in rows

    def of(self, task: Task) -> TaskStatus | None:
        """The status of this task row (by identity; a copied task falls back to its id)."""
        i = self._index.get(id(task))
        if i is not None and self.task_by_key.get(self.rows[i].key) is task:
            return self.rows[i]
        return self.tasks.get(task.id)


def task_keys(tasks: Iterable[Task]) -> list[str]:
    """A unique key per task row: its id, or ``id#n`` for the n-th row repeating that id."""
    ids = [t.id for t in tasks]
    if len(set(ids)) == len(ids):
        return ids  # every id once (the usual ledger): each key is the id itself
    seen: dict[str, int] = {}
    keys = []
    for tid in ids:
        n = seen[tid] = seen.get(tid, 0) + 1
        keys.append(tid if n == 1 else f"{tid}#{n}")
    return keys


def is_not_started(task: Task) -> bool:
    """完成情况 says work has not begun (未启动, or blank/unreadable, which validation reports)."""
    return task.state in (STATE_NOT_STARTED, "")


def task_status(task: Task, *, today: date, settings: Settings, key: str = "") -> TaskStatus:
    """Status of one task on ``today``.

    Rules (docs/rules/deadlines-and-statuses.md):
    - 已完成: 已销号 when signed off, 逾期完成 when completed after the deadline in force, else 按期完成.
    - 长期坚持: 完成情况 长期坚持, or deadline 长期 (no extension) once work has started — a 未启动
      task with deadline 长期 stays open (按期推进, counted as 正在推进) and a warning says so.
    - open with no readable deadline → 时限待核 (never 按期推进).
    - open: 逾期 after the deadline; 临期 when the days left (working days when 预警按工作日计算=是)
      are at most 临期预警天数; else 按期推进. ``days_left`` is always calendar days.
    """
    return _task_status(task, today, settings.working_days, settings.warning_days, key)


def _task_status(task: Task, today: date, working_days: bool, warning_days: int, key: str) -> TaskStatus:
    """:func:`task_status` with the two settings it reads passed in (called once per task row)."""
    state = task.state
    extended = task.extended_deadline
    given = task.deadline
    deadline = extended if extended is not None else (given.on if given else None)  # Task.effective_deadline
    if state == STATE_DONE:
        completed = task.completed_on
        if task.signed_off_on is not None:
            code = SIGNED_OFF
        elif deadline and completed and completed > deadline:
            code = DONE_LATE
        else:
            code = DONE_ON_TIME
        late = (completed - deadline).days if deadline and completed else 0
        return _new_status(task.id, code, LABELS[code], max(late, 0), deadline, None, True, None, key)
    if state == STATE_BASIC_DONE:
        return _new_status(task.id, BASIC_DONE, LABELS[BASIC_DONE], 0, deadline, None, True, None, key)
    long_term_deadline = given is not None and given.kind == "long_term" and extended is None
    if state == STATE_LONG_TERM or (long_term_deadline and not is_not_started(task)):
        return _new_status(task.id, LONG_TERM, LABELS[LONG_TERM], 0, None, None, True, None, key)
    if long_term_deadline:
        # 长期 typed as the deadline of work not yet started: open, nothing to count down to.
        return _new_status(task.id, ON_TRACK, LABELS[ON_TRACK], 0, None, None, True, None, key)
    if deadline is None:
        # No readable deadline (a validation error says so): neither on track nor late.
        return _new_status(task.id, DEADLINE_UNCLEAR, LABELS[DEADLINE_UNCLEAR], 0, None, None, True, None, key)
    left = (deadline - today).days
    if left < 0:
        return _new_status(task.id, OVERDUE, LABELS[OVERDUE], -left, deadline, left, True, None, key)
    exact, work_left = True, None
    if working_days:
        work_left, exact = working_days_until(today, deadline)
    window = work_left if work_left is not None else left
    code = DUE_SOON if window <= warning_days else ON_TRACK
    return _new_status(task.id, code, LABELS[code], 0, deadline, left, exact, work_left, key)


def due_in_text(st: TaskStatus) -> str | None:
    """The one days-left text shown everywhere (【自动】距到期, CLI, 提醒函).

    Calendar days: 已逾期N天 / 今天到期 / 剩N天; None for tasks without a countdown.
    """
    if st.code == OVERDUE:
        return f"已逾期{st.days_overdue}天"
    if st.code in (ON_TRACK, DUE_SOON) and st.days_left is not None:
        return "今天到期" if st.days_left == 0 else f"剩{st.days_left}天"
    return None


def problem_status(problem_id: str, statuses: Iterable[TaskStatus]) -> ProblemStatus:
    """Roll-up, first rule that applies: no measures → 正在整改; all done → 已完成; any overdue → 逾期;
    any 临期 → 临期; any 时限待核 → 时限待核; only done and long-term → 长期坚持; only done, long-term and
    基本完成 (at least one) → 基本完成; else 正在整改."""
    return _problem_status(problem_id, [s.code for s in statuses])


def _problem_status(problem_id: str, codes: list[str]) -> ProblemStatus:
    """:func:`problem_status` from the codes of the problem's task statuses."""
    n = len(codes)
    done = codes.count(DONE_ON_TIME) + codes.count(DONE_LATE) + codes.count(SIGNED_OFF)
    overdue = codes.count(OVERDUE)
    if not n:
        code = P_OPEN
    elif done == n:
        code = P_DONE
    elif overdue:
        code = P_OVERDUE
    elif DUE_SOON in codes:
        code = P_DUE_SOON
    elif DEADLINE_UNCLEAR in codes:
        code = P_UNCLEAR
    elif done + codes.count(LONG_TERM) == n:
        code = P_LONG_TERM
    elif done + codes.count(LONG_TERM) + codes.count(BASIC_DONE) == n:
        code = P_BASIC_DONE
    else:
        code = P_OPEN
    return _new_problem_status(problem_id, code, PROBLEM_LABELS[code], done, n, overdue)


_new_problem_status: Callable[..., ProblemStatus] = _slot_constructor(ProblemStatus)
"""ProblemStatus(problem_id, code, label, done_tasks, total_tasks, overdue_tasks), every field given."""


def problem_count_code(status: ProblemStatus) -> str:
    """How a problem is tallied in 统计: the column matching its own label (临期 counts as 临期)."""
    return PROBLEM_COUNT_CODES[status.code]


def evaluate_ledger(ledger: Ledger, *, today: date) -> LedgerStatus:
    """Statuses of every task row and problem plus statistics by category, unit and county.

    Every figure counts rows: a repeated id is two rows, two statuses, two counts (and a
    validation error at the cell).
    """
    settings = ledger.settings
    rule, basic_rule = settings.long_term_rule, settings.basic_done_rule
    result = LedgerStatus(today=today)
    tasks = ledger.tasks
    keys = task_keys(tasks)
    working, warning = settings.working_days, settings.warning_days
    rows = result.rows = [_task_status(t, today, working, warning, key) for t, key in zip(tasks, keys)]
    # As if filled row by row: a later row's key or task object replaces an earlier one's.
    result.tasks = dict(zip(keys, rows))
    result.task_by_key = dict(zip(keys, tasks))
    result._index = {id(t): i for i, t in enumerate(tasks)}
    codes_of: dict[str, list[str]] = {p.id: [] for p in ledger.problems}
    for t, st in zip(tasks, rows):
        codes = codes_of.get(t.problem_id)
        if codes is not None:
            codes.append(st.code)
    for p in ledger.problems:
        ps = _problem_status(p.id, codes_of[p.id])
        result.problem_rows.append(ps)
        result.problems.setdefault(p.id, ps)

    stats = result.stats
    category_of: dict[str, str] = {}
    for p in ledger.problems:
        category_of.setdefault(p.id, p.category)
    for c in ledger.categories():
        stats.by_category[c] = Counts()
    counties = ledger.county_names()
    for c in ledger.counties:
        stats.by_county.setdefault(c.name, Counts())
    # One tally per (category, unit, status), in order of first appearance, then added group by group:
    # the same counts and the same order of categories and units as adding task by task.
    tally = Counter((category_of.get(t.problem_id, UNLINKED_CATEGORY), t.unit, st.code)
                    for t, st in zip(ledger.tasks, result.rows))
    for (category, unit, code), n in tally.items():
        stats.overall.add(code, n)
        stats.by_category.setdefault(category, Counts()).add(code, n)
        stats.by_unit.setdefault(unit or NO_UNIT, Counts()).add(code, n)
        if unit and unit in counties:
            stats.by_county[unit].add(code, n)
    for code, n in Counter(problem_count_code(ps) for ps in result.problem_rows).items():
        stats.problems_overall.add(code, n)
    for counts in (stats.overall, stats.problems_overall, *stats.by_category.values(),
                   *stats.by_unit.values(), *stats.by_county.values()):
        counts.finish(rule, basic_rule)
    rows = result.rows
    stats.overdue = [s.key for s in sorted((s for s in rows if s.code == OVERDUE), key=lambda s: -s.days_overdue)]
    stats.due_soon = [s.key for s in sorted((s for s in rows if s.code == DUE_SOON), key=lambda s: s.days_left or 0)]
    stats.unclear = [s.key for s in rows if s.code == DEADLINE_UNCLEAR]
    return result
