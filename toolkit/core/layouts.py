"""The ledger layouts the toolkit reads, described as data.

Two layouts are known:

* **three lists** (三张清单) — 基本信息 / 问题清单 / 任务清单 / 责任清单 / 县区 / 通报正文, each a table
  of its own (the columns of :mod:`toolkit.core.schema`);
* **one sheet** (一表式整改台账) — the shape most offices keep: one sheet (often named 整改台账), a title
  block, then 序号 / 问题类别 / 存在问题 / 整改措施 / 责任领导 / 责任单位 / 责任人 / 完成时限 / 整改进展 /
  完成情况. A problem's cells are merged over the rows of its measures, repeated on every row, or left
  blank below the first measure.

Detection is automatic (``toolkit.core.intake``) and can be overridden by staff in the workbook itself:
a sheet named :data:`MAPPING_SHEET` with rows ``字段 | 列`` (a column letter, a header text, or 无).
The rules are written out in docs/rules/adopt.md. Pure: stdlib and the schema only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from toolkit.core import schema as S

THREE_LISTS = "three-lists"
ONE_SHEET = "one-sheet"

LAYOUT_NAMES = {THREE_LISTS: "三张清单（问题清单/任务清单分表）", ONE_SHEET: "一表式整改台账（问题与措施同在一张表）"}

MAPPING_SHEET = "台账映射"
MAPPING_SHEET_SYNONYMS = ("台账映射", "列映射", "台账设置")
MAPPING_HEADER = ("字段", "列", "说明")
MAPPING_SHEET_KEY = "工作表"  # row naming the ledger sheet
MAPPING_HEADER_ROW_KEY = "表头行"  # row giving the header row number
MAPPING_NONE = ("无", "没有", "-", "—")  # the field is not in the ledger

# The one-sheet ledger's columns. ``seq`` is the 序号 column: problem or measure numbering, recognised
# from its values (see :func:`parse_seq`). Problem-level fields are read from a problem's first row and
# carried down over its measures (merged, repeated or blank below).
_T = S.TASK_COLUMNS_BY_KEY
ONE_SHEET_COLUMNS: tuple[S.Column, ...] = (
    S.Column("seq", "序号", ("编号", "序", "问题序号", "序列"), False, S.ID, 6),
    S.Column("category", "问题类别", ("问题方面", "方面", "类别", "问题类型", "问题分类", "类型"), False, S.TEXT, 16),
    S.Column("title", "存在问题", ("问题", "主要问题", "反馈问题", "问题描述", "问题表现", "具体问题", "巡察反馈问题",
                                 "巡察发现问题", "问题清单", "问题内容", "反馈意见"), True, S.TEXT, 36),
    S.Column("measure", "整改措施", ("措施", "整改任务", "具体措施", "整改举措", "任务清单"), True, S.TEXT, 36),
    S.Column("leader", "责任领导", ("分管领导", "牵头领导"), False, S.TEXT, 10),
    S.Column("unit", "责任单位", ("牵头部门", "责任部门", "牵头单位", "责任科室", "牵头科室"), True, S.TEXT, 14),
    S.Column("person", "责任人", ("具体责任人", "经办人", "联系人"), False, S.TEXT, 10),
    S.Column("deadline", "完成时限", ("整改时限", "时限", "完成期限", "截止日期", "完成时间要求"), True, S.DEADLINE, 12),
    S.Column("progress", "整改进展", ("进展情况", "整改情况", "整改落实情况", "进展"), False, S.TEXT, 48),
    S.Column("state", "完成情况", ("整改状态", "完成状态", "状态", "是否完成"), True, S.STATE, 10),
    *(_T[k] for k in ("extended_deadline", "completed_on", "evidence", "signed_off_on", "signed_off_by", "remark")),
)
ONE_SHEET_BY_KEY: dict[str, S.Column] = {c.key: c for c in ONE_SHEET_COLUMNS}

# Fields that belong to the problem (carried down over its measures) and those of each measure row.
PROBLEM_KEYS = ("category", "title")
# Fields only a measure has: a row with none of them filled, above the rows of its measures, is a problem's title
# row (see :func:`is_title_row`). 责任领导/责任单位 may stand on a title row (the problem's own).
MEASURE_ONLY_KEYS = ("measure", "person", "deadline", "progress", "state", "extended_deadline", "completed_on",
                     "evidence", "signed_off_on", "signed_off_by", "remark")
# Headers that make a sheet a three-list 任务清单 rather than a one-sheet ledger: a link to 问题清单.
PROBLEM_LINK_HEADERS = tuple(S.normalize_header(n) for n in S.TASK_COLUMNS_BY_KEY["problem_id"].names())

# Sheets never taken for the one-sheet ledger: the toolkit's own and the three-list side sheets.
NOT_LEDGER_SHEETS = {
    S.SHEET_CHECK, S.SHEET_STATS, S.SHEET_CHANGELOG, S.SHEET_MONTHLY, S.SHEET_LISTS, *MAPPING_SHEET_SYNONYMS,
}
SIDE_SHEETS = (S.SHEET_SETTINGS, S.SHEET_PEOPLE, S.SHEET_COUNTIES, S.SHEET_NOTICE_TEXT)

# Rows under the table that total it up: not records.
TOTAL_WORDS = ("合计", "总计", "小计", "共计")

# 一、二、… as numbers (for 序号 like 一 / 一是 / （一）).
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def chinese_number(text: str) -> int | None:
    """一 → 1, 十二 → 12, 二十三 → 23 (up to 99); None when ``text`` is not such a number."""
    if not text or any(ch not in _CN_DIGITS and ch != "十" for ch in text):
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        if "十" in ones:
            return None
        t = _CN_DIGITS.get(tens, None) if tens else 1
        o = _CN_DIGITS.get(ones, None) if ones else 0
        return None if t is None or o is None else t * 10 + o
    return _CN_DIGITS[text] if len(text) == 1 else None


@dataclass(frozen=True)
class Seq:
    """A 序号 cell as understood: ``kind`` is int (1), dotted (1.2 / 1-2), paren (（1）), shi (一是), cn (一)."""

    kind: str
    text: str  # normalised text, as used for an id
    major: str = ""  # dotted: the problem part
    minor: int = 0


_DOTTED = re.compile(r"^(\d+)[.\-](\d+)$")
_INT = re.compile(r"^(\d+)$")
_PAREN = re.compile(r"^\((\d+|[一二三四五六七八九十]+)\)$")
_SHI = re.compile(r"^([一二三四五六七八九十]+)是$")


def parse_seq(value: object) -> Seq | None:
    """A 序号 value → :class:`Seq`; None for a blank cell. Unrecognised text comes back as kind ``text``."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, float):  # 1.1 typed as a number
        value = repr(value)
    text = "".join(unicodedata.normalize("NFKC", str(value)).split()).rstrip("、.．,，")
    if not text:
        return None
    if m := _INT.match(text):
        return Seq("int", str(int(m.group(1))), minor=int(m.group(1)))
    if m := _DOTTED.match(text):
        return Seq("dotted", f"{int(m.group(1))}.{int(m.group(2))}", str(int(m.group(1))), int(m.group(2)))
    if m := _PAREN.match(text):
        g = m.group(1)
        n = int(g) if g.isdigit() else chinese_number(g)
        if n is not None:
            return Seq("paren", text, minor=n)
    if m := _SHI.match(text):
        n = chinese_number(m.group(1))
        if n is not None:
            return Seq("shi", text, minor=n)
    if (n := chinese_number(text)) is not None:
        return Seq("cn", text, minor=n)
    return Seq("text", text)


def is_total_text(value: object) -> bool:
    """True for a cell that starts a total row: 合计 / 总计 / 小计 / 共计 (alone or followed by ：…)."""
    if not isinstance(value, str) or value.isascii():  # NFKC keeps ASCII ASCII: no 计 can appear
        return False
    text = "".join(unicodedata.normalize("NFKC", value).split())
    return any(text == w or text.startswith(w + ":") for w in TOTAL_WORDS)


# A category heading row of a one-sheet ledger (docs/rules/adopt.md): 一、…  （一）…  第一部分…  or …方面(的问题).
_HEADING_ORDINAL = re.compile(r"^(?:[一二三四五六七八九十]+[、.,，:：]|\([一二三四五六七八九十]+\)|第[一二三四五六七八九十]+(?:部分|类|方面))")
_HEADING_TAIL = re.compile(r"(?:方面|方面的问题|方面问题|方面存在的问题)[:：。]?$")


def heading_category(texts: list[str]) -> str | None:
    """The category named by a row whose staff cells hold only ``texts`` (its distinct texts, in column order,
    spaces removed), or None when the row is not a category heading.

    A heading holds one text that starts with a Chinese ordinal (一、 （一） 第一部分…) or ends with 方面 (方面的问题…),
    kept as written; or a bare Chinese ordinal (一 / 一、 / （一）) followed by one text, which is the category.
    """
    if len(texts) == 1:
        text = unicodedata.normalize("NFKC", texts[0])
        return texts[0] if _HEADING_ORDINAL.match(text) or _HEADING_TAIL.search(text) else None
    if len(texts) == 2:
        seq = parse_seq(texts[0])
        if seq is not None and seq.kind in ("cn", "paren") and not seq.text[1:-1].isdigit() and not seq.text.isdigit():
            return texts[1]
    return None


def is_title_row(title: str, measure_only: list[str], next_title: str, next_measure_only: list[str]) -> bool:
    """A one-sheet row is a problem's **title row** (its measures on the rows below it; docs/rules/adopt.md) when its
    存在问题 (``title``) is filled, none of its measure-only fields (``measure_only``, :data:`MEASURE_ONLY_KEYS`, as
    text) is, and the record row right below continues it: its 存在问题 blank or the same text (a merged range spreads
    it), and some measure-only field of its own filled. Texts are as :func:`toolkit.core.intake.cell_text` gives them.
    """
    return (bool(title) and not any(measure_only) and next_title in ("", title) and any(next_measure_only))


def counties_from_units(units: list[str]) -> list[str]:
    """Units that read as a county-level unit (县/区/市, not a department of one), in order of appearance.

    Used by ``adopt`` to propose a 县区 sheet for a ledger that has none: the names staff wrote in 责任单位
    that are one of :data:`~toolkit.core.schema.QINGYUAN_COUNTIES` or end in 县/区/市 and name no office.
    """
    offices = ("局", "委", "办", "部", "厅", "中心", "所", "站", "院", "队", "科", "处", "组", "室", "公司", "党组")
    out: dict[str, None] = {}
    for u in units:
        name = u.strip()
        if not name or "、" in name or "，" in name:
            continue
        if name in S.QINGYUAN_COUNTIES or (name[-1] in "县区市" and 2 <= len(name) <= 12
                                           and not any(o in name for o in offices)):
            out.setdefault(name, None)
    return list(out)
