"""Dates as staff type them, and working-day arithmetic on China's official calendar.

Pure functions: ``today`` and reference dates are always passed in.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

EXAMPLE = "请写成 2024-06-30、2024/6/30 或 2024年6月30日（月底可写 2024年6月底）"

LONG_TERM_WORDS = ("长期坚持", "长期", "持续推进", "长期推进", "持续整改", "常态化", "长期执行")
IMMEDIATE_WORDS = ("立行立改", "立即整改", "马上改")
# 立行立改 items are due within this many days of the feedback date (common practice: one month).
IMMEDIATE_DAYS = 30

_EXCEL_EPOCH = date(1899, 12, 30)


@dataclass(frozen=True)
class ParsedDate:
    """Outcome of parsing one cell: a date, a standing measure, empty, or an error message."""

    on: date | None = None
    kind: str = "date"  # date | long_term | immediate | empty | error
    error: str = ""
    # What was assumed to read the cell (a year not written, what "6月前" means): shown to staff
    # as a warning at the cell so that a silent guess never decides a published figure.
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.kind != "error"


_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_YMD_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_YM_END = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*(底|末|份|前)?$")
_MD = re.compile(r"^(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?\s*(前)?$")
_M_END = re.compile(r"^(\d{1,2})\s*月\s*(底|末|份|前)?$")
_Y_END = re.compile(r"^(\d{4})\s*年\s*(底|末)$")
_TIME_SUFFIX = re.compile(r"\s+\d{1,2}:\d{2}(:\d{2})?$")


def clean_text(value: object) -> str:
    """NFKC (full-width digits → ASCII), trimmed, internal whitespace collapsed."""
    s = unicodedata.normalize("NFKC", str(value))
    return re.sub(r"\s+", " ", s).strip()


def _make(y: int, m: int, d: int, raw: str) -> ParsedDate:
    try:
        return ParsedDate(date(y, m, d))
    except ValueError:
        return ParsedDate(kind="error", error=f"“{raw}”不是存在的日期（{y}年{m}月没有{d}日），{EXAMPLE}")


def _month_end(y: int, m: int, raw: str) -> ParsedDate:
    if not 1 <= m <= 12:
        return ParsedDate(kind="error", error=f"“{raw}”中的月份{m}不存在，{EXAMPLE}")
    return ParsedDate(date(y, m, calendar.monthrange(y, m)[1]))


def year_reference(settings) -> date | None:
    """The date that supplies the year of dates typed without one (6月底, 5月20日).

    One rule for ledger cells and county returns alike, never the clock: the ledger's 反馈日期
    (the first such date on or after it), else 1 January of its 统计截止日期's year, else none
    (the cell is then an error asking for the year).
    """
    if getattr(settings, "feedback_date", None) is not None:
        return settings.feedback_date
    as_of = getattr(settings, "as_of", None)
    return date(as_of.year, 1, 1) if as_of is not None else None


def _implied_year(month: int, day: int | None, reference: date | None, *, before: bool = False) -> int | None:
    """Year for a date typed without one: the first such date on or after the reference date.

    ``before`` ("6月前"): the date meant is the day before the month begins.
    """
    if reference is None or not 1 <= month <= 12:
        return reference.year if reference else None
    y = reference.year
    if before:
        candidate = date(y, month, 1) - timedelta(days=1)
    else:
        last = calendar.monthrange(y, month)[1]
        candidate = date(y, month, min(day or last, last))
    return y + 1 if candidate < reference else y


def _before_month(y: int, mo: int, raw: str) -> ParsedDate:
    """"2024年6月前" = before June begins: the last day of May (one rule with or without a year)."""
    if not 1 <= mo <= 12:
        return ParsedDate(kind="error", error=f"“{raw}”中的月份{mo}不存在，{EXAMPLE}")
    return ParsedDate(date(y, mo, 1) - timedelta(days=1))


def _with_note(parsed: ParsedDate, note: str) -> ParsedDate:
    return ParsedDate(parsed.on, parsed.kind, parsed.error, note) if parsed.kind != "error" else parsed


def _year_note(raw: str, on: date) -> str:
    return f"“{raw}”未写年份，按{format_cn(on)}计算；请写明年份"


def _before_note(raw: str, on: date, mo: int, *, year_written: bool) -> str:
    month_end = f"{on.year + (mo == 1)}年{mo}月底"
    head = f"“{raw}”按{format_cn(on)}（{mo}月1日之前）计算" if year_written else \
        f"“{raw}”未写年份，按{format_cn(on)}（{mo}月1日之前）计算；请写明年份"
    return f"{head}；如指{mo}月底，请写“{month_end}”"


def parse_staff_date(value: object, *, reference: date | None = None, allow_words: bool = False) -> ParsedDate:
    """Understand a date cell as staff fill it in (cached: ledgers repeat the same few dates).

    See :func:`_parse_staff_date`.
    """
    if value is None:  # most optional date cells: no cache lookup
        return _EMPTY
    try:
        return _parse_cached(value, reference, allow_words)
    except TypeError:  # an unhashable value: parse without the cache
        return _parse_staff_date(value, reference=reference, allow_words=allow_words)


_EMPTY = ParsedDate(kind="empty")


@lru_cache(maxsize=8192, typed=True)  # typed: True == 1 and 1 == 1.0 must not share an answer
def _parse_cached(value: object, reference: date | None, allow_words: bool) -> ParsedDate:
    return _parse_staff_date(value, reference=reference, allow_words=allow_words)


def _parse_staff_date(value: object, *, reference: date | None = None, allow_words: bool = False) -> ParsedDate:
    """Understand a date cell as staff fill it in.

    ``reference`` supplies the year when staff omit it (6月底): the first such date on or after it
    (pass :func:`year_reference` of the ledger's settings); the result then carries a ``note``.
    "M月前" / "YYYY年M月前" mean the day before month M begins (the last day of M-1), with a note.
    ``allow_words`` accepts 长期坚持 / 立行立改 (deadline cells); elsewhere they are errors.
    """
    if value is None:
        return ParsedDate(kind="empty")
    if isinstance(value, datetime):
        return ParsedDate(value.date())
    if isinstance(value, date):
        return ParsedDate(value)
    if isinstance(value, bool):
        return ParsedDate(kind="error", error=f"“{value}”不是日期，{EXAMPLE}")
    if isinstance(value, (int, float)):
        # An Excel serial number that reached us unformatted (e.g. a date typed into a text cell).
        # Only serials of plausible ledger dates (2000-01-01 … 9999-12-31): a small number in a
        # date cell is a typing slip, not a date in 1900.
        if 36526 <= value < 2958466:
            return ParsedDate(_EXCEL_EPOCH + timedelta(days=int(value)))
        return ParsedDate(kind="error", error=f"数字“{value}”不是日期，{EXAMPLE}")
    raw = str(value).strip()
    s = clean_text(value)
    if not s:
        return ParsedDate(kind="empty")
    s = _TIME_SUFFIX.sub("", s)
    if s in LONG_TERM_WORDS:
        if allow_words:
            return ParsedDate(kind="long_term")
        return ParsedDate(kind="error", error=f"这里应填日期，不能填“{raw}”，{EXAMPLE}")
    if s in IMMEDIATE_WORDS:
        if allow_words and reference is not None:
            return ParsedDate(reference + timedelta(days=IMMEDIATE_DAYS), kind="immediate")
        if allow_words:
            return ParsedDate(kind="error", error="“立行立改”需要基本信息中的反馈日期才能推算时限，请先填写反馈日期")
        return ParsedDate(kind="error", error=f"这里应填日期，不能填“{raw}”，{EXAMPLE}")
    if s in ("已完成", "完成", "已整改", "已销号"):
        return ParsedDate(
            kind="error",
            error=f"日期栏填了“{raw}”。完成时限请填原定日期（如 2024-06-30），完成情况请填在“完成情况”列",
        )
    if m := _YMD.match(s) or _YMD_COMPACT.match(s):
        y, mo, d = (int(g) for g in m.groups())
        if not 1 <= mo <= 12:
            return ParsedDate(kind="error", error=f"“{raw}”中的月份{mo}不存在，{EXAMPLE}")
        return _make(y, mo, d, raw)
    if m := _YM_END.match(s):
        y, mo = int(m.group(1)), int(m.group(2))
        if m.group(3) == "前":
            parsed = _before_month(y, mo, raw)
            return _with_note(parsed, _before_note(raw, parsed.on, mo, year_written=True)) if parsed.on else parsed
        return _month_end(y, mo, raw)
    if m := _Y_END.match(s):
        return ParsedDate(date(int(m.group(1)), 12, 31))
    if m := _MD.match(s):
        mo, d = int(m.group(1)), int(m.group(2))
        y = _implied_year(mo, d, reference)
        if y is None:
            return ParsedDate(kind="error", error=f"“{raw}”没有写年份，请补上年份，如 2024年{mo}月{d}日")
        parsed = _make(y, mo, d, raw)
        return _with_note(parsed, _year_note(raw, parsed.on)) if parsed.on else parsed
    if m := _M_END.match(s):
        mo = int(m.group(1))
        if not 1 <= mo <= 12:
            return ParsedDate(kind="error", error=f"“{raw}”中的月份{mo}不存在，{EXAMPLE}")
        before = m.group(2) == "前"
        y = _implied_year(mo, None, reference, before=before)
        if y is None:
            return ParsedDate(kind="error", error=f"“{raw}”没有写年份，请补上年份，如 2024年{mo}月底")
        if before:
            parsed = _before_month(y, mo, raw)
            return _with_note(parsed, _before_note(raw, parsed.on, mo, year_written=False))
        parsed = _month_end(y, mo, raw)
        return _with_note(parsed, _year_note(raw, parsed.on))
    return ParsedDate(kind="error", error=f"无法识别的日期“{raw}”，{EXAMPLE}")


def format_cn(d: date, *, with_year: bool = True) -> str:
    """2025年4月7日 (no zero padding, as GB/T 9704 requires)."""
    return f"{d.year}年{d.month}月{d.day}日" if with_year else f"{d.month}月{d.day}日"


# --- working days --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _calendar_data() -> tuple[frozenset[date], frozenset[date], int, int] | None:
    """The official calendar's (holidays, make-up workdays, first year, last year), or None to ask it day by day.

    ``chinese_calendar.is_workday`` takes min() and max() over all its holidays on every call (about 20 µs);
    its rule is applied here to its own tables instead: a workday is a make-up workday, or a Monday–Friday
    that is not a holiday, in the years from its first to its last holiday (tests compare every day).
    """
    try:
        import chinese_calendar
    except ImportError:
        return None
    holidays, workdays = getattr(chinese_calendar, "holidays", None), getattr(chinese_calendar, "workdays", None)
    if not isinstance(holidays, dict) or not isinstance(workdays, dict) or not holidays:
        return None
    return frozenset(holidays), frozenset(workdays), min(holidays).year, max(holidays).year


@lru_cache(maxsize=4096)
def _official_workday(d: date) -> bool | None:
    """True/False from the official calendar, None when the year is outside its data."""
    data = _calendar_data()
    if data is not None:
        holidays, workdays, first, last = data
        if not first <= d.year <= last:
            return None
        return d in workdays or (d.weekday() <= 4 and d not in holidays)
    try:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(d))
    except (NotImplementedError, ImportError):
        return None


def is_workday(d: date) -> tuple[bool, bool]:
    """(is a working day, known from the official calendar). Unknown years fall back to Mon–Fri."""
    official = _official_workday(d)
    if official is None:
        return d.weekday() < 5, False
    return official, True


@lru_cache(maxsize=64)
def _year_prefix(year: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per day of ``year``: working days and calendar-unknown days among the days before it (prefix sums)."""
    first = date(year, 1, 1)
    n = (date(year + 1, 1, 1) - first).days if year < 9999 else 365
    work, unknown = [0], [0]
    data = _calendar_data()
    if data is not None:  # the same rule as _official_workday, without a cached call per day
        holidays, workdays, lo, hi = data
        known = lo <= year <= hi
        total = 0
        for k in range(n):
            d = first + timedelta(days=k)
            if known:
                total += d in workdays or (d.weekday() <= 4 and d not in holidays)
            else:
                total += d.weekday() < 5
            work.append(total)
        return tuple(work), tuple(range(n + 1)) if not known else (0,) * (n + 1)
    for k in range(n):
        is_work, known = is_workday(first + timedelta(days=k))
        work.append(work[-1] + is_work)
        unknown.append(unknown[-1] + (not known))
    return tuple(work), tuple(unknown)


def _count_days(a: date, b: date) -> tuple[int, int]:
    """(working days, calendar-unknown days) in [a, b], a <= b, from each year's prefix sums."""
    work = unknown = 0
    for year in range(a.year, b.year + 1):
        w, u = _year_prefix(year)
        i = (a - date(year, 1, 1)).days if year == a.year else 0
        j = (b - date(year, 1, 1)).days + 1 if year == b.year else len(w) - 1
        work += w[j] - w[i]
        unknown += u[j] - u[i]
    return work, unknown


@lru_cache(maxsize=65536)
def working_days_until(today: date, deadline: date) -> tuple[int, bool]:
    """Working days in (today, deadline]; negative count when the deadline has passed (days in [deadline, today)).

    Returns (count, every day counted over was known from the official calendar). The days are
    tallied once per year (prefix sums), so a far deadline costs no more than a near one.
    """
    if deadline == today:
        return 0, True
    if deadline > today:
        work, unknown = _count_days(today + timedelta(days=1), deadline)
        return work, unknown == 0
    work, unknown = _count_days(deadline, today - timedelta(days=1))
    return -work, unknown == 0
