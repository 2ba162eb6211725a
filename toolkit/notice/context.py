"""Ledger + statuses → the notice's template context. Pure: no Word, no files.

Every ordinal (一、 （一） 1. （1） 一是) is computed here as text; the template never uses
Word list numbering (numbered lists inside docxtpl loops do not restart).

Numbering levels (setting ``notice_levels``, 通报编号层级) inside section 二:

=====  ==========================  ============================  =========================
level  categories (问题方面)         problems (问题)                measures (整改措施)
=====  ==========================  ============================  =========================
1      omitted                     （一）… 公文二级标题 (楷体)      一是… run-in, 公文正文
2      （一）… 公文二级标题 (楷体)    1. 2. … 公文三级标题 (仿宋)      一是… run-in, 公文正文
3      （一）… 公文二级标题 (楷体)    1. 2. … 公文三级标题 (仿宋)      （1）… paragraphs, 公文正文
=====  ==========================  ============================  =========================

Problems are numbered 1…N (or （一）…) across all categories, measures restart for each
problem. Level 2 is the reference notice's layout.
"""

from __future__ import annotations

import dataclasses
import re
import string
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from toolkit.core.model import Ledger, NoticeParagraph, Problem, Settings, Task
from toolkit.core.schema import (
    BASIC_DONE_AS_DONE,
    LONG_TERM_AS_OPEN,
    LONG_TERM_EXCLUDED,
    SETTINGS_BY_KEY,
    STATS_ABSENT,
    STATS_BEFORE_SECTION2,
    STATS_IN_INTRO,
    STATS_IN_SECTION1,
)
from toolkit.notice.errors import NoticeDataError
from toolkit.notice.text import (
    break_title,
    chinese_number,
    clean_text,
    date_cn,
    end_sentence,
    join_lead,
    ordinal_arabic,
    ordinal_item,
    ordinal_paren_arabic,
    ordinal_paren_cn,
    public_period,
    signature_indents,
    without_typed_item_ordinal,
    without_typed_ordinal,
)

if TYPE_CHECKING:
    from toolkit.core.status import LedgerStatus, TaskStatus

HEADING2 = "heading2"
HEADING3 = "heading3"
BODY = "body"

PROBLEM_HEADING_FIELDS = {
    "title": "问题标题",
    "status": "整改状态（按“已完成用语”等设置）",
    "id": "问题编号",
    "category": "问题方面",
}
TITLE_MAX_WIDTH = 20  # characters of 2号 (22 pt) in the 156 mm type width


@dataclass(frozen=True)
class BodyItem:
    """One paragraph of section 二.

    ``kind`` picks the template branch (heading2 / heading3 / body); ``role`` says what it
    is (category / problem / finding / measure) and ``ref`` the problem or task id.
    """

    kind: str
    text: str
    role: str
    ref: str = ""


# What a notice template may use: lint compares against these.
NOTICE_VARIABLES: frozenset[str] = frozenset(
    {
        "title",
        "intro",
        "party_group",
        "unit_name",
        "unit_short",
        "deployer",
        "inspection_round",
        "inspection_group",
        "section1",
        "stats_sentence",
        "body",
        "section3",
        "public_period",
        "contact_sentence",
        "phone",
        "address",
        "email",
        "signature",
        "date_text",
    }
)
NOTICE_ITEM_FIELDS: dict[str, frozenset[str]] = {
    "body": frozenset({"kind", "text", "role", "ref"}),
    "section3": frozenset({"lead", "text"}),
}


@dataclass
class NoticeContext:
    """The template variables plus what the renderer applies after docxtpl (indents)."""

    variables: dict
    signature_indent: float  # right indent of the signature, in characters
    date_indent: float  # right indent of the date, in characters
    warnings: list[str] = field(default_factory=list)


def _label(key: str) -> str:
    return SETTINGS_BY_KEY[key].label


def require_settings(settings: Settings, keys: tuple[str, ...], purpose: str) -> None:
    """Raise :class:`NoticeDataError` naming every missing setting by its 基本信息 label."""
    missing = [k for k in keys if getattr(settings, k) in (None, "")]
    if missing:
        names = "、".join(f"“{_label(k)}”" for k in missing)
        raise NoticeDataError(f"生成{purpose}需要基本信息中的{names}，请在“基本信息”工作表填写后再生成。")


# Words that end a unit inside the round's name: a title line may break after them
# (八届市委 | 第四轮巡察), never inside them (八届 | 市委 splits "八届市委").
_ROUND_WORD_ENDS = ("市委", "省委", "县委", "区委", "州委", "党委", "党组")


def title_break_points(group: str, round_: str) -> list[int]:
    """Offsets in the title where a line may break without splitting a word (GB/T 9704 7.3.1).

    After the Party group's name, after 关于, after an organ inside the round (八届市委 | 第四轮巡察)
    and after the round (… 巡察 | 整改进展情况的通报).
    """
    head = len(group) + 2
    breaks = [len(group), head, head + len(round_)]
    for word in _ROUND_WORD_ENDS:
        at = round_.find(word)
        if at > 0:  # 八届市委 | 第四轮巡察; a round starting with 市委 keeps 市委第三轮巡察 together
            breaks.append(head + at + len(word))
    return breaks


def notice_title_lines(settings: Settings, warnings: list[str] | None = None) -> list[str]:
    """中共…党组关于…巡察整改进展情况的通报, broken at meaningful points.

    ``标题断行`` (the same title with / where each line ends) overrides the automatic breaks; one that
    does not spell the title is ignored with a warning.
    """
    group, round_ = clean_text(settings.party_group), clean_text(settings.inspection_round)
    title = f"{group}关于{round_}整改进展情况的通报"
    override = clean_text(settings.notice_title_break)
    if override:
        lines = [x.strip() for x in re.split(r"[/／|｜]", override) if x.strip()]
        if "".join(lines) == title:
            return lines
        if warnings is not None:
            warnings.append(
                f"基本信息“{_label('notice_title_break')}”与通报标题不一致（应为“{title}”，用 / 标出换行处），"
                "已按自动断行生成。"
            )
    return break_title(title, title_break_points(group, round_), max_width=TITLE_MAX_WIDTH)


def notice_intro(settings: Settings, stats: str = "") -> str:
    """The opening paragraph (inspection dates, group, feedback date); ``stats`` goes before 按照…."""
    s = settings
    short = clean_text(s.unit_short or s.unit_name)
    group = clean_text(s.inspection_group)
    verb = clean_text(s.notice_publish_verb) or "予以公布"
    return (
        f"根据{clean_text(s.deployer) or '市委'}统一部署，{date_cn(s.inspection_start)}至{date_cn(s.inspection_end)}，"
        f"{group}对{short}党组开展了巡察。{date_cn(s.feedback_date)}，{group}向{short}党组反馈了巡察意见。"
        f"{stats}按照巡察工作有关要求，现将巡察整改进展情况{verb}。"
    )


def contact_sentence(settings: Settings) -> str:
    """联系方式：电话…；邮政地址：…；电子邮箱…。 — only the parts that are filled in."""
    parts = []
    if phone := clean_text(settings.phone):
        parts.append(f"电话{phone}")
    if address := clean_text(settings.address):
        parts.append(f"邮政地址：{address}")
    if email := clean_text(settings.email):
        parts.append(f"电子邮箱{email}")
    return f"联系方式：{'；'.join(parts)}。" if parts else ""


def format_rate(rate: float) -> str:
    """0.76 → 76%, 0.8125 → 81.3% (one decimal, rounded half up, only when needed)."""
    pct = Decimal(repr(rate * 100))
    whole = pct.quantize(Decimal("1"), ROUND_HALF_UP)
    if abs(pct - whole) < Decimal("0.05"):
        return f"{whole}%"
    return f"{pct.quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


def _tally_parts(c, settings: Settings, unit: str, noun: str) -> tuple[str, str]:
    """``已完成整改X个、基本完成B个、正在整改Y个`` and the note after the rate, by the ledger's rules."""
    done_w, open_w, long_w = (clean_text(x) for x in (settings.word_done, settings.word_open, settings.word_long_term))
    basic_w = "基本完成"
    long_note = f"（其中{long_w}{c.long_term}{unit}）" if c.long_term else ""
    basic_in = settings.basic_done_rule == BASIC_DONE_AS_DONE
    done = c.done + (c.basic_done if basic_in else 0)
    basic_part = f"（其中{basic_w}{c.basic_done}{unit}）" if basic_in and c.basic_done else ""
    basic_sep = f"、{basic_w}{c.basic_done}{unit}" if not basic_in and c.basic_done else ""
    rule = settings.long_term_rule
    if rule == LONG_TERM_EXCLUDED:
        parts = f"{done_w}{done}{unit}{basic_part}{basic_sep}、{open_w}{c.open}{unit}" + (
            f"、{long_w}{c.long_term}{unit}" if c.long_term else "")
        note = f"（{long_w}的{noun}不计入完成率）" if c.long_term else ""
    elif rule == LONG_TERM_AS_OPEN:
        parts = f"{done_w}{done}{unit}{basic_part}{basic_sep}、{open_w}{c.open + c.long_term}{unit}{long_note}"
        note = ""
    else:  # counted as done
        both = f"（其中{long_w}{c.long_term}{unit}、{basic_w}{c.basic_done}{unit}）" if basic_part and long_note else ""
        parts = f"{done_w}{done + c.long_term}{unit}{both or long_note or basic_part}{basic_sep}、{open_w}{c.open}{unit}"
        note = ""
    return parts, note


def stats_sentence(settings: Settings, status: LedgerStatus, *, today: date) -> str:
    """截至…，…反馈的N个问题中，已完成整改X个、正在整改Y个，完成率Z%。

    Counts come from the status engine's problem tally; 长期坚持 is reported according to
    ``long_term_rule``: 计为已完成 (counted as done, shown in brackets), 不计入 (listed
    separately and left out of the rate), 计为未完成 (counted as open, shown in brackets).
    基本完成 follows ``basic_done_rule``: listed on its own (在完成率分母中、不在分子中), or counted
    as done and shown in brackets. With 统计句含措施数 the measures get a clause of their own.
    """
    c = status.stats.problems_overall
    if not c.total:
        return ""
    lead = f"截至{date_cn(today)}，{clean_text(settings.inspection_group)}反馈的{c.total}个问题中，"
    parts, note = _tally_parts(c, settings, "个", "问题")
    rate = f"，完成率{format_rate(c.rate)}{note}" if c.rate is not None else ""
    out = f"{lead}{parts}{rate}"
    m = status.stats.overall
    if settings.notice_count_measures and m.total:
        mparts, mnote = _tally_parts(m, settings, "项", "措施")
        mrate = f"，完成率{format_rate(m.rate)}{mnote}" if m.rate is not None else ""
        out += f"；制定的{m.total}项整改措施中，{mparts}{mrate}"
    return out + "。"


def _status_word(settings: Settings, code: str) -> str:
    if code == "done":
        return clean_text(settings.word_done)
    if code == "long_term":
        return clean_text(settings.word_long_term)
    return clean_text(settings.word_open)


def _check_heading_format(fmt: str) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(fmt) if f is not None]
    except ValueError as exc:
        raise NoticeDataError(
            f"“问题标题格式”写法有误（{fmt}）：花括号要成对使用，如 关于“{{title}}”问题的整改。"
        ) from exc
    allowed = "、".join(f"{{{k}}}（{v}）" for k, v in PROBLEM_HEADING_FIELDS.items())
    for name in fields:
        if name not in PROBLEM_HEADING_FIELDS:
            shown = f"{{{name}}}" if name else "{}"
            raise NoticeDataError(f"“问题标题格式”中的 {shown} 无法识别，可以使用：{allowed}。")


def problem_heading(settings: Settings, problem: Problem, status_code: str) -> str:
    """The problem's heading text (without its ordinal) from ``notice_problem_heading``."""
    fmt = settings.notice_problem_heading or "{title}"
    _check_heading_format(fmt)
    values = {
        "title": without_typed_ordinal(clean_text(problem.title)),
        "status": _status_word(settings, status_code),
        "id": clean_text(problem.id),
        "category": clean_text(problem.category),
    }
    return clean_text(fmt.format_map(values))


def measure_text(task: Task) -> str:
    """Measure (lead sentence) followed by its progress narrative, ending a sentence."""
    return end_sentence(join_lead(without_typed_item_ordinal(clean_text(task.measure)), clean_text(task.progress)))


def _withheld_summary(problems: list[Problem], status: LedgerStatus, settings: Settings) -> str:
    """另有N个问题按规定不予公开（其中已完成整改X个、正在整改Y个）。 — the public edition's honest total."""
    done = sum(1 for p in problems if (ps := status.problems.get(p.id)) and ps.code == "done")
    long_term = sum(1 for p in problems if (ps := status.problems.get(p.id)) and ps.code == "long_term")
    rest = len(problems) - done - long_term
    parts = [f"{clean_text(settings.word_done)}{done}个" if done else "",
             f"{clean_text(settings.word_long_term)}{long_term}个" if long_term else "",
             f"{clean_text(settings.word_open)}{rest}个" if rest else ""]
    return f"另有{len(problems)}个问题按规定不予公开（其中{'、'.join(x for x in parts if x)}）。"


def section2_items(ledger: Ledger, status: LedgerStatus, warnings: list[str], *, public: bool = False) -> list[BodyItem]:
    """Section 二 paragraphs (categories, problems, findings, measures) per ``notice_levels``.

    ``public`` (公开版): problems and measures whose 是否公开 is 否 are left out; each category ends
    with a sentence counting its withheld problems by status, each problem with one counting its
    withheld measures, so the edition's totals still add up to the ledger's.
    """
    s = ledger.settings
    levels = s.notice_levels
    if levels not in (1, 2, 3):
        raise NoticeDataError(f"“{_label('notice_levels')}”应为 1、2 或 3，现在是“{levels}”。")
    tasks = ledger.tasks_by_problem()
    known = {p.id for p in ledger.problems}
    for pid, ts in tasks.items():
        if pid not in known:
            for t in ts:
                warnings.append(f"任务{t.id}对应的问题编号“{pid}”不在问题清单中，未写入通报。")
    items: list[BodyItem] = []
    problem_no = 0
    for cat_no, category in enumerate(ledger.categories(), start=1):
        if levels > 1:
            items.append(BodyItem(HEADING2, ordinal_paren_cn(cat_no) + without_typed_ordinal(clean_text(category)),
                                  "category"))
        in_category = [p for p in ledger.problems if p.category == category]
        withheld = [p for p in in_category if public and not p.public]
        for problem in (p for p in in_category if not (public and not p.public)):
            problem_no += 1
            pstatus = status.problems.get(problem.id)
            heading = problem_heading(s, problem, pstatus.code if pstatus else "open")
            if levels == 1:
                items.append(BodyItem(HEADING2, ordinal_paren_cn(problem_no) + heading, "problem", problem.id))
            else:
                items.append(BodyItem(HEADING3, ordinal_arabic(problem_no) + heading, "problem", problem.id))
            if s.notice_quote_finding:
                finding = end_sentence(clean_text(problem.finding))
                if finding:
                    items.append(BodyItem(BODY, finding, "finding", problem.id))
                else:
                    warnings.append(f"问题{problem.id}没有填写“反馈问题原文”，通报中未引用原文。")
            own = tasks.get(problem.id, [])
            shown = [t for t in own if not (public and not t.public)]
            if not own:
                warnings.append(f"问题{problem.id}没有整改措施，通报中只有标题。")
            elif (label := clean_text(s.notice_measures_label)) and shown:
                items.append(BodyItem(BODY, label, "label", problem.id))
            for n, task in enumerate(shown, start=1):
                ordinal = ordinal_paren_arabic(n) if levels == 3 else ordinal_item(n)
                items.append(BodyItem(BODY, ordinal + measure_text(task), "measure", task.id))
            if len(shown) < len(own):
                items.append(BodyItem(BODY, f"另有{len(own) - len(shown)}项整改措施按规定不予公开。", "withheld", problem.id))
        if withheld:
            items.append(BodyItem(BODY, _withheld_summary(withheld, status, s), "withheld"))
    return items


def _amount(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def outcomes_sentence(ledger: Ledger) -> str:
    """问责处理N人（其中政务处分a人、组织处理b人…），建立完善制度Y项，挽回经济损失Z万元。 (zeros printed)."""
    blame = [o for o in ledger.outcomes if clean_text(o.kind) == "问责"]
    gains = [o for o in ledger.outcomes if clean_text(o.kind) != "问责"]
    parts = []
    if blame:
        total = sum(o.amount for o in blame)
        detail = "、".join(f"{clean_text(o.item)}{_amount(o.amount)}{clean_text(o.unit) or '人'}" for o in blame)
        parts.append(f"问责处理{_amount(total)}人（其中{detail}）" if len(blame) > 1 else f"问责处理{detail}")
    parts += [f"{clean_text(o.item)}{_amount(o.amount)}{clean_text(o.unit)}" for o in gains]
    return f"巡察整改中，{'，'.join(parts)}。" if parts else ""


def _section_of(p: NoticeParagraph) -> str:
    s = clean_text(p.section)
    for key, names in (("一", ("一", "1", "第一部分")), ("三", ("三", "3", "第三部分"))):
        if s in names or s.startswith(key + "、"):
            return key
    return s


@dataclass(frozen=True)
class LeadParagraph:
    """A paragraph whose numbered lead sentence has its own font (section 三: （一）… in 楷体).

    ``str()`` gives the whole paragraph, so a template that writes ``{{ text }}`` still works.
    """

    lead: str
    text: str

    def __str__(self) -> str:
        return self.lead + self.text


def _text_paragraphs(paragraphs: list[NoticeParagraph], *, ordinal, run_in: bool) -> list[LeadParagraph]:
    """Stand-alone paragraphs (no lead) and numbered items, either run into the paragraph
    before them (section 一: 一是…二是…) or each a paragraph of its own (section 三: （一）…)."""
    out: list[LeadParagraph] = []
    n = 0
    for p in sorted(paragraphs, key=lambda p: p.order):
        lead, text = clean_text(p.lead), clean_text(p.text)
        if not lead:
            if text:
                out.append(LeadParagraph("", end_sentence(text)))
            continue
        n += 1
        head = ordinal(n) + lead
        if text and not _ends_lead(lead):
            head += "。"
        piece = end_sentence(head + text)
        if run_in and out:
            out[-1] = LeadParagraph(out[-1].lead, out[-1].text + piece)
        else:
            split = len(head) if text else len(piece)
            out.append(LeadParagraph(piece[:split], piece[split:]))
    return out


def _ends_lead(lead: str) -> bool:
    return join_lead(lead, "x") == lead + "x"


def section1_paragraphs(paragraphs: list[NoticeParagraph]) -> list[str]:
    """Section 一: stand-alone paragraphs, with items run in as 一是…二是… after them."""
    return [str(p) for p in _text_paragraphs(paragraphs, ordinal=ordinal_item, run_in=True)]


def section3_paragraphs(paragraphs: list[NoticeParagraph]) -> list[LeadParagraph]:
    """Section 三: stand-alone paragraphs and one （一）… paragraph per item, its lead sentence apart."""
    return _text_paragraphs(paragraphs, ordinal=ordinal_paren_cn, run_in=False)


NOTICE_REQUIRED = (
    "party_group",
    "inspection_round",
    "inspection_group",
    "inspection_start",
    "inspection_end",
    "feedback_date",
)


EDITION_ALIASES = {"public": "公开版", "internal": "党内版", "公开": "公开版", "党内": "党内版"}


def edition_name(name: str) -> str:
    """公开版 / 党内版 from a Chinese name or the alias public / internal; NoticeDataError otherwise."""
    key = (name or "").strip()
    key = EDITION_ALIASES.get(key.lower(), key)
    if key not in ("公开版", "党内版"):
        raise NoticeDataError(f"通报版本“{name}”不存在，可选：公开版（public）、党内版（internal）。")
    return key


def build_notice_context(
    ledger: Ledger, status: LedgerStatus, *, today: date, profile: str | None = None, edition: str | None = None
) -> NoticeContext:
    """Everything the notice template needs, as plain strings and lists.

    ``profile`` (a 通报样式 name or alias) overrides 基本信息's 通报样式; settings written in 基本信息
    override the profile's values (:func:`toolkit.notice.profiles.apply_profile`).
    """
    from toolkit.notice.profiles import apply_profile

    s = apply_profile(ledger.settings, profile)
    s = dataclasses.replace(s, notice_edition=edition_name(edition or s.notice_edition))
    ledger = dataclasses.replace(ledger, settings=s)
    require_settings(s, NOTICE_REQUIRED, "通报")
    if not (s.unit_short or s.unit_name):
        raise NoticeDataError("生成通报需要基本信息中的“单位简称”或“单位名称”，请填写后再生成。")
    warnings: list[str] = []
    notice_date = s.notice_date
    if notice_date is None:
        notice_date = today
        warnings.append(f"基本信息未填写“{_label('notice_date')}”，通报日期和公开期限按{date_cn(today)}计算。")
    if s.public_days < 1:
        raise NoticeDataError(f"“{_label('public_days')}”应为正整数，现在是“{s.public_days}”。")
    _, period = public_period(notice_date, s.public_days)

    sections: dict[str, list[NoticeParagraph]] = {"一": [], "三": []}
    for p in ledger.notice_text:
        key = _section_of(p)
        if key in sections:
            sections[key].append(p)
        else:
            warnings.append(
                f"通报正文中“部分”为“{clean_text(p.section)}”的一行无法识别（应为“一”或“三”），未写入通报。"
            )
    section1 = section1_paragraphs(sections["一"])
    section3 = section3_paragraphs(sections["三"])
    if not section1:
        warnings.append("“通报正文”工作表没有第一部分（履行主体责任情况）的内容。")
    if not section3:
        warnings.append("“通报正文”工作表没有第三部分（下一步工作安排）的内容。")

    unclear = status.stats.overall.unclear
    if unclear:
        warnings.append(f"有{unclear}项措施的完成时限未填写或无法识别（时限待核），统计中按“{clean_text(s.word_open)}”计，"
                        "请在任务清单中明确时限后再发布。")
    signature = clean_text(s.signature or s.party_group)
    date_text = date_cn(notice_date)
    sig_indent, date_indent = signature_indents(signature, date_text)
    position = s.notice_stats_position
    stats = stats_sentence(s, status, today=today) if position in (
        STATS_IN_INTRO, STATS_IN_SECTION1, STATS_BEFORE_SECTION2) else ""
    if s.notice_accountability:
        outcomes = outcomes_sentence(ledger)
        if not outcomes:
            warnings.append("基本信息要求通报显示问责与成效，但没有“问责与成效”工作表或其中没有数据，未写入。")
        elif position == STATS_ABSENT or not stats:
            position, stats = STATS_BEFORE_SECTION2, outcomes
        else:
            stats = stats[:-1] + "；" + outcomes.removeprefix("巡察整改中，") if stats.endswith("。") else stats + outcomes
    if position == STATS_IN_SECTION1 and stats:
        section1 = [*section1, stats]
    variables = {
        "title": "\n".join(notice_title_lines(s, warnings)),  # docxtpl turns "\n" into a line break
        "intro": notice_intro(s, stats if position == STATS_IN_INTRO else ""),
        "party_group": clean_text(s.party_group),
        "unit_name": clean_text(s.unit_name),
        "unit_short": clean_text(s.unit_short or s.unit_name),
        "deployer": clean_text(s.deployer),
        "inspection_round": clean_text(s.inspection_round),
        "inspection_group": clean_text(s.inspection_group),
        "section1": section1,
        "stats_sentence": stats if position == STATS_BEFORE_SECTION2 else "",
        "body": section2_items(ledger, status, warnings, public=s.notice_edition == "公开版"),
        "section3": section3,
        "public_period": period,
        "contact_sentence": contact_sentence(s),
        "phone": clean_text(s.phone),
        "address": clean_text(s.address),
        "email": clean_text(s.email),
        "signature": signature,
        "date_text": date_text,
    }
    return NoticeContext(variables, sig_indent, date_indent, warnings)


# --- reminder letters (提醒函) ---------------------------------------------------------------

REMINDER_VARIABLES: frozenset[str] = frozenset(
    {
        "title",
        "level",
        "number",
        "addressee",
        "opening",
        "rows",
        "requests",
        "reply_sentence",
        "contact_sentence",
        "signature",
        "date_text",
        "party_group",
        "unit_name",
        "inspection_round",
        "overdue_count",
        "repeated_count",
        "due_soon_count",
        "unclear_count",
        "reply_by",
        "phone",
    }
)


@dataclass(frozen=True)
class ReminderRow:
    """One task in a letter's table (all values already formatted as text)."""

    id: str
    measure: str
    deadline: str
    status: str
    days_overdue: str
    problem: str
    person: str
    code: str  # overdue_repeated / overdue / due_soon / deadline_unclear


REMINDER_ITEM_FIELDS: dict[str, frozenset[str]] = {
    "rows": frozenset(f.name for f in dataclass_fields(ReminderRow)),
}


@dataclass
class ReminderContext:
    """One letter: the responsible unit, its level and 文号, template variables and signature indents."""

    unit: str
    variables: dict
    rows: list[ReminderRow]
    signature_indent: float
    date_indent: float
    level: str = "提醒函"
    number: str = ""
    title: str = ""
    plan: object = None  # the ladder's LetterPlan (for the register)


def _deadline_text(task: Task, deadline: date | None) -> str:
    if deadline is None:
        return clean_text(task.deadline.text) if task.deadline else ""
    text = date_cn(deadline)
    if task.extended_deadline is not None and task.deadline is not None and task.deadline.on:
        text += f"（已延期，原定{date_cn(task.deadline.on)}）"
    return text


REMINDER_CODES = ("overdue", "due_soon", "deadline_unclear")  # task statuses a letter lists


def _reminder_row(task: Task, ts: TaskStatus, code: str, problem: Problem | None) -> ReminderRow:
    from toolkit.core.status import due_in_text

    if code == "overdue_repeated":
        status, overdue = "逾期（连续两个月）", str(ts.days_overdue)
    elif code == "overdue":
        status, overdue = "逾期", str(ts.days_overdue)
    elif code == "deadline_unclear":
        status, overdue = "时限待核（请明确完成时限）", "—"
    else:
        status, overdue = f"临期（{due_in_text(ts)}）", "—"
    return ReminderRow(
        id=clean_text(task.id),
        measure=clean_text(task.measure),
        deadline=_deadline_text(task, ts.deadline) or "未填写",
        status=status,
        days_overdue=overdue,
        problem=clean_text(problem.title) if problem else "",
        person=clean_text(task.person) or "未填写",
        code=code,
    )


def letter_requests(level: str, n_repeated: int, n_over: int, n_soon: int, n_unclear: int, previous: list[str]) -> list[str]:
    """The letter's demands: one paragraph per kind of task the unit actually has."""
    out = []
    if n_repeated:
        before = f"（此前已发{'、'.join(previous[-2:])}督办）" if previous else ""
        out.append(
            f"上述任务中有{n_repeated}项在连续两个月的整改进展统计中均已超过完成时限{before}，整改进度严重滞后，现予以告诫。"
            "请你单位主要负责同志亲自过问、亲自督办，逐项查明逾期原因，明确责任人、整改措施和完成时间，限期完成；"
            "逾期仍未完成的，将按照有关规定提请追责问责。"
        )
    if n_over:
        out.append(f"对已超过完成时限的{n_over}项任务，请逐项说明逾期原因，明确责任人、整改措施和完成时间，集中力量加快推进，确保尽快完成。")
    if n_soon:
        out.append(f"对临近完成时限的{n_soon}项任务，请倒排工期、压实责任，确保按期完成，不得逾期。")
    if n_unclear:
        out.append(f"对完成时限未明确的{n_unclear}项任务，请尽快明确完成时限，并在整改台账中填写。")
    return out


def build_reminder_contexts(
    ledger: Ledger, status: LedgerStatus, *, today: date, register=(), monthly=None
) -> list[ReminderContext]:
    """One letter context per responsible unit with overdue, 临期 or 时限待核 tasks, in ledger order.

    The level (提醒函/督办函/告诫函), 文号 and reply deadline come from :mod:`toolkit.notice.ladder`;
    rows list repeated-overdue tasks first, then overdue (most days first), 临期 (nearest first) and
    时限待核 ones. Tasks without a 责任单位 are left out (validation reports the missing unit).
    """
    from toolkit.notice.ladder import TITLES, plan_letters

    s = ledger.settings
    problems = {p.id: p for p in ledger.problems}
    letters = plan_letters(ledger, status, today=today, register=list(register), monthly=monthly)
    signature = clean_text(s.reminder_signature or s.signature or s.party_group)
    office = clean_text(s.reminder_signature) or "巡察整改工作领导小组办公室"
    date_text = date_cn(today)
    sig_indent, date_indent = signature_indents(signature, date_text)
    round_ = clean_text(s.inspection_round)
    phone = clean_text(s.letter_contact_phone or s.phone)
    contact = clean_text(s.letter_contact)
    contact_sentence = "；".join(x for x in (f"联系人：{contact}" if contact else "", f"联系电话：{phone}" if phone else "") if x)
    out = []
    for letter in letters:
        rows = [_reminder_row(t, ts, code, problems.get(t.problem_id)) for t, ts, code in letter.items]
        n_rep = letter.count("overdue_repeated")
        n_over = letter.count("overdue")
        n_soon = letter.count("due_soon")
        n_unclear = letter.count("deadline_unclear")
        counts = "、".join(
            x for x in (f"{n_rep}项连续两个月超过完成时限" if n_rep else "", f"{n_over}项已超过完成时限" if n_over else "",
                        f"{n_soon}项临近完成时限" if n_soon else "", f"{n_unclear}项完成时限未明确" if n_unclear else "") if x
        )
        basis = f"根据{round_}整改工作安排，" if round_ else ""
        opening = f"{basis}经对照整改台账核查，截至{date_text}，你单位负责的巡察整改任务中有{counts}，具体如下："
        reply_by = date_cn(letter.reply_by) if letter.reply_by else ""
        reply_sentence = (
            f"请于{reply_by}前（{s.letter_reply_days}个工作日内）将整改进展情况和佐证材料书面报送{office}。" if reply_by else ""
        )
        title = TITLES[letter.level]
        variables = {
            "title": title,
            "level": letter.level,
            "number": letter.number,
            "addressee": letter.addressee,
            "opening": opening,
            "rows": rows,
            "requests": letter_requests(letter.level, n_rep, n_over, n_soon, n_unclear, letter.previous),
            "reply_sentence": reply_sentence,
            "contact_sentence": f"{contact_sentence}。" if contact_sentence else "",
            "signature": signature,
            "date_text": date_text,
            "party_group": clean_text(s.party_group),
            "unit_name": clean_text(s.unit_name),
            "inspection_round": round_,
            "overdue_count": n_over + n_rep,
            "repeated_count": n_rep,
            "due_soon_count": n_soon,
            "unclear_count": n_unclear,
            "reply_by": reply_by,
            "phone": phone,
        }
        out.append(ReminderContext(letter.unit, variables, rows, sig_indent, date_indent, letter.level, letter.number,
                                   title, letter))
    return out


__all__ = [
    "BodyItem",
    "REMINDER_ITEM_FIELDS",
    "REMINDER_VARIABLES",
    "ReminderContext",
    "ReminderRow",
    "build_reminder_contexts",
    "NOTICE_ITEM_FIELDS",
    "NOTICE_VARIABLES",
    "NoticeContext",
    "build_notice_context",
    "chinese_number",
    "format_rate",
    "notice_title_lines",
    "stats_sentence",
]
