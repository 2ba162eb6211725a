"""Everything the board shows, as plain JSON-ready data: the ledger's own figures and the history analysis.

The ledger's figures (headline, statuses, groups, lists) come from :mod:`toolkit.board.figures`
(the core's statistics, unchanged); the history and the completion times from the pandas frames
of :mod:`toolkit.board.frames`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from toolkit.board import figures as F
from toolkit.board import frames as FR
from toolkit.core.check import CheckResult
from toolkit.core.model import Table

LIST_LIMIT = 300  # rows shown in each of the overdue and due-soon lists (the rest are counted, see the ledger)

GROUP_TITLES = {"category": "问题方面", "unit": "责任单位", "county": "县（市、区）"}

# How each submission state is drawn and grouped in the punctuality chart.
PUNCTUALITY_SERIES = (
    (FR.SUBMITTED, "按时报送", "#548235"),
    (FR.LATE, "逾期报送", "#C55A11"),
    (FR.MISSING, "未报送", "#C00000"),
    (FR.REJECTED, "被退回", "#7F0000"),
    (FR.IMPORTED, "已导入（时效未记录）", "#9DC3E6"),
    (FR.NOT_REQUIRED, "无需报送", "#BFBFBF"),
    (FR.NO_RECORD, "无记录", "#E7E6E6"),
)


@dataclass
class BoardData:
    """The board's content; ``as_json()`` is what the page's scripts draw from."""

    title: str
    unit: str
    ledger_name: str
    as_of: date
    rule: str
    headline: dict[str, Any]
    status: list[dict[str, Any]]
    lamps: list[dict[str, Any]]
    groups: dict[str, list[dict[str, Any]]]
    overdue: list[dict[str, Any]]
    overdue_total: int
    due_soon: list[dict[str, Any]]
    due_soon_total: int
    history: list[dict[str, Any]]
    punctuality: dict[str, Any]
    completion: dict[str, Any]
    errors: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "asOf": self.as_of.isoformat(), "rule": self.rule, "headline": self.headline, "status": self.status,
            "groups": self.groups, "history": self.history, "punctuality": self.punctuality,
            "completion": self.completion,
        }


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def _num(v: Any) -> float | int | None:
    """A frame cell as JSON: None for NA/NaN, int when whole."""
    if v is None:
        return None
    try:
        if v != v or (isinstance(v, float) and math.isinf(v)):  # NaN / pandas NA
            return None
    except TypeError:  # pandas.NA compares ambiguously
        return None
    f = float(v)
    return int(f) if f.is_integer() else round(f, 4)


def build_board_data(result: CheckResult, tables: dict[str, Table], *, ledger_name: str = "") -> BoardData:
    """The board of a checked ledger and its sheets (``tables`` as read, for 月度进展/变更记录/县区)."""
    ledger = result.ledger
    settings = ledger.settings
    unit = settings.unit_name or settings.unit_short
    figs = F.task_figures(result)

    dist = F.status_distribution(result)
    status = [{"code": c, "label": F.status_label(c), "count": n, "colour": F.status_colour(c)} for c, n in dist.items()]
    lamps = [{"key": key, "name": name, "code": code, "label": F.status_label(code) or label, "count": dist.get(code, 0)}
             for key, name, code, label in F.LAMPS]

    groups = {g: [{"name": name, **counts} for name, counts in F.grouped_counts(result, g).items()] for g in GROUP_TITLES}

    def task_row(tid: str) -> dict[str, Any]:
        f = figs[tid]
        return {"id": f.task_id, "measure": f.measure, "unit": f.unit, "person": f.person,
                "deadline": _iso(f.deadline), "days_overdue": f.days_overdue, "days_left": f.days_left}

    overdue_ids = [t for t in F.overdue_ids(result) if t in figs]
    due_ids = [t for t in F.due_soon_ids(result) if t in figs]

    history = FR.history_frame(tables)
    history_rows = [{"period": r.period, "as_of": _iso(r.as_of), "total": _num(r.total), "done": _num(r.done),
                     "open": _num(r.open), "overdue": _num(r.overdue), "long_term": _num(r.long_term),
                     "rate": _num(r.rate)} for r in history.itertuples(index=False)]

    subs = FR.submissions_frame(tables, ledger)
    periods = sorted(set(subs["period"]))
    states: dict[str, dict[str, str]] = {}
    for r in subs.itertuples(index=False):
        states.setdefault(r.county, {})[r.period] = r.state
    totals = {p: {s: int(((subs["period"] == p) & (subs["state"] == s)).sum()) for s, _, _ in PUNCTUALITY_SERIES}
              for p in periods}
    punctuality = {
        "periods": periods, "counties": [c.name for c in ledger.counties], "states": states, "totals": totals,
        "series": [{"state": s, "name": n, "colour": c} for s, n, c in PUNCTUALITY_SERIES],
    }

    tasks = FR.tasks_frame(result)
    comp = FR.completion_frame(tasks)
    completion = {
        "start": _iso(settings.feedback_date),
        "rows": [{"unit": r.unit, "tasks": int(r.tasks), "done": int(r.done), "dated": int(r.dated),
                  "median_days": _num(r.median_days), "mean_days": _num(r.mean_days),
                  "median_vs_deadline": _num(r.median_vs_deadline), "late": int(r.late)}
                 for r in comp.itertuples(index=False)],
    }

    title = f"{unit}巡察整改督办看板" if unit else "巡察整改督办看板"
    return BoardData(
        title=title, unit=unit, ledger_name=ledger_name, as_of=result.today, rule=F.long_term_rule(result),
        headline=F.headline(result), status=status, lamps=lamps, groups=groups,
        overdue=[task_row(t) for t in overdue_ids[:LIST_LIMIT]], overdue_total=len(overdue_ids),
        due_soon=[task_row(t) for t in due_ids[:LIST_LIMIT]], due_soon_total=len(due_ids),
        history=history_rows, punctuality=punctuality, completion=completion,
        errors=len(result.report.errors),
    )
