"""Validation rules over the ledger model. Each rule yields located issues; none raises."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from functools import lru_cache
from operator import attrgetter

from toolkit.core import schema as S
from toolkit.core.model import Ledger, Task
from toolkit.core.report import ERROR, WARNING, Issue, Location

Rule = Callable[[Ledger, date], Iterator[Issue]]


def _loc(ledger: Ledger, canonical: str, row: int, key: str | None, label: str | None = None) -> Location:
    letter = ledger.layout.column(canonical, key) if key else None
    return Location(ledger.source, ledger.layout.sheet(canonical), row or None, letter, label)


def _tloc(ledger: Ledger, task: Task, key: str, label: str) -> Location:
    return _loc(ledger, S.SHEET_TASKS, task.row, key, label)


def rule_required_values(ledger: Ledger, today: date) -> Iterator[Issue]:
    """Required cells must be filled."""
    for canonical, records in ((S.SHEET_PROBLEMS, ledger.problems), (S.SHEET_TASKS, ledger.tasks)):
        for col in S.SHEET_COLUMNS[canonical]:
            if not col.required or ledger.layout.column(canonical, col.key) is None:
                continue
            if col.key == "state":
                values = [rec.state or rec.state_text for rec in records]
            else:
                values = list(map(attrgetter(col.key), records))
            # The usual case: the column is filled on every row, seen in C by truth value ("" and None are false;
            # a false value of any other kind only sends the column to the exact test below). Not list.count(""):
            # 完成时限 holds Deadline objects, and comparing each one would call its Python-level __eq__.
            if all(values):
                continue
            for rec, value in zip(records, values):
                if value in ("", None):
                    if col.key == "deadline" and rec.deadline is None and getattr(rec, "extended_deadline", None):
                        continue
                    yield Issue(
                        "missing-value",
                        f"“{col.header}”未填写，请填写" + _fill_hint(col),
                        _loc(ledger, canonical, rec.row, col.key, col.header),
                    )


def _fill_hint(col: S.Column) -> str:
    if col.kind == S.DEADLINE:
        return "（日期如 2024-06-30，或“长期坚持”）"
    if col.kind == S.STATE:
        return "（" + "/".join(S.STATES) + "）"
    return ""


def rule_duplicate_ids(ledger: Ledger, today: date) -> Iterator[Issue]:
    """Problem and task ids are unique."""
    for canonical, records, label in ((S.SHEET_PROBLEMS, ledger.problems, "问题编号"),
                                      (S.SHEET_TASKS, ledger.tasks, "任务编号")):
        first: dict[str, int] = {}
        for rec in records:
            if not rec.id:
                continue
            if rec.id in first:
                yield Issue(
                    "duplicate-id",
                    f"{label}“{rec.id}”与第{first[rec.id]}行重复，请改为唯一编号",
                    _loc(ledger, canonical, rec.row, "id", label),
                )
            else:
                first[rec.id] = rec.row


def rule_task_problem_links(ledger: Ledger, today: date) -> Iterator[Issue]:
    """Each task points to a known problem; each problem has at least one task."""
    known = {p.id for p in ledger.problems}
    used = Counter(t.problem_id for t in ledger.tasks)
    # Without 问题清单's ids (sheet or column missing, reported once by intake) every link would look broken;
    # likewise every problem would look task-less without 任务清单's 问题编号.
    check_tasks = not ledger.layout.lacks(S.SHEET_PROBLEMS, "id")
    check_problems = not ledger.layout.lacks(S.SHEET_TASKS, "problem_id")
    for t in ledger.tasks if check_tasks else ():
        if t.problem_id and t.problem_id not in known:
            yield Issue(
                "unknown-problem",
                f"问题编号“{t.problem_id}”在问题清单中不存在，请改为问题清单中已有的编号或先在问题清单中补充该问题",
                _tloc(ledger, t, "problem_id", "问题编号"),
            )
    for p in ledger.problems if check_problems else ():
        if p.id and not used[p.id]:
            yield Issue(
                "problem-without-tasks",
                f"问题“{p.id}”在任务清单中没有任何整改措施，请在任务清单中为它添加措施",
                _loc(ledger, S.SHEET_PROBLEMS, p.row, "id", "问题编号"),
            )


def rule_known_units_and_people(ledger: Ledger, today: date) -> Iterator[Issue]:
    """Units and people should be those of 责任清单 / 县区 (warnings: a typo splits the statistics)."""
    if not ledger.people and not ledger.counties:
        return
    if ledger.layout.one_sheet and not ledger.people:
        return  # a one-sheet ledger keeps no register of units: 县区 alone would flag every department
    units = {p.unit for p in ledger.people if p.unit} | ledger.county_names()
    units |= {p.department for p in ledger.problems if p.department}
    names = {p.name for p in ledger.people if p.name}
    # The cells that can raise a warning, found once per distinct value; a task with none of them (nearly all)
    # is passed over with three set lookups. The warnings and their order are those of the full test.
    odd_units = {u for u in {t.unit for t in ledger.tasks} if u and u not in units}
    odd_people = {v for v in {t.person for t in ledger.tasks} | {t.leader for t in ledger.tasks}
                  if any(person not in names for person in _split_names(v))} if names else set()
    for t in ledger.tasks:
        if t.unit not in odd_units and t.person not in odd_people and t.leader not in odd_people:
            continue
        if t.unit and t.unit not in units:
            hint = difflib.get_close_matches(t.unit, sorted(units), n=1, cutoff=0.5)
            yield Issue(
                "unknown-unit",
                f"责任单位“{t.unit}”不在责任清单或县区表中"
                + (f"，是否应为“{hint[0]}”？" if hint else "，请核对名称或在责任清单中登记该单位"),
                _tloc(ledger, t, "unit", "责任单位"),
                WARNING,
            )
        if names:
            for key, label in (("person", "责任人"), ("leader", "责任领导")):
                value = getattr(t, key)
                for person in _split_names(value):
                    if person not in names:
                        yield Issue(
                            "unknown-person",
                            f"{label}“{person}”不在责任清单中，请核对姓名或在责任清单中登记",
                            _tloc(ledger, t, key, label),
                            WARNING,
                        )


@lru_cache(maxsize=4096)
def _split_names(value: str) -> tuple[str, ...]:
    """Names in a cell that may hold several (张三、李四)."""
    for sep in "，,、/；; ":
        value = value.replace(sep, " ")
    return tuple(v for v in value.split() if v)


def rule_dates(ledger: Ledger, today: date) -> Iterator[Issue]:
    """Impossible dates: deadlines before the feedback date, completions and sign-offs in the future."""
    fb = ledger.settings.feedback_date
    for t in ledger.tasks:
        on = t.deadline.on if t.deadline else None
        if fb and on and on < fb:
            yield Issue(
                "deadline-before-feedback",
                f"完成时限 {on.isoformat()} 早于巡察反馈日期 {fb.isoformat()}，请核对时限",
                _tloc(ledger, t, "deadline", "完成时限"),
            )
        extended = t.extended_deadline
        if extended and on and extended <= on:
            yield Issue(
                "extension-not-later",
                f"延期时限 {extended.isoformat()} 不晚于原时限 {on.isoformat()}，请核对",
                _tloc(ledger, t, "extended_deadline", "延期时限"),
            )
        done = t.completed_on
        if done and done > today:
            yield _date_in_future(ledger, t, "completed_on", "完成日期", done, today)
        signed = t.signed_off_on
        if signed and signed > today:
            yield _date_in_future(ledger, t, "signed_off_on", "销号日期", signed, today)
        if signed and fb and signed < fb:
            yield Issue(
                "date-before-feedback",
                f"销号日期 {signed.isoformat()} 早于巡察反馈日期 {fb.isoformat()}，请核对",
                _tloc(ledger, t, "signed_off_on", "销号日期"),
            )


def _date_in_future(ledger: Ledger, t: Task, key: str, label: str, d: date, today: date) -> Issue:
    return Issue(
        "date-in-future",
        f"{label} {d.isoformat()} 晚于今天（{today.isoformat()}），不能预填，请填写实际日期",
        _tloc(ledger, t, key, label),
    )


def rule_states(ledger: Ledger, today: date) -> Iterator[Issue]:
    """Completion state is one of the known words and consistent with the dates beside it."""
    vocabulary = list(S.STATES) + list(S.STATE_SYNONYMS)
    if ledger.layout.lacks(S.SHEET_TASKS, "state"):
        # 完成情况 column missing (reported once by intake): every state-dependent check would fire on
        # every row. Only the check that does not depend on it remains.
        yield from _signoff_approvers(ledger)
        return
    dates_known = _has_column(ledger, S.SHEET_TASKS, "completed_on")
    approver_checked = bool(ledger.layout.column(S.SHEET_TASKS, "signed_off_by"))  # as _signoff_approvers
    for t in ledger.tasks:
        if t.state_text and not t.state:
            near = difflib.get_close_matches(t.state_text, vocabulary, n=1, cutoff=0.3)
            suggestion = S.STATE_SYNONYMS.get(near[0], near[0]) if near else ""
            yield Issue(
                "unknown-state",
                f"完成情况“{t.state_text}”无法识别，只能填 {'/'.join(S.STATES)}"
                + (f"，是否应为“{suggestion}”？" if suggestion else ""),
                _tloc(ledger, t, "state", "完成情况"),
            )
        if t.state == S.STATE_DONE:
            if t.completed_on is None and dates_known:
                yield Issue(
                    "done-without-date",
                    "完成情况为“已完成”但未填写完成日期，请填写实际完成日期",
                    _tloc(ledger, t, "completed_on", "完成日期"),
                )
            if not t.evidence and ledger.layout.column(S.SHEET_TASKS, "evidence"):
                yield Issue(
                    "done-without-evidence",
                    "完成情况为“已完成”但未填写佐证材料，请注明佐证材料（文件名、文号或存放位置）",
                    _tloc(ledger, t, "evidence", "佐证材料"),
                    WARNING,
                )
        elif t.completed_on is not None:
            yield Issue(
                "date-without-done",
                f"已填写完成日期，但完成情况是“{t.state_text or '空白'}”：已完成请把完成情况改为“已完成”，否则请清空完成日期",
                _tloc(ledger, t, "completed_on", "完成日期"),
            )
        if t.signed_off_on is not None:
            if t.state != S.STATE_DONE:
                yield Issue(
                    "signoff-without-done",
                    "已填写销号日期，但措施尚未标记“已完成”：请先确认完成，再销号",
                    _tloc(ledger, t, "signed_off_on", "销号日期"),
                )
            elif t.completed_on and t.signed_off_on < t.completed_on:
                yield Issue(
                    "signoff-before-done",
                    f"销号日期 {t.signed_off_on.isoformat()} 早于完成日期 {t.completed_on.isoformat()}，销号应在完成之后",
                    _tloc(ledger, t, "signed_off_on", "销号日期"),
                )
        if approver_checked and t.signed_off_on is not None and not t.signed_off_by:
            yield _no_approver(ledger, t)
        if t.state == S.STATE_LONG_TERM and t.deadline and t.deadline.on and not t.deadline.is_long_term:
            yield Issue(
                "long-term-with-deadline",
                "完成情况为“长期坚持”，但完成时限是具体日期：长期措施请把时限写为“长期坚持”，否则请改完成情况",
                _tloc(ledger, t, "deadline", "完成时限"),
                WARNING,
            )


def _signoff_approvers(ledger: Ledger) -> Iterator[Issue]:
    if not ledger.layout.column(S.SHEET_TASKS, "signed_off_by"):
        return
    for t in ledger.tasks:
        if t.signed_off_on is not None and not t.signed_off_by:
            yield _no_approver(ledger, t)


def _no_approver(ledger: Ledger, t: Task) -> Issue:
    return Issue(
        "signoff-without-approver",
        "已填写销号日期但未填写销号审核人，请补上",
        _tloc(ledger, t, "signed_off_by", "销号审核人"),
        WARNING,
    )


def _has_column(ledger: Ledger, canonical: str, key: str) -> bool:
    """The column is in the sheet (a sheet not read at all counts as having it: nothing to say then)."""
    return canonical not in ledger.layout.header_rows or ledger.layout.column(canonical, key) is not None


def rule_optional_columns(ledger: Ledger, today: date) -> Iterator[Issue]:
    """An optional column whose absence changes results is reported once, at the header row."""
    if _has_column(ledger, S.SHEET_TASKS, "completed_on") or ledger.layout.lacks(S.SHEET_TASKS, "state"):
        return
    done = sum(1 for t in ledger.tasks if t.state == S.STATE_DONE)
    if not done:
        return
    yield Issue(
        "missing-optional-column",
        f"{ledger.layout.sheet(S.SHEET_TASKS)}没有“完成日期”列（也可用：{'、'.join(S.TASK_COLUMNS_BY_KEY['completed_on'].synonyms)}），"
        f"{done} 项已完成的措施无法核对完成日期，也无法区分按期完成和逾期完成（均按按期完成计）。"
        "请在表头行添加“完成日期”列并填写",
        Location(ledger.source, ledger.layout.sheet(S.SHEET_TASKS), ledger.layout.header_rows[S.SHEET_TASKS],
                 None, "完成日期"),
        WARNING,
    )


def rule_settings(ledger: Ledger, today: date) -> Iterator[Issue]:
    """Settings that contradict each other."""
    st = ledger.settings
    name = ledger.layout.sheet(S.SHEET_SETTINGS)

    def loc(key: str) -> Location:
        row, col = st.cells.get(key, (None, None))
        return Location(ledger.source, name, row, col, S.SETTINGS_BY_KEY[key].label)

    if st.inspection_start and st.inspection_end and st.inspection_end < st.inspection_start:
        yield Issue("setting-bad", "巡察结束日期早于开始日期，请核对", loc("inspection_end"))
    if st.inspection_end and st.feedback_date and st.feedback_date < st.inspection_end:
        yield Issue("setting-bad", "反馈日期早于巡察结束日期，请核对", loc("feedback_date"))
    if st.warning_days > 60:
        yield Issue("setting-bad", f"临期预警天数 {st.warning_days} 过大（常用 3–15 天），请核对", loc("warning_days"),
                    WARNING)


RULES: tuple[Rule, ...] = (
    rule_required_values,
    rule_duplicate_ids,
    rule_task_problem_links,
    rule_known_units_and_people,
    rule_dates,
    rule_states,
    rule_optional_columns,
    rule_settings,
)


def validate_ledger(ledger: Ledger, *, today: date) -> list[Issue]:
    """Run every rule; issues come back in rule order."""
    return [issue for rule in RULES for issue in rule(ledger, today)]


__all__ = ["RULES", "validate_ledger", "ERROR", "WARNING"]
