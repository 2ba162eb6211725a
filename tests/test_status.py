from datetime import date

import pytest

from toolkit.core.model import Deadline, Ledger, Problem, Settings, Task
from toolkit.core.schema import LONG_TERM_AS_DONE, LONG_TERM_AS_OPEN, LONG_TERM_EXCLUDED
from toolkit.core.status import completion_rate, evaluate_ledger, problem_status, task_status

CAL = Settings(warning_days=3, working_days=False)
WORK = Settings(warning_days=3, working_days=True)


def t(deadline=date(2025, 4, 10), state="推进中", **kw):
    dl = Deadline(None, "long_term") if deadline == "长期坚持" else Deadline(deadline)
    return Task(id=kw.pop("id", "1-1"), problem_id=kw.pop("problem_id", "1"), measure="m", deadline=dl, state=state,
                **kw)


@pytest.mark.parametrize(
    "today, label, days_overdue, days_left",
    [
        (date(2025, 4, 1), "按期推进", 0, 9),
        (date(2025, 4, 6), "按期推进", 0, 4),  # one day outside the 3-day window
        (date(2025, 4, 7), "临期", 0, 3),  # window edge counts as near
        (date(2025, 4, 10), "临期", 0, 0),  # due today: not yet overdue
        (date(2025, 4, 11), "逾期", 1, -1),
        (date(2025, 5, 10), "逾期", 30, -30),
    ],
)
def test_open_task_boundaries_in_calendar_days(today, label, days_overdue, days_left):
    st = task_status(t(), today=today, settings=CAL)
    assert (st.label, st.days_overdue, st.days_left) == (label, days_overdue, days_left)


def test_working_day_window_skips_the_qingming_holiday():
    # Deadline Tue 2025-04-08; on Thu 04-03 only 04-07 and 04-08 are working days → 2 ≤ 3: near.
    st = task_status(t(date(2025, 4, 8)), today=date(2025, 4, 3), settings=WORK)
    assert (st.label, st.working_days_left, st.days_left) == ("临期", 2, 5)  # days_left: calendar days
    # The same dates in calendar days: 5 days left → on track.
    assert task_status(t(date(2025, 4, 8)), today=date(2025, 4, 3), settings=CAL).label == "按期推进"


def test_working_day_window_counts_a_makeup_sunday():
    # 2025-04-27 (Sunday) is a make-up working day: Fri 04-25 → Mon 04-28 is 2 working days.
    st = task_status(t(date(2025, 4, 28)), today=date(2025, 4, 25), settings=WORK)
    assert (st.working_days_left, st.days_left) == (2, 3)


def test_extended_deadline_is_honoured():
    task = t(date(2025, 3, 31), extended_deadline=date(2025, 6, 30))
    st = task_status(task, today=date(2025, 4, 7), settings=CAL)
    assert (st.label, st.deadline) == ("按期推进", date(2025, 6, 30))
    late = task_status(task, today=date(2025, 7, 2), settings=CAL)
    assert (late.label, late.days_overdue) == ("逾期", 2)


def test_done_on_time_late_and_signed_off():
    on_time = t(state="已完成", completed_on=date(2025, 4, 10))
    assert task_status(on_time, today=date(2025, 5, 1), settings=CAL).label == "按期完成"
    late = t(state="已完成", completed_on=date(2025, 4, 15))
    st = task_status(late, today=date(2025, 5, 1), settings=CAL)
    assert (st.label, st.days_overdue) == ("逾期完成", 5)
    signed = t(state="已完成", completed_on=date(2025, 4, 15), signed_off_on=date(2025, 4, 20))
    assert task_status(signed, today=date(2025, 5, 1), settings=CAL).label == "已销号"


def test_long_term_is_never_overdue():
    for task in (t("长期坚持"), t(date(2024, 1, 1), state="长期坚持")):
        st = task_status(task, today=date(2030, 1, 1), settings=CAL)
        assert (st.label, st.days_overdue) == ("长期坚持", 0)


def test_problem_rollup():
    def sts(*labels):
        tasks = {"done": t(state="已完成", completed_on=date(2025, 4, 1)), "open": t(date(2025, 9, 1)),
                 "late": t(date(2025, 1, 1)), "long": t("长期坚持")}
        return [task_status(tasks[x], today=date(2025, 4, 7), settings=CAL) for x in labels]

    assert problem_status("1", sts("done", "done")).label == "已完成"
    assert problem_status("1", sts("done", "late", "open")).label == "逾期"
    assert problem_status("1", sts("done", "long")).label == "长期坚持"
    assert problem_status("1", sts("done", "open")).label == "正在整改"


@pytest.mark.parametrize(
    "rule, rate",
    [(LONG_TERM_AS_DONE, 7 / 10), (LONG_TERM_EXCLUDED, 5 / 8), (LONG_TERM_AS_OPEN, 5 / 10)],
)
def test_completion_rate_rules(rule, rate):
    assert completion_rate(5, 2, 10, rule) == pytest.approx(rate)


def test_completion_rate_of_nothing_is_none():
    assert completion_rate(0, 0, 0, LONG_TERM_AS_DONE) is None
    assert completion_rate(0, 2, 2, LONG_TERM_EXCLUDED) is None


def test_statistics_by_category_unit_and_county(demo_ledger, as_of):
    result = evaluate_ledger(demo_ledger, today=as_of)
    stats = result.stats
    assert stats.overall.total == 50
    assert sum(c.total for c in stats.by_category.values()) == 50
    assert sum(c.total for c in stats.by_unit.values()) == 50
    assert list(stats.by_category) == demo_ledger.categories()
    assert stats.by_county["连州市"].total == 2
    assert stats.by_county["清新区"].overdue == 1
    assert stats.overdue == ["7-1", "2-3"]  # most overdue first
    labels = {s.label for s in result.tasks.values()}
    assert labels == {"按期推进", "临期", "逾期", "按期完成", "逾期完成", "已销号", "长期坚持"}


def test_evaluate_is_pure_given_today(demo_ledger):
    import copy

    before = copy.deepcopy(demo_ledger)
    a = evaluate_ledger(demo_ledger, today=date(2025, 4, 7))
    assert demo_ledger == before  # the ledger is not modified
    seven_one = next(t for t in demo_ledger.tasks if t.id == "7-1")
    st = a.of(seven_one)
    assert (st.label, st.days_overdue) == ("逾期", 18)
    later = evaluate_ledger(demo_ledger, today=date(2026, 1, 5))
    assert later.stats.overall.overdue > a.stats.overall.overdue


def test_empty_ledger():
    result = evaluate_ledger(Ledger(problems=[Problem("1", "c", "x")]), today=date(2025, 1, 1))
    assert result.problems["1"].label == "正在整改"
    assert result.stats.overall.rate is None
