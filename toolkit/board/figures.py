"""The one place the board reads the core's statuses and statistics.

Every figure the board shows that the ledger itself defines (counts, completion rates, the
overdue and due-soon lists) comes from :mod:`toolkit.core.status` through these functions, read
by attribute name and defensively: when the status engine gains a status or a field, only this
module needs to learn it. Pure: imports the core only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from toolkit.core import status as st
from toolkit.core.check import CheckResult

# Fields of toolkit.core.status.Counts shown on the board (missing ones read as 0).
COUNT_FIELDS = ("total", "done", "done_late", "signed_off", "open", "on_track", "due_soon", "overdue", "long_term")

# Status codes in the order the board lists them; codes the engine adds later follow in LABELS order.
_KNOWN_ORDER = ("overdue", "due_soon", "on_track", "done_on_time", "done_late", "signed_off", "long_term")

# Chart colours by status code (strong versions of the sheet's fills); unknown codes are grey.
STATUS_CHART_COLOURS = {
    "overdue": "#C00000",
    "due_soon": "#E6A700",
    "on_track": "#2E75B6",
    "done_on_time": "#548235",
    "done_late": "#C55A11",
    "signed_off": "#375623",
    "long_term": "#7030A0",
}
OTHER_COLOUR = "#7F7F7F"

# 督办 lamps: 红 overdue, 黄 due soon, 蓝 on track (open and before the warning window).
LAMPS = (("red", "红灯", "overdue", "逾期"), ("yellow", "黄灯", "due_soon", "临期"), ("blue", "蓝灯", "on_track", "按期推进"))


def _code(name: str, default: str) -> str:
    return str(getattr(st, name, default))


def status_codes() -> list[str]:
    """Every status code the engine knows, the board's order first."""
    labels: dict[str, str] = getattr(st, "LABELS", {})
    known = [c for c in _KNOWN_ORDER if c in labels or not labels]
    return known + [c for c in labels if c not in known]


def status_label(code: str) -> str:
    return getattr(st, "LABELS", {}).get(code, code)


def status_colour(code: str) -> str:
    return STATUS_CHART_COLOURS.get(code, OTHER_COLOUR)


def counts_dict(counts: Any) -> dict[str, Any]:
    """A Counts object as plain figures: every field in COUNT_FIELDS (0 when absent) and ``rate`` (None when undefined)."""
    out: dict[str, Any] = {f: int(getattr(counts, f, 0) or 0) for f in COUNT_FIELDS}
    rate = getattr(counts, "rate", None)
    out["rate"] = None if rate is None else float(rate)
    return out


def format_rate(rate: float | None) -> str:
    """A completion rate as the board and the CLI summary print it: 82.0%, or — when undefined."""
    return "—" if rate is None else f"{rate:.1%}"


def long_term_rule(result: CheckResult) -> str:
    return str(getattr(result.ledger.settings, "long_term_rule", "") or "")


@dataclass(frozen=True)
class TaskFigures:
    """One task as the lists show it."""

    task_id: str
    measure: str
    unit: str
    person: str
    code: str
    label: str
    deadline: date | None  # in force (extended when granted)
    days_overdue: int
    days_left: int | None


def task_figures(result: CheckResult) -> dict[str, TaskFigures]:
    """Every task's status figures, by task id (ledger order)."""
    statuses = getattr(result.status, "tasks", {})
    out: dict[str, TaskFigures] = {}
    for t in result.ledger.tasks:
        s = statuses.get(t.id)
        if s is None or t.id in out:
            continue
        code = str(getattr(s, "code", ""))
        out[t.id] = TaskFigures(
            t.id, t.measure, t.unit, t.person, code, str(getattr(s, "label", status_label(code))),
            getattr(s, "deadline", None) or t.effective_deadline, int(getattr(s, "days_overdue", 0) or 0),
            getattr(s, "days_left", None),
        )
    return out


def status_distribution(result: CheckResult) -> dict[str, int]:
    """How many tasks have each status code (every known code present, 0 included)."""
    counted = Counter(str(getattr(s, "code", "")) for s in getattr(result.status, "tasks", {}).values())
    out = {c: counted.get(c, 0) for c in status_codes()}
    for c, n in counted.items():
        out.setdefault(c, n)
    return out


def overdue_ids(result: CheckResult) -> list[str]:
    """Overdue task ids, most overdue first (the engine's order)."""
    return list(getattr(result.status.stats, "overdue", []) or [])


def due_soon_ids(result: CheckResult) -> list[str]:
    """Due-soon task ids, nearest deadline first (the engine's order)."""
    return list(getattr(result.status.stats, "due_soon", []) or [])


def grouped_counts(result: CheckResult, group: str) -> dict[str, dict[str, Any]]:
    """``group`` is category, unit or county: name → counts_dict, in the engine's order."""
    attr = {"category": "by_category", "unit": "by_unit", "county": "by_county"}[group]
    return {name: counts_dict(c) for name, c in (getattr(result.status.stats, attr, {}) or {}).items()}


def headline(result: CheckResult) -> dict[str, Any]:
    stats = result.status.stats
    return {
        "tasks": counts_dict(stats.overall),
        "problems": counts_dict(getattr(stats, "problems_overall", None)),
        "rule": long_term_rule(result),
    }


OVERDUE = _code("OVERDUE", "overdue")
DUE_SOON = _code("DUE_SOON", "due_soon")
DONE_LATE = _code("DONE_LATE", "done_late")
DONE_CODES = frozenset(getattr(st, "DONE_CODES", {"done_on_time", "done_late", "signed_off"}))
