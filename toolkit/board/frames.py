"""Tidy pandas DataFrames of a checked ledger and its history, for the board and for analysts.

pandas is imported inside each function, so importing this module (or ``toolkit.board``) costs
nothing; the check and the buttons never pay for it.

>>> from toolkit.jobs import check_file, read_ledger_tables
>>> from toolkit.board import frames
>>> result = check_file("台账.xlsx")
>>> frames.tasks_frame(result).groupby("unit")["days_overdue"].max()
>>> frames.history_frame(read_ledger_tables("台账.xlsx"))

Frames (one row per …):

* :func:`tasks_frame` — task: ids, category, unit, person, deadlines, status, days overdue/left, completion times;
* :func:`problems_frame` — problem: roll-up status and measure counts;
* :func:`history_frame` — month of 月度进展 (period, as-of date, totals, overdue, rate);
* :func:`changes_frame` — row of 变更记录 (time, period, county, file, task, field, old, new);
* :func:`submissions_frame` — county × period: the submission state (see :func:`submission_state`);
* :func:`completion_frame` — responsible unit: completed measures and how long they took.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from toolkit.board import figures as F
from toolkit.core import schema as S
from toolkit.core.check import CheckResult
from toolkit.core.model import CellError, Ledger, Table
from toolkit.core.writeplan import MONTHLY_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

# 变更记录's columns as consolidation writes them (toolkit.counties.model.CHANGELOG_COLUMNS; the board
# may import only the core, so they are found by these header texts).
CHANGELOG_HEADERS = {"时间": "time", "报送期": "period", "县区": "county", "文件": "file", "任务编号": "task_id",
                     "字段": "field", "原值": "old", "新值": "new"}
MONTHLY_KEYS = ("period", "as_of", "total", "done", "open", "overdue", "long_term", "rate")
MONTHLY_HEADERS = dict(zip(MONTHLY_COLUMNS, MONTHLY_KEYS))
# 县区: the consolidation's columns saying the period's submission state and which period it is.
SUBMISSION_HEADER = "【自动】本期报送"
SUBMISSION_PERIOD_HEADER = "【自动】报送期"

# Submission states (县区!【自动】本期报送), and the two the board infers where the ledger says no more.
SUBMITTED = "已报送"
LATE = "逾期报送"
MISSING = "未报送"
REJECTED = "被退回"
NOT_REQUIRED = "无需报送"
IMPORTED = "已导入"  # 变更记录 has changes from the county for the period; whether on time was not recorded
NO_RECORD = "无记录"  # nothing recorded for the county and period
SUBMISSION_STATES = (SUBMITTED, LATE, MISSING, REJECTED, NOT_REQUIRED, IMPORTED, NO_RECORD)


# ----------------------------------------------------------------------------- reading sheets


def _text(v: Any) -> str:
    if v is None or isinstance(v, CellError):
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def period_key(v: Any) -> str | None:
    """A month as 'YYYY-MM' from a date cell or text such as 2025-03, 2025/3, 2025.3, 2025年3月; None when not a month."""
    if isinstance(v, (date, datetime)):
        return f"{v.year:04d}-{v.month:02d}"
    m = re.fullmatch(r"\s*(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:月(?:份)?)?\s*", _text(v))
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None or isinstance(v, CellError):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    text = _text(v).replace("％", "%")
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return None


def _day(v: Any) -> date | None:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(_text(v)[:10])
    except ValueError:
        return None


def sheet_records(table: Table | None, header_row: int, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The rows below ``header_row`` as dicts keyed by ``headers``' values; columns found by header text."""
    if table is None:
        return []
    i = header_row - table.first_row
    if not 0 <= i < len(table.rows):
        return []
    wanted = {S.normalize_header(h): key for h, key in headers.items()}
    where = {wanted[S.normalize_header(v)]: j for j, v in enumerate(table.rows[i])
             if isinstance(v, str) and S.normalize_header(v) in wanted}
    out = []
    for row in table.rows[i + 1:]:
        rec = {key: (row[j] if j < len(row) else None) for key, j in where.items()}
        if any(_text(v) for v in rec.values()):
            out.append(rec)
    return out


def _sheet(tables: dict[str, Table], ledger: Ledger | None, canonical: str) -> Table | None:
    name = ledger.layout.sheet(canonical) if ledger is not None else canonical
    return tables.get(name) or tables.get(canonical)


# ----------------------------------------------------------------------------- the ledger


def tasks_frame(result: CheckResult) -> pd.DataFrame:
    """One row per task, with its status on the as-of date and how long its completion took.

    ``days_to_complete`` counts calendar days from 基本信息's 反馈日期 (when the measures were set)
    to 完成日期; ``days_vs_deadline`` is 完成日期 − the deadline in force (negative: early).
    """
    import pandas as pd

    ledger = result.ledger
    start = ledger.settings.feedback_date
    problems = {p.id: p for p in ledger.problems}
    counties = ledger.county_names()
    figs = F.task_figures(result)
    rows = []
    for t in ledger.tasks:
        f = figs.get(t.id)
        if f is None:
            continue
        p = problems.get(t.problem_id)
        deadline = f.deadline
        done = f.code in F.DONE_CODES
        rows.append({
            "task_id": t.id,
            "problem_id": t.problem_id,
            "category": p.category if p else "",
            "problem": p.title if p else "",
            "measure": t.measure,
            "unit": t.unit,
            "is_county": t.unit in counties,
            "person": t.person,
            "leader": t.leader,
            "deadline": deadline,
            "deadline_text": t.deadline.text if t.deadline else "",
            "extended_deadline": t.extended_deadline,
            "completed_on": t.completed_on,
            "signed_off_on": t.signed_off_on,
            "status": f.code,
            "status_label": f.label,
            "done": done,
            "days_overdue": f.days_overdue if f.code == F.OVERDUE else 0,
            "days_left": f.days_left,
            "days_to_complete": (t.completed_on - start).days if done and t.completed_on and start else None,
            "days_vs_deadline": (t.completed_on - deadline).days if done and t.completed_on and deadline else None,
            "row": t.row,
        })
    frame = pd.DataFrame(rows, columns=[
        "task_id", "problem_id", "category", "problem", "measure", "unit", "is_county", "person", "leader",
        "deadline", "deadline_text", "extended_deadline", "completed_on", "signed_off_on", "status",
        "status_label", "done", "days_overdue", "days_left", "days_to_complete", "days_vs_deadline", "row",
    ])
    for col in ("days_left", "days_to_complete", "days_vs_deadline"):
        frame[col] = frame[col].astype("Int64")
    return frame


def problems_frame(result: CheckResult) -> pd.DataFrame:
    """One row per problem: its roll-up status and how many of its measures are done / overdue."""
    import pandas as pd

    statuses = getattr(result.status, "problems", {})
    rows = []
    for p in result.ledger.problems:
        s = statuses.get(p.id)
        rows.append({
            "problem_id": p.id, "category": p.category, "title": p.title,
            "status": getattr(s, "code", ""), "status_label": getattr(s, "label", ""),
            "done_tasks": int(getattr(s, "done_tasks", 0) or 0), "total_tasks": int(getattr(s, "total_tasks", 0) or 0),
            "overdue_tasks": int(getattr(s, "overdue_tasks", 0) or 0), "row": p.row,
        })
    return pd.DataFrame(rows, columns=["problem_id", "category", "title", "status", "status_label", "done_tasks",
                                       "total_tasks", "overdue_tasks", "row"])


def completion_frame(tasks: pd.DataFrame) -> pd.DataFrame:
    """Per responsible unit: measures done, how many with a 完成日期, median and mean days from 反馈日期 to
    completion, median days against the deadline (negative: early) and how many were done late.

    Units with no completed measure are listed with ``done`` 0 (every unit of ``tasks``, first-seen order).
    """
    import pandas as pd

    units = list(dict.fromkeys(u for u in tasks["unit"] if u))
    done = tasks[tasks["done"] & (tasks["unit"] != "")]
    g = done.groupby("unit", sort=False)
    out = pd.DataFrame({
        "done": g.size(),
        "dated": g["completed_on"].count(),
        "median_days": g["days_to_complete"].median(),
        "mean_days": g["days_to_complete"].mean(),
        "median_vs_deadline": g["days_vs_deadline"].median(),
        "late": g["status"].apply(lambda s: int((s == F.DONE_LATE).sum())),
    }).reindex(units)
    out.index.name = "unit"
    for col in ("done", "dated", "late"):
        out[col] = out[col].fillna(0).astype(int)
    total = tasks[tasks["unit"] != ""].groupby("unit", sort=False).size().reindex(units)
    out.insert(0, "tasks", total.astype(int))
    return out.reset_index()


# ----------------------------------------------------------------------------- the history


def history_frame(tables: dict[str, Table]) -> pd.DataFrame:
    """月度进展 as a tidy frame, one row per month (sorted), figures as numbers; rows without a month are skipped.

    A month written twice keeps its last row (as consolidation does).
    """
    import pandas as pd

    rows: dict[str, dict[str, Any]] = {}
    for rec in sheet_records(tables.get(S.SHEET_MONTHLY), 1, MONTHLY_HEADERS):
        key = period_key(rec.get("period"))
        if key is None:
            continue
        out: dict[str, Any] = {"period": key, "as_of": _day(rec.get("as_of"))}
        for k in ("total", "done", "open", "overdue", "long_term"):
            n = _number(rec.get(k))
            out[k] = None if n is None else int(round(n))
        out["rate"] = _number(rec.get("rate"))
        rows[key] = out
    frame = pd.DataFrame([rows[k] for k in sorted(rows)], columns=list(MONTHLY_KEYS))
    for k in ("total", "done", "open", "overdue", "long_term"):
        frame[k] = frame[k].astype("Int64")
    frame["rate"] = frame["rate"].astype(float)
    return frame


def changes_frame(tables: dict[str, Table]) -> pd.DataFrame:
    """变更记录 as a tidy frame: time (datetime or None), period ('YYYY-MM'), county, file, task_id, field, old, new."""
    import pandas as pd

    rows = []
    for rec in sheet_records(tables.get(S.SHEET_CHANGELOG), 1, CHANGELOG_HEADERS):
        when = rec.get("time")
        if not isinstance(when, datetime):
            try:
                when = datetime.fromisoformat(_text(when)) if _text(when) else None
            except ValueError:
                when = None
        rows.append({
            "time": when, "period": period_key(rec.get("period")) or _text(rec.get("period")),
            "county": _text(rec.get("county")), "file": _text(rec.get("file")), "task_id": _text(rec.get("task_id")),
            "field": _text(rec.get("field")), "old": _text(rec.get("old")), "new": _text(rec.get("new")),
        })
    return pd.DataFrame(rows, columns=["time", "period", "county", "file", "task_id", "field", "old", "new"])


def submission_state(text: str) -> str:
    """The state in a 县区!【自动】本期报送 cell: 被退回（原因） → 被退回; unknown text kept as it is."""
    text = text.strip()
    return REJECTED if text.startswith(REJECTED) else text


def current_submissions(tables: dict[str, Table], ledger: Ledger) -> dict[str, tuple[str, str]]:
    """County → (period, state) as the 县区 sheet shows it (the last consolidated period), where filled in.

    The two columns are found by their headers in 县区's header row; each county's row is the one it was read from.
    """
    header_row = ledger.layout.header_rows.get(S.SHEET_COUNTIES)
    table = _sheet(tables, ledger, S.SHEET_COUNTIES)
    if header_row is None or table is None or not 0 <= header_row - table.first_row < len(table.rows):
        return {}
    heads = {S.normalize_header(v): j for j, v in enumerate(table.rows[header_row - table.first_row])
             if isinstance(v, str)}
    j_state = heads.get(S.normalize_header(SUBMISSION_HEADER))
    j_period = heads.get(S.normalize_header(SUBMISSION_PERIOD_HEADER))
    if j_state is None or j_period is None:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for c in ledger.counties:
        i = c.row - table.first_row
        if not 0 <= i < len(table.rows):
            continue
        row = table.rows[i]
        period = period_key(row[j_period]) if j_period < len(row) else None
        state = submission_state(_text(row[j_state])) if j_state < len(row) else ""
        if period and state:
            out[c.name] = (period, state)
    return out


def submissions_frame(tables: dict[str, Table], ledger: Ledger) -> pd.DataFrame:
    """County × period submission states, one row per pair (counties in 县区 order, periods sorted).

    The periods are those of 月度进展, 变更记录 and 县区's 【自动】报送期. The state of a pair is, in order:
    the 县区 sheet's 【自动】本期报送 when its 【自动】报送期 is that period (已报送 / 逾期报送 / 未报送 /
    被退回 / 无需报送); else 已导入 when 变更记录 holds changes from the county for the period (the
    ledger does not record whether that return was on time); else 无记录.
    """
    import pandas as pd

    current = current_submissions(tables, ledger)
    changes = changes_frame(tables)
    periods = set(history_frame(tables)["period"]) | {p for p in changes["period"] if period_key(p)}
    periods |= {p for p, _ in current.values()}
    imported = set(zip(changes["county"], changes["period"]))
    rows = []
    for c in ledger.counties:
        for p in sorted(periods):
            cur = current.get(c.name)
            if cur is not None and cur[0] == p:
                state, source = cur[1], "县区"
            elif (c.name, p) in imported:
                state, source = IMPORTED, "变更记录"
            else:
                state, source = NO_RECORD, ""
            rows.append({"county": c.name, "period": p, "state": state, "source": source})
    return pd.DataFrame(rows, columns=["county", "period", "state", "source"])
