"""Consistency lint of a rendered notice: every number in its text re-derived from the ledger.

Two checks, both reporting the paragraph (1-based, body paragraphs in document order):

- :func:`check_figures` — run on every notice as it is rendered. The figures the toolkit computes
  are derived again here, independently of the context builder, from the ledger and the task and
  problem statuses: the statistics sentence's counts and completion rate (problems, and measures
  when counted), the inspection and feedback dates of the opening paragraph, the public period,
  the date line, and the problem numbering 1…N. Any other date in the text must be a date of the
  ledger (基本信息) or appear verbatim in the ledger's own text (措施, 进展, 通报正文).
- :func:`toolkit.notice.verify.verify_notice_file` — for a notice .docx that may have been edited by hand: the same
  checks, plus each paragraph's numbers compared with the paragraph the ledger produces now (the
  paragraphs are matched by their text with the digits taken out), so a count, a date or a figure
  in a progress narrative changed in Word is found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from toolkit.core.model import Ledger, Settings
from toolkit.core.schema import BASIC_DONE_AS_DONE, LONG_TERM_AS_DONE, LONG_TERM_AS_OPEN, LONG_TERM_EXCLUDED
from toolkit.notice.text import clean_text, date_cn

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_RANGE_END = re.compile(r"至(\d{1,2})月(\d{1,2})日")
_BRACKETS = re.compile(r"（[^（）]*）")


@dataclass(frozen=True)
class NumberProblem:
    """A number in the notice that the ledger does not give."""

    code: str  # wrong-count / wrong-rate / wrong-date / unknown-date / numbering-gap / changed-number / unmatched
    message: str  # Chinese
    paragraph: int  # 1-based body paragraph
    excerpt: str

    def describe(self) -> str:
        return f"通报第{self.paragraph}段（“{self.excerpt}”）：{self.message}"


def _excerpt(text: str, limit: int = 30) -> str:
    text = text.replace("\n", "")
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True)
class _Tally:
    total: int
    done: int
    basic: int
    long_term: int
    open: int


def _tally(codes: list[str]) -> _Tally:
    from toolkit.core.status import BASIC_DONE, DONE_CODES, LONG_TERM, P_BASIC_DONE, P_DONE, P_LONG_TERM

    done = sum(c in DONE_CODES or c == P_DONE for c in codes)
    basic = sum(c in (BASIC_DONE, P_BASIC_DONE) for c in codes)
    long_term = sum(c in (LONG_TERM, P_LONG_TERM) for c in codes)
    return _Tally(len(codes), done, basic, long_term, len(codes) - done - basic - long_term)


def _shown(t: _Tally, s: Settings) -> tuple[dict[str, int], Fraction | None]:
    """What the sentence must say for ``t`` (status word → number) and the exact completion rate."""
    basic_in = s.basic_done_rule == BASIC_DONE_AS_DONE
    done_w, open_w, long_w = (clean_text(x) for x in (s.word_done, s.word_open, s.word_long_term))
    done = t.done + (t.basic if basic_in else 0)
    shown = {done_w: done + (t.long_term if s.long_term_rule == LONG_TERM_AS_DONE else 0),
             open_w: t.open + (t.long_term if s.long_term_rule == LONG_TERM_AS_OPEN else 0)}
    if not basic_in and t.basic:
        shown["基本完成"] = t.basic
    if s.long_term_rule == LONG_TERM_EXCLUDED and t.long_term:
        shown[long_w] = t.long_term
    numerator, denominator = done, t.total
    if s.long_term_rule == LONG_TERM_EXCLUDED:
        denominator -= t.long_term
    elif s.long_term_rule != LONG_TERM_AS_OPEN:
        numerator += t.long_term
    return shown, (Fraction(numerator, denominator) if denominator else None)


def _rate_text(rate: Fraction) -> str:
    from toolkit.notice.context import format_rate

    return format_rate(float(rate))


def _check_clause(clause: str, t: _Tally, s: Settings, unit: str, noun: str, n: int, text: str) -> list[NumberProblem]:
    out: list[NumberProblem] = []
    shown, rate = _shown(t, s)
    flat = _BRACKETS.sub("", clause)
    for word, expected in shown.items():
        m = re.search(re.escape(word) + r"(\d+)" + unit, flat)
        if m is None:
            if expected:
                out.append(NumberProblem("wrong-count", f"统计句缺少“{word}{expected}{unit}”（{noun}）。", n, _excerpt(text)))
        elif int(m.group(1)) != expected:
            out.append(NumberProblem(
                "wrong-count", f"“{word}{m.group(1)}{unit}”与台账不一致：台账为{expected}{unit}（{noun}）。", n, _excerpt(text)))
    m = re.search(r"完成率([\d.]+)%", clause)
    if m and rate is not None and f"{m.group(1)}%" != _rate_text(rate):
        out.append(NumberProblem(
            "wrong-rate", f"完成率“{m.group(1)}%”与台账不一致：台账为{_rate_text(rate)}（{noun}）。", n, _excerpt(text)))
    return out


def _ledger_text(ledger: Ledger) -> str:
    parts = [x for t in ledger.tasks for x in (t.measure, t.progress)]
    parts += [x for p in ledger.problems for x in (p.title, p.finding, p.category)]
    parts += [x for p in ledger.notice_text for x in (p.lead, p.text)]
    return "\n".join(clean_text(x) for x in parts)


def check_figures(
    paragraphs: list[tuple[str, str]], ledger: Ledger, settings: Settings, status, *, today: date
) -> list[NumberProblem]:
    """Problems with the computed figures of a notice given as (style name, text) body paragraphs.

    ``settings`` are the ledger's settings with the profile applied (what the notice was rendered with).
    """
    from toolkit.core.status import problem_count_code

    s = settings
    out: list[NumberProblem] = []
    notice_day = s.notice_date or today
    public_end = notice_day + timedelta(days=max(s.public_days, 1) - 1)
    known = {d for d in (s.inspection_start, s.inspection_end, s.feedback_date, notice_day, public_end, today) if d}
    corpus_dates = set(_DATE.findall(_ledger_text(ledger)))  # (y, m, d) as written in the ledger's own text
    problems = _tally([problem_count_code(ps) for ps in status.problem_rows])
    measures = _tally([st.code for st in status.rows])
    problem_numbers: list[int] = []
    for n, (style, text) in enumerate(paragraphs, start=1):
        flat = text.replace("\n", "")
        # Statistics sentence(s): …反馈的N个问题中，…；制定的M项整改措施中，….
        if "反馈的" in flat:
            out += _check_sentence(flat, text, n, problems, measures, s)
        out += _check_dates(flat, text, n, style, s, notice_day, public_end, known, corpus_dates)
        if ledger.outcomes:
            out += _check_outcomes(flat, text, n, ledger)
        if style == "公文三级标题" or (style == "公文二级标题" and s.notice_levels == 1):
            m = re.match(r"^(\d+)\.", flat)
            if m:
                problem_numbers.append(int(m.group(1)))
    if problem_numbers and problem_numbers != list(range(1, len(problem_numbers) + 1)):
        out.append(NumberProblem("numbering-gap", f"问题序号不连续：{problem_numbers[:20]}。", 0, ""))
    withheld = sum(int(m.group(1)) for _, text in paragraphs for m in re.finditer(r"另有(\d+)个问题按规定不予公开", text))
    if problem_numbers and len(problem_numbers) + withheld != problems.total:
        out.append(NumberProblem(
            "wrong-count",
            f"通报列出{len(problem_numbers)}个问题、说明不予公开{withheld}个，合计与问题清单的{problems.total}个不一致。", 0, ""))
    return out


def _check_sentence(flat: str, text: str, n: int, problems: _Tally, measures: _Tally, s: Settings) -> list[NumberProblem]:
    """The statistics sentence(s): …反馈的N个问题中，…；制定的M项整改措施中，…."""
    out: list[NumberProblem] = []
    for m in re.finditer(r"反馈的(\d+)个问题中，([^；。]*)", flat):
        if int(m.group(1)) != problems.total:
            out.append(NumberProblem("wrong-count", f"问题总数“{m.group(1)}个”与台账不一致：问题清单有{problems.total}个问题。",
                                     n, _excerpt(text)))
        out += _check_clause(m.group(2), problems, s, "个", "问题", n, text)
    for m in re.finditer(r"制定的(\d+)项整改措施中，([^；。]*)", flat):
        if int(m.group(1)) != measures.total:
            out.append(NumberProblem("wrong-count", f"措施总数“{m.group(1)}项”与台账不一致：任务清单有{measures.total}项措施。",
                                     n, _excerpt(text)))
        out += _check_clause(m.group(2), measures, s, "项", "措施", n, text)
    return out


def _check_dates(flat: str, text: str, n: int, style: str, s: Settings, notice_day: date, public_end: date,
                 known: set, corpus_dates: set) -> list[NumberProblem]:
    """The opening paragraph's dates, the public period, the date line, and every other date."""
    out: list[NumberProblem] = []
    if "日" not in flat:
        return out
    if flat.startswith("根据") and "开展了巡察" in flat:
        for label, d in (("巡察开始日期", s.inspection_start), ("巡察结束日期", s.inspection_end), ("反馈日期", s.feedback_date)):
            if d and date_cn(d) not in flat:
                out.append(NumberProblem("wrong-date", f"开头段落中没有基本信息的{label}“{date_cn(d)}”，日期可能被改动。",
                                         n, _excerpt(text)))
    if "公开期限" in flat:
        m = re.search(r"公开期限：(\d{4})年(\d{1,2})月(\d{1,2})日至(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日", flat)
        if m:
            start = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            end = date(int(m.group(4) or m.group(1)), int(m.group(5)), int(m.group(6)))
            if (start, end) != (notice_day, public_end):
                out.append(NumberProblem(
                    "wrong-date",
                    f"公开期限与基本信息不一致：应为{date_cn(notice_day)}至{date_cn(public_end)}（通报日期起{s.public_days}天）。",
                    n, _excerpt(text)))
    if style == "公文日期" and flat != date_cn(notice_day):
        out.append(NumberProblem("wrong-date", f"成文日期应为基本信息的通报日期“{date_cn(notice_day)}”。", n, _excerpt(text)))
    for m in _DATE.finditer(flat):
        try:
            d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            d = None
        if d not in known and m.groups() not in corpus_dates:
            out.append(NumberProblem("unknown-date", f"日期“{m.group(0)}”在台账中找不到，请核对。", n, _excerpt(text)))
    return out


def _check_outcomes(flat: str, text: str, n: int, ledger: Ledger) -> list[NumberProblem]:
    """问责与成效: each item's figure, and the accountability total."""
    out: list[NumberProblem] = []
    for o in ledger.outcomes:
        item = clean_text(o.item)
        if not item or item not in flat:
            continue
        for m in re.finditer(re.escape(item) + r"(\d+(?:\.\d+)?)", flat):
            if abs(float(m.group(1)) - o.amount) > 1e-9:
                out.append(NumberProblem(
                    "wrong-count", f"“{item}{m.group(1)}”与“问责与成效”工作表第{o.row}行（{_num(o.amount)}）不一致。",
                    n, _excerpt(text)))
    blame = [o.amount for o in ledger.outcomes if clean_text(o.kind) == "问责"]
    m = re.search(r"问责处理(\d+)人（其中", flat)
    if m and blame and int(m.group(1)) != sum(blame):
        out.append(NumberProblem(
            "wrong-count", f"问责处理人数“{m.group(1)}人”与“问责与成效”工作表合计（{_num(sum(blame))}人）不一致。",
            n, _excerpt(text)))
    return out


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def _digits_out(text: str) -> str:
    return _NUMBER.sub("#", text.replace("\n", ""))


def compare_numbers(paragraphs: list[str], expected: list[str]) -> list[NumberProblem]:
    """Each paragraph's numbers against those of the paragraph the ledger gives now (matched by text without digits)."""
    by_shape: dict[str, list[str]] = {}
    for text in expected:
        by_shape.setdefault(_digits_out(text), []).append(text)
    out: list[NumberProblem] = []
    for n, text in enumerate(paragraphs, start=1):
        candidates = by_shape.get(_digits_out(text), [])
        if text in candidates:
            candidates.remove(text)
            continue
        numbers = _NUMBER.findall(text)
        if not numbers:
            continue
        if not candidates:
            out.append(NumberProblem(
                "unmatched", "这一段与台账生成的文字不同，其中的数字无法核对：请核对数字，或改台账后重新生成通报。",
                n, _excerpt(text)))
            continue
        want = candidates.pop(0)
        diffs = [(a, b) for a, b in zip(numbers, _NUMBER.findall(want), strict=False) if a != b]
        shown = "；".join(f"“{a}”应为“{b}”" for a, b in diffs[:5])
        out.append(NumberProblem("changed-number", f"数字与台账不一致：{shown}。", n, _excerpt(text)))
    return out
