"""The check pipeline on tables already read: intake, validation, statuses, the write plan. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from toolkit.core.intake import load_ledger
from toolkit.core.model import County, Ledger, Table
from toolkit.core.plan import WritePlan
from toolkit.core.report import WARNING, Issue, Location, Report
from toolkit.core.schema import QINGYUAN_COUNTIES, SHEET_TASKS
from toolkit.core.status import LedgerStatus, evaluate_ledger
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
    """The as-of date: given explicitly, else 基本信息's 统计截止日期, else the clock's today."""
    if today is not None:
        return today
    if ledger.settings.as_of is not None:
        return ledger.settings.as_of
    return clock_today or date.today()


def check_tables(tables: dict[str, Table], *, today: date | None = None, source: str = "") -> CheckResult:
    """Intake, validation, statuses and the write plan for tables read by any adapter."""
    ledger, issues = load_ledger(tables, source=source)
    return check_ledger(ledger, today=today, intake_issues=issues)


def check_ledger(ledger: Ledger, *, today: date | None = None, intake_issues=()) -> CheckResult:
    day = resolve_today(ledger, today)
    report = Report(list(intake_issues))
    report.extend(validate_ledger(ledger, today=day))
    status = evaluate_ledger(ledger, today=day)
    report.extend(calendar_warnings(ledger, status))
    plan = build_write_plan(ledger, status, report, today=day)
    return CheckResult(ledger, report, status, day, plan)


def calendar_warnings(ledger: Ledger, status: LedgerStatus) -> list[Issue]:
    """A warning per task whose working-day count had to fall back to Mon–Fri (year not in the calendar)."""
    out = []
    for t in ledger.tasks:
        st = status.tasks.get(t.id)
        if st is not None and not st.calendar_exact:
            out.append(Issue(
                "calendar-unknown-year",
                f"节假日日历没有 {st.deadline.year if st.deadline else ''} 年的数据，临期按周一至周五计算；"
                "请升级 chinesecalendar（pip install -U chinesecalendar）或将“预警按工作日计算”改为“否”",
                Location(ledger.source, ledger.layout.sheet(SHEET_TASKS), t.row,
                         ledger.layout.column(SHEET_TASKS, "deadline"), "完成时限"),
                WARNING,
            ))
    return out


def empty_ledger() -> Ledger:
    """A ledger with no problems or tasks and the Qingyuan counties listed (what ``init`` writes)."""
    ledger = Ledger(source="新台账")
    ledger.counties = [County(c) for c in QINGYUAN_COUNTIES]
    return ledger
