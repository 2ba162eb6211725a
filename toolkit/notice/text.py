"""Text helpers for official documents: cleaning ledger strings, ordinals, dates, widths.

Pure functions, no Word: the context builder and the renderer share them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from toolkit.core.dates import format_cn
from toolkit.core.layouts import chinese_number as parse_chinese_number

_DIGITS = "零一二三四五六七八九"

# Excel stores characters that XML cannot hold as _xHHHH_ (carriage return = _x000D_);
# openpyxl hands them over literally. Only control characters are decoded.
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# Line and paragraph breaks as they arrive from cells: docxtpl ≥ 0.20 would turn \n into a
# line break and \a into a new paragraph, so every kind is removed before rendering.
_BREAKS = re.compile(r"[ \t\u3000]*(?:\r\n|[\r\n\a\v\f\u2028\u2029\x85])[ \t\u3000]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\u200b]")
_STRIP = " \t\u3000\u00a0"
# Anything clean_text would change: an Excel escape, a control or break character, spaces at an end.
_NEEDS_CLEANING = re.compile(
    r"_x[0-9A-Fa-f]{4}_|[\x00-\x1f\x7f\x85\ufeff\u200b\u2028\u2029]|^[ \t\u3000\u00a0]|[ \t\u3000\u00a0]$"
)

# A paragraph (or a lead sentence followed by more text) must end in one of these.
_SENTENCE_END = "。！？；：….!?;:"  # a paragraph may end by introducing what follows (：)
_LEAD_END = _SENTENCE_END + "，、,"
_CLOSERS = "”’」』）)》"


def _decode_excel_escape(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return chr(code) if code < 0x20 else match.group(0)


def clean_text(value: object) -> str:
    """A ledger string as it may appear in the notice: one line, no control characters.

    ``_x000D_`` and other Excel escapes of control characters are decoded, then every line
    break (``\\r\\n``, ``\\r``, ``\\n``, ``\\a`` …) is removed together with the spaces
    around it; two ASCII letters/digits that a break separated keep one space between them.
    Tabs become spaces, other control characters disappear, the ends are trimmed (including
    full-width spaces staff use for indentation). Spaces inside the text are kept verbatim.
    """
    if value is None:
        return ""
    if isinstance(value, str) and not _NEEDS_CLEANING.search(value):
        return value  # the common case: nothing to do (a notice cleans ~10,000 strings)
    s = _EXCEL_ESCAPE.sub(_decode_excel_escape, str(value))
    pieces = _BREAKS.split(s)
    out = pieces[0]
    for piece in pieces[1:]:
        if out and piece and out[-1].isascii() and out[-1].isalnum() and piece[0].isascii() and piece[0].isalnum():
            out += " "
        out += piece
    out = out.replace("\t", " ")
    out = _CONTROL.sub("", out)
    return out.strip(_STRIP)


def _ends_with(text: str, marks: str) -> bool:
    core = text.rstrip(_CLOSERS)
    if core != text and core and core[-1] in _SENTENCE_END:
        return True
    return bool(text) and text[-1] in marks


def end_sentence(text: str) -> str:
    """``text`` with a closing 。 when it does not already end a sentence."""
    if not text or _ends_with(text, _SENTENCE_END):
        return text
    return text + "。"


def join_lead(lead: str, text: str) -> str:
    """A lead sentence and the text that follows it, with a 。 between when the lead lacks one."""
    if lead and text and not _ends_with(lead, _LEAD_END):
        lead += "。"
    return lead + text


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 105 → 一百零五 (1 … 9999)."""
    if not 0 < n < 10000:
        raise ValueError(f"number out of range for Chinese numerals: {n}")
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n % 10] if n % 10 else "")
    units = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
    out = ""
    zero = False
    for value, name in units:
        digit = (n // value) % 10
        if digit:
            if zero and out:
                out += "零"
            out += _DIGITS[digit] + name
            zero = False
        elif out:
            zero = True
    return out


# An ordinal staff typed at the start of a text the notice numbers itself (一、 一． （一） (1) 1、 1. before a category
# or a problem; also 一是 and 第一， before a measure). Each form: its number is group 1.
_HEADING_ORDINALS = (
    re.compile(r"([一二三四五六七八九十]+)[、.．]"),
    re.compile(r"[（(]([一二三四五六七八九十]+|\d{1,2})[）)]"),
    re.compile(r"(\d{1,2})[、．]"),
    re.compile(r"(\d{1,2})\.(?!\d)"),  # not 1.5
)
_ITEM_ORDINALS = (*_HEADING_ORDINALS, re.compile(r"([一二三四五六七八九十]+)是"),
                  re.compile(r"第([一二三四五六七八九十]+)[，,、：:]"))


def _without_ordinal(text: str, forms: tuple[re.Pattern[str], ...]) -> str:
    """``text`` without the ordinal it starts with (one of ``forms``). Kept as it is: a text that is nothing but an
    ordinal, and a text holding a list typed in one cell (the next ordinal of the same form follows: 1.…2.…)."""
    for form in forms:
        m = form.match(text)
        if m is None:
            continue
        number = m.group(1)
        n = int(number) if number.isdigit() else parse_chinese_number(number)
        if n is None:
            return text
        typed = m.group(0)
        cut = m.start(1), m.end(1)
        following = typed[: cut[0]] + (str(n + 1) if number.isdigit() else chinese_number(n + 1)) + typed[cut[1] :]
        if following in text[m.end() :]:
            return text
        return text[m.end() :].lstrip(_STRIP) or text
    return text


def without_typed_ordinal(text: str) -> str:
    """``text`` without a leading ordinal staff typed (``一、关于…方面`` → ``关于…方面``, ``1.学习贯彻不深入`` →
    ``学习贯彻不深入``): the notice puts its own ordinal before a category heading and a problem heading. A text that is
    nothing but an ordinal is kept as it is (see :func:`_without_ordinal`)."""
    return _without_ordinal(text, _HEADING_ORDINALS)


def without_typed_item_ordinal(text: str) -> str:
    """A measure without the ordinal staff typed before it (``（1）建立…``, ``1.建立…``, ``一是建立…`` → ``建立…``): the
    notice numbers measures itself (一是… or （1）…). A cell holding a list of several (1.建立…；2.开展…) is kept whole."""
    return _without_ordinal(text, _ITEM_ORDINALS)


def ordinal_section(n: int) -> str:
    """First-level ordinal: 一、"""
    return f"{chinese_number(n)}、"


def ordinal_paren_cn(n: int) -> str:
    """Second-level ordinal: （一）"""
    return f"（{chinese_number(n)}）"


def ordinal_arabic(n: int) -> str:
    """Third-level ordinal: 1."""
    return f"{n}."


def ordinal_paren_arabic(n: int) -> str:
    """Fourth-level ordinal: （1）"""
    return f"（{n}）"


def ordinal_item(n: int) -> str:
    """Run-in item ordinal: 一是"""
    return f"{chinese_number(n)}是"


def date_cn(d: date) -> str:
    """2025年4月7日 (no zero padding)."""
    return format_cn(d)


def date_range_cn(start: date, end: date) -> str:
    """2025年4月7日至5月6日; the year is repeated only when the range crosses a year."""
    if start.year == end.year:
        return f"{format_cn(start)}至{format_cn(end, with_year=False)}"
    return f"{format_cn(start)}至{format_cn(end)}"


def public_period(start: date, days: int) -> tuple[date, str]:
    """Last day and text of a public period of ``days`` days starting on (and counting) ``start``."""
    end = start + timedelta(days=days - 1)
    return end, date_range_cn(start, end)


AUTOSPACE = 0.25  # extra width Word and LibreOffice put between CJK text and digits/Latin


def text_width(text: str, *, autospace: bool = False) -> float:
    """Width in body characters: ASCII (half-width) counts ½, everything else 1.

    With ``autospace`` each change between CJK and ASCII adds ¼ character, the gap both Word
    (autoSpaceDE/DN, on by default) and LibreOffice put there: 2025年4月7日 is 7¼ wide.
    """
    width = sum(0.5 if ch.isascii() else 1.0 for ch in text)
    if autospace:
        width += AUTOSPACE * sum(
            1
            for a, b in zip(text, text[1:], strict=False)
            if a.isascii() != b.isascii() and not (a.isspace() or b.isspace())
        )
    return width


def signature_indents(signature: str, date_text: str) -> tuple[float, float]:
    """Right indents (in characters) of the signature and the date, GB/T 9704-2012 7.3.5.2.

    The signature is right-indented 2 characters and the date starts 2 characters to the
    right of the signature's first character; when the date is the longer one, the date is
    right-indented 2 characters and the signature moves left accordingly.
    """
    sig_w, date_w = text_width(signature, autospace=True), text_width(date_text, autospace=True)
    # The signature starts at (line - 2 - sig_w); the date 2 characters further right.
    date_right = sig_w - date_w
    if date_right >= 2:
        return 2.0, date_right
    return 2 + date_w + 2 - sig_w, 2.0


def break_title(title: str, breaks: list[int], *, max_width: float = 20) -> list[str]:
    """Split ``title`` into the fewest lines that fit ``max_width``, at allowed break offsets.

    Among equally many lines the most even split wins, ties going to a longer upper line
    (the reference notice breaks 17 | 16). Without a fitting split the title is cut every
    ``max_width`` characters.
    """
    if text_width(title) <= max_width:
        return [title]
    points = sorted({b for b in breaks if 0 < b < len(title)})
    best: tuple | None = None
    for count in (1, 2):
        for combo in _combinations(points, count):
            bounds = [0, *combo, len(title)]
            lines = [title[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
            widths = [text_width(x) for x in lines]
            if max(widths) > max_width:
                continue
            key = (max(widths) - min(widths), [-w for w in widths])
            if best is None or key < best[0]:
                best = (key, lines)
        if best is not None:
            return best[1]
    step = int(max_width)
    return [title[i : i + step] for i in range(0, len(title), step)]


def _combinations(points: list[int], count: int) -> list[tuple[int, ...]]:
    if count == 1:
        return [(p,) for p in points]
    return [(a, b) for i, a in enumerate(points) for b in points[i + 1 :]]


def line_count(width: float, *, first: float, full: float) -> tuple[int, float]:
    """Lines a paragraph of ``width`` characters takes (first line ``first`` wide, others ``full``)
    and the width of its last line."""
    if width <= first:
        return 1, width
    rest = width - first
    lines = 1 + int(-(-rest // full))  # ceiling
    return lines, rest - full * (lines - 2)


def condense_to_avoid_lone_character(width: float, *, first: float, full: float, char_pt: float) -> int:
    """Extra condensing (twentieths of a point, ≤ 0) that pulls a lone last character back.

    A heading whose last line would hold one character or less (一、…主体责任情况 → "况" alone) is
    set a little tighter so it takes one line fewer; 0 when the last line holds more than one
    character. ``char_pt`` is the advance of one character as set now.
    """
    lines, last = line_count(width, first=first, full=full)
    if lines < 2 or last > 1:
        return 0
    capacity = first + full * (lines - 2)  # characters that fit in one line fewer
    wanted_pt = char_pt * capacity / (width + 0.3)  # a little slack for justification and rounding
    return min(0, int((wanted_pt - char_pt) * 20) - 1)
