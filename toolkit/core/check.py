"""The check pipeline on tables already read: intake, validation, statuses, the write plan. Pure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from toolkit.core.intake import load_ledger
from toolkit.core.model import County, Ledger, Table
from toolkit.core.plan import WritePlan
from toolkit.core.report import ERROR, WARNING, Issue, Location, Report
from toolkit.core.schema import QINGYUAN_COUNTIES, SETTINGS_BY_KEY, SHEET_SETTINGS, SHEET_TASKS
from toolkit.core.status import LedgerStatus, evaluate_ledger, is_not_started
from toolkit.core.validate import validate_ledger
from toolkit.core.writeplan import build_write_plan


@dataclass
class CheckResult:
    """What one check of a ledger found: the ledger as read, its issues, statuses and the plan of owned cells."""

    ledger: Ledger
    report: Report
    status: LedgerStatus
    today: date
    plan: WritePlan = field(default_factory=WritePlan)

    @property
    def valid(self) -> bool:
        return self.report.valid


def resolve_today(ledger: Ledger, today: date | None, *, clock_today: date | None = None) -> date:
    """The as-of date: given explicitly, else 基本信息's 统计截止日期, else ``clock_today``.

    The core never reads the clock: the caller (a job, an adapter) passes the machine's date as
    ``clock_today``, so a result depends only on its inputs. Not checked here:
    :func:`rule_as_of_plausible` reports an as-of date far from the round.
    """
    if today is not None:
        return today
    if ledger.settings.as_of is not None:
        return ledger.settings.as_of
    if clock_today is None:
        raise ValueError("no as-of date: pass today or clock_today (the core does not read the clock)")
    return clock_today


def check_tables(tables: dict[str, Table], *, today: date | None = None, source: str = "",
                 clock_today: date | None = None) -> CheckResult:
    """Intake, validation, statuses and the write plan for tables read by any adapter."""
    ledger, issues = load_ledger(tables, source=source)
    return check_ledger(ledger, today=today, intake_issues=issues, clock_today=clock_today)


def check_ledger(ledger: Ledger, *, today: date | None = None, intake_issues=(),
                 clock_today: date | None = None) -> CheckResult:
    """Check ``ledger`` as of ``today`` (else 统计截止日期, else ``clock_today``)."""
    day = resolve_today(ledger, today, clock_today=clock_today)
    report = Report(list(intake_issues))
    report.extend(validate_ledger(ledger, today=day))
    report.extend(deadline_rules(ledger, day))
    status = evaluate_ledger(ledger, today=day)
    report.extend(calendar_warnings(ledger, status))
    plan = build_write_plan(ledger, status, report, today=day)
    return CheckResult(ledger, report, status, day, plan)


def calendar_warnings(ledger: Ledger, status: LedgerStatus) -> list[Issue]:
    """One warning per deadline year missing from the holiday calendar (working days fell back to Mon–Fri).

    Located at the first task row concerned; the message counts the tasks affected.
    """
    years: dict[int, list[int]] = {}
    for t, st in zip(ledger.tasks, status.rows):
        if not st.calendar_exact and st.deadline is not None:
            years.setdefault(st.deadline.year, []).append(t.row)
    out = []
    for year, rows in years.items():
        out.append(Issue(
            "calendar-unknown-year",
            f"节假日日历没有 {year} 年的数据，{len(rows)}项措施的临期按周一至周五计算；"
            "请升级 chinesecalendar（pip install -U chinesecalendar）或将“预警按工作日计算”改为“否”",
            Location(ledger.source, ledger.layout.sheet(SHEET_TASKS), rows[0] or None,
                     ledger.layout.column(SHEET_TASKS, "deadline"), "完成时限"),
            WARNING,
        ))
    return out


# --- deadline rules (docs/rules/deadlines-and-statuses.md) ------------------------------------

AS_OF_MAX_YEARS = 3  # an as-of date further than this from the round is a typo (1999, 2099)
DEADLINE_MAX_YEARS = 5  # a deadline further than this after 反馈日期 is probably a typo


def _years_later(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _task_loc(ledger: Ledger, row: int, key: str, label: str) -> Location:
    return Location(ledger.source, ledger.layout.sheet(SHEET_TASKS), row or None,
                    ledger.layout.column(SHEET_TASKS, key), label)


def rule_as_of_plausible(ledger: Ledger, today: date) -> Iterator[Issue]:
    """The as-of date lies within AS_OF_MAX_YEARS of the round: of 反馈日期, else of the deadlines' span.

    Deadlines more than DEADLINE_MAX_YEARS after 反馈日期 (typos, warned about at the cell) do
    not widen the span.
    """
    fb = ledger.settings.feedback_date
    tasks = ledger.tasks
    # Every deadline and extension given (order does not matter: only their span is used).
    deadlines = [t.deadline.on for t in tasks if t.deadline and t.deadline.on]
    deadlines += [t.extended_deadline for t in tasks if t.extended_deadline]
    if fb is not None:
        limit = _years_later(fb, DEADLINE_MAX_YEARS)
        deadlines = [d for d in deadlines if fb <= d <= limit]
        lo, hi = fb, max([fb, *deadlines])
        basis = f"巡察反馈日期（{fb.isoformat()}）" + (f"和完成时限（最晚{hi.isoformat()}）" if hi > fb else "")
    elif deadlines:
        lo, hi = min(deadlines), max(deadlines)
        basis = f"台账中的完成时限（{lo.isoformat()}至{hi.isoformat()}）"
    else:
        return
    if _years_later(lo, -AS_OF_MAX_YEARS) <= today <= _years_later(hi, AS_OF_MAX_YEARS):
        return
    st = ledger.settings
    if st.as_of == today and "as_of" in st.cells:
        row, col = st.cells["as_of"]
        loc = Location(ledger.source, ledger.layout.sheet(SHEET_SETTINGS), row, col, SETTINGS_BY_KEY["as_of"].label)
        where = f"请核对基本信息“{SETTINGS_BY_KEY['as_of'].label}”"
    else:
        loc = Location(ledger.source, field="统计日期")
        where = "请核对 --today 或基本信息中的统计截止日期"
    yield Issue(
        "as-of-implausible",
        f"统计日期 {today.isoformat()} 与{basis}相差超过{AS_OF_MAX_YEARS}年，统计结果不可信；{where}",
        loc,
        ERROR,
    )


def rule_deadline_far(ledger: Ledger, today: date) -> Iterator[Issue]:
    """A deadline (or extension) more than DEADLINE_MAX_YEARS after 反馈日期: a warning at the cell."""
    fb = ledger.settings.feedback_date
    if fb is None:
        return
    limit = _years_later(fb, DEADLINE_MAX_YEARS)
    tasks = ledger.tasks
    latest = max([t.deadline.on for t in tasks if t.deadline and t.deadline.on]
                 + [t.extended_deadline for t in tasks if t.extended_deadline], default=None)
    if latest is None or latest <= limit:
        return  # the usual case: no date that far, nothing to say
    for t in tasks:
        for key, label, d in (("deadline", "完成时限", t.deadline.on if t.deadline else None),
                              ("extended_deadline", "延期时限", t.extended_deadline)):
            if d is not None and d > limit:
                yield Issue(
                    "deadline-far",
                    f"{label} {d.isoformat()} 距反馈日期 {fb.isoformat()} 超过{DEADLINE_MAX_YEARS}年，请核对年份"
                    "（长期措施请写“长期坚持”）",
                    _task_loc(ledger, t.row, key, label),
                    WARNING,
                )


def rule_long_term_not_started(ledger: Ledger, today: date) -> Iterator[Issue]:
    """Deadline 长期 on a task not yet started: not counted as 长期坚持 (nor completed) until work starts."""
    if ledger.layout.lacks(SHEET_TASKS, "state"):  # no 完成情况 column: said once by intake, not per row
        return
    for t in ledger.tasks:
        if (t.deadline is not None and t.deadline.is_long_term and t.extended_deadline is None
                and t.state != "长期坚持" and is_not_started(t)):
            shown = t.state_text or "空白"
            yield Issue(
                "long-term-not-started",
                f"完成时限为“{t.deadline.text or '长期'}”，但完成情况是“{shown}”：尚未启动的措施不计为长期坚持，"
                "按正在推进统计；开始实施后请把完成情况改为“推进中”或“长期坚持”",
                _task_loc(ledger, t.row, "deadline", "完成时限"),
                WARNING,
            )


DEADLINE_RULES = (rule_as_of_plausible, rule_deadline_far, rule_long_term_not_started)


def deadline_rules(ledger: Ledger, today: date) -> list[Issue]:
    """The status-related rules of this module, in order."""
    return [issue for rule in DEADLINE_RULES for issue in rule(ledger, today)]


def empty_ledger() -> Ledger:
    """A ledger with no problems or tasks and the Qingyuan counties listed (what ``init`` writes)."""
    ledger = Ledger(source="新台账")
    ledger.counties = [County(c) for c in QINGYUAN_COUNTIES]
    return ledger
