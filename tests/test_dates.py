from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.core.dates import format_cn, is_workday, parse_staff_date, working_days_until

REF = date(2024, 4, 2)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-06-30", date(2024, 6, 30)),
        ("2024/6/30", date(2024, 6, 30)),
        ("2024.6.30", date(2024, 6, 30)),
        ("2024年6月30日", date(2024, 6, 30)),
        ("2024年6月底", date(2024, 6, 30)),
        ("2024年2月底", date(2024, 2, 29)),
        ("2024年6月", date(2024, 6, 30)),
        ("6月底", date(2024, 6, 30)),
        ("3月底", date(2025, 3, 31)),  # year implied: the first 3月底 after the feedback date
        ("6月30日", date(2024, 6, 30)),
        ("２０２４年６月３０日", date(2024, 6, 30)),  # full-width digits
        (" 2024-06-30 \t", date(2024, 6, 30)),  # trailing spaces
        ("2024-06-30 00:00:00", date(2024, 6, 30)),
        ("20240630", date(2024, 6, 30)),
        ("2024年底", date(2024, 12, 31)),
        (45473, date(2024, 6, 30)),  # an Excel serial number
    ],
)
def test_staff_date_forms_are_understood(text, expected):
    parsed = parse_staff_date(text, reference=REF, allow_words=True)
    assert (parsed.kind, parsed.on) == ("date", expected)


def test_excel_date_objects_pass_through():
    from datetime import datetime

    assert parse_staff_date(datetime(2024, 6, 30, 0, 0)).on == date(2024, 6, 30)
    assert parse_staff_date(date(2024, 6, 30)).on == date(2024, 6, 30)


@pytest.mark.parametrize("text", ["长期", "长期坚持", " 长期坚持 ", "持续推进"])
def test_long_term_words(text):
    assert parse_staff_date(text, reference=REF, allow_words=True).kind == "long_term"


def test_immediate_is_due_a_month_after_feedback():
    parsed = parse_staff_date("立行立改", reference=REF, allow_words=True)
    assert (parsed.kind, parsed.on) == ("immediate", date(2024, 5, 2))


def test_words_are_rejected_where_a_date_is_required():
    parsed = parse_staff_date("长期坚持", reference=REF)
    assert parsed.kind == "error" and "应填日期" in parsed.error


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("2024-02-30", "不是存在的日期"),
        ("2024-13-01", "月份13不存在"),
        ("下个月", "无法识别的日期“下个月”"),
        ("已完成", "完成情况请填在“完成情况”列"),
        ("13月底", "月份13不存在"),
    ],
)
def test_garbage_is_rejected_with_how_to_write_it(text, fragment):
    parsed = parse_staff_date(text, reference=REF, allow_words=True)
    assert parsed.kind == "error"
    assert fragment in parsed.error


def test_missing_year_without_reference_asks_for_the_year():
    parsed = parse_staff_date("6月底")
    assert parsed.kind == "error" and "补上年份" in parsed.error


def test_blank_is_empty():
    assert parse_staff_date("  ").kind == "empty"
    assert parse_staff_date(None).kind == "empty"


def test_format_cn_has_no_zero_padding():
    assert format_cn(date(2025, 4, 7)) == "2025年4月7日"
    assert format_cn(date(2025, 5, 6), with_year=False) == "5月6日"


def test_official_holidays_and_makeup_workdays():
    assert is_workday(date(2025, 4, 4)) == (False, True)  # 清明节 (a Friday)
    assert is_workday(date(2025, 4, 27)) == (True, True)  # Sunday make-up workday for 劳动节
    assert is_workday(date(2025, 5, 1)) == (False, True)


def test_working_days_skip_holidays():
    # 2025-04-03 (Thu) → 2025-04-08 (Tue): 4/4 清明, 4/5-6 weekend: only 4/7 and 4/8 count.
    assert working_days_until(date(2025, 4, 3), date(2025, 4, 8)) == (2, True)
    assert working_days_until(date(2025, 4, 8), date(2025, 4, 3)) == (-2, True)


def first_year_without_calendar_data() -> int:
    """The first year chinesecalendar has no data for, whatever version is installed."""
    import chinese_calendar

    known = set(chinese_calendar.holidays) | set(chinese_calendar.workdays)
    return max(known).year + 1


def test_unknown_year_falls_back_to_weekdays():
    from datetime import timedelta

    import chinese_calendar

    year = first_year_without_calendar_data()
    with pytest.raises(NotImplementedError):  # the library itself has no data for it
        chinese_calendar.is_workday(date(year, 6, 1))
    monday = date(year, 1, 1) + timedelta(days=(7 - date(year, 1, 1).weekday()) % 7)
    assert working_days_until(monday, monday + timedelta(days=7)) == (5, False)


def test_cached_parsing_keeps_bool_and_number_apart():
    # Regression: the parse cache must not answer 1 with the result for True (True == 1).
    assert parse_staff_date(True).kind == "error"
    assert parse_staff_date(45473).on == date(2024, 6, 30)
    assert parse_staff_date(1).kind == "error"  # a typing slip, not 1900-01-01
    assert parse_staff_date(True).kind == "error"


def _days_one_by_one(today: date, deadline: date) -> tuple[int, bool]:
    """The definition, day by day: working days in (today, deadline], or minus those in [deadline, today)."""
    from datetime import timedelta

    step = 1 if deadline > today else -1
    count, exact, d = 0, True, today
    while d != deadline:
        d += timedelta(days=step)
        work, known = is_workday(d)
        exact &= known
        count += step * work
    return count, exact


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.dates(date(2018, 1, 1), date(2031, 12, 31)), st.integers(-900, 900))
def test_working_days_by_prefix_sums_equal_the_day_by_day_count(today: date, span: int) -> None:
    """Across year ends, holidays, make-up workdays and years the calendar does not know."""
    from datetime import timedelta

    deadline = today + timedelta(days=span)
    working_days_until.cache_clear()
    assert working_days_until(today, deadline) == _days_one_by_one(today, deadline)


def test_workdays_follow_the_official_calendar_day_by_day() -> None:
    """Our reading of chinese_calendar's tables gives its own is_workday answer on every day it knows,
    and the year prefix sums count the same days (its first and last years, and every year between)."""
    from datetime import timedelta

    import chinese_calendar

    from toolkit.core import dates

    first, last = min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year
    assert dates._calendar_data() is not None  # the fast path is the one measured here
    for year in range(first, last + 1):
        d, total = date(year, 1, 1), 0
        work, unknown = dates._year_prefix(year)
        k = 0
        while d.year == year:
            official = bool(chinese_calendar.is_workday(d))
            assert is_workday(d) == (official, True), d
            total += official
            k += 1
            assert (work[k], unknown[k]) == (total, 0), d
            d += timedelta(days=1)
    outside = first_year_without_calendar_data()
    work, unknown = dates._year_prefix(outside)
    assert unknown[-1] == len(work) - 1 and work[-1] == sum(
        (date(outside, 1, 1) + timedelta(days=k)).weekday() < 5 for k in range(len(work) - 1))
