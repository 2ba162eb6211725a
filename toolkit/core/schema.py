"""The ledger workbook's layout as data: sheet names, columns, header synonyms, settings keys.

Everything that finds a column or a setting by its Chinese text lives here, so the reader,
the builder, the validator and the xlwings front end agree on one description.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

SHEET_SETTINGS = "基本信息"
SHEET_PROBLEMS = "问题清单"
SHEET_TASKS = "任务清单"
SHEET_PEOPLE = "责任清单"
SHEET_COUNTIES = "县区"
SHEET_NOTICE_TEXT = "通报正文"
# Sheets the toolkit owns entirely (regenerated on every run).
SHEET_CHECK = "校验结果"
SHEET_STATS = "统计"
SHEET_CHANGELOG = "变更记录"
SHEET_MONTHLY = "月度进展"
SHEET_LISTS = "_lists"  # hidden sheet with dropdown sources
SHEET_OUTCOMES = "问责与成效"  # optional staff sheet: 类别 | 项目 | 数量 | 单位
PUBLIC_HEADERS = ("是否公开", "公开", "是否对外公开")  # optional column of 问题清单 and 任务清单
FULL_NAME_HEADERS = ("单位全称", "主送单位")  # optional column of 县区 and 责任清单: 主送 of 督办 letters
SHEET_LETTERS = "督办记录"  # register of every 提醒函/督办函/告诫函 issued (owned by the toolkit)

SHEET_SYNONYMS: dict[str, tuple[str, ...]] = {
    SHEET_SETTINGS: ("基本信息", "设置", "参数设置", "基本设置"),
    SHEET_PROBLEMS: ("问题清单", "问题台账", "反馈问题清单"),
    SHEET_TASKS: ("任务清单", "整改任务清单", "任务台账", "整改台账", "整改措施清单"),
    SHEET_PEOPLE: ("责任清单", "责任人清单", "人员清单"),
    SHEET_COUNTIES: ("县区", "县市区", "县（市、区）", "县区清单"),
    SHEET_NOTICE_TEXT: ("通报正文", "通报文字", "通报内容"),
}

# Marks the columns the toolkit owns inside staff sheets: staff can see at a glance that a
# run will overwrite them, and the patcher refuses to touch any column without it.
OWNED_PREFIX = "【自动】"

TEXT = "text"
DATE = "date"
DEADLINE = "deadline"
STATE = "state"
ID = "id"
INT = "int"


@dataclass(frozen=True)
class Column:
    """One column of a staff sheet: model field, canonical header, accepted synonyms."""

    key: str
    header: str
    synonyms: tuple[str, ...] = ()
    required: bool = False
    kind: str = TEXT
    width: int = 14

    def names(self) -> tuple[str, ...]:
        return (self.header, *self.synonyms)


PROBLEM_COLUMNS: tuple[Column, ...] = (
    Column("id", "问题编号", ("编号", "序号", "问题序号"), True, ID, 9),
    Column("category", "问题方面", ("方面", "问题类别", "类别", "问题类型"), True, TEXT, 30),
    Column("title", "问题标题", ("问题", "问题概述", "问题名称", "标题"), True, TEXT, 36),
    Column("finding", "反馈问题原文", ("问题原文", "问题描述", "反馈意见", "具体问题"), False, TEXT, 40),
    Column("leader", "责任领导", ("分管领导", "牵头领导"), False, TEXT, 10),
    Column("department", "牵头部门", ("牵头单位", "责任部门", "责任单位"), False, TEXT, 16),
)

TASK_COLUMNS: tuple[Column, ...] = (
    Column("id", "任务编号", ("措施编号", "编号", "序号"), True, ID, 9),
    Column("problem_id", "问题编号", ("所属问题", "对应问题编号", "问题序号"), True, ID, 9),
    Column("measure", "整改措施", ("措施", "整改任务", "任务"), True, TEXT, 36),
    Column("progress", "整改进展", ("进展情况", "整改情况", "完成情况说明", "进展"), False, TEXT, 48),
    Column("leader", "责任领导", ("分管领导",), False, TEXT, 10),
    Column("unit", "责任单位", ("牵头部门", "责任部门", "牵头单位"), True, TEXT, 14),
    Column("person", "责任人", ("具体责任人", "经办人", "联系人"), False, TEXT, 10),
    Column("deadline", "完成时限", ("整改时限", "时限", "完成期限", "截止日期"), True, DEADLINE, 12),
    Column("extended_deadline", "延期时限", ("延期至", "调整后时限", "申请延期至"), False, DATE, 12),
    Column("state", "完成情况", ("整改状态", "完成状态", "状态"), True, STATE, 10),
    Column("completed_on", "完成日期", ("完成时间", "实际完成日期"), False, DATE, 12),
    Column("evidence", "佐证材料", ("佐证资料", "证明材料", "完成依据"), False, TEXT, 24),
    Column("signed_off_on", "销号日期", ("销号时间",), False, DATE, 12),
    Column("signed_off_by", "销号审核人", ("销号人", "审核人", "销号审批人"), False, TEXT, 10),
    Column("remark", "备注", (), False, TEXT, 16),
)

PERSON_COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", ("责任人", "人员"), True, TEXT, 10),
    Column("post", "职务", ("职位", "岗位"), False, TEXT, 16),
    Column("unit", "单位", ("所在单位", "部门", "所在部门"), False, TEXT, 16),
    Column("phone", "联系电话", ("电话", "手机"), False, TEXT, 14),
)

COUNTY_COLUMNS: tuple[Column, ...] = (
    Column("name", "县区名称", ("县区", "县市区", "名称", "单位"), True, TEXT, 22),
    Column("contact", "联系人", (), False, TEXT, 10),
    Column("phone", "联系电话", ("电话",), False, TEXT, 14),
)

NOTICE_TEXT_COLUMNS: tuple[Column, ...] = (
    Column("section", "部分", ("章节", "段落"), True, TEXT, 8),
    Column("order", "顺序", ("序号",), False, INT, 6),
    Column("lead", "要点", ("小标题", "标题"), False, TEXT, 30),
    Column("text", "内容", ("正文", "文字"), False, TEXT, 80),
)

# Owned columns (computed by the toolkit, written back by the patcher / xlwings).
TASK_OWNED: tuple[Column, ...] = (
    Column("status", OWNED_PREFIX + "状态", (), False, TEXT, 10),
    Column("days_overdue", OWNED_PREFIX + "逾期天数", (), False, INT, 9),
    Column("due_in", OWNED_PREFIX + "距到期", (), False, TEXT, 10),
    Column("check", OWNED_PREFIX + "校验", (), False, TEXT, 30),
)
PROBLEM_OWNED: tuple[Column, ...] = (
    Column("status", OWNED_PREFIX + "整改状态", (), False, TEXT, 10),
    Column("progress", OWNED_PREFIX + "措施完成", (), False, TEXT, 10),
    Column("check", OWNED_PREFIX + "校验", (), False, TEXT, 30),
)
COUNTY_OWNED: tuple[Column, ...] = (
    Column("submission", OWNED_PREFIX + "本期报送", (), False, TEXT, 16),
)

TASK_COLUMNS_BY_KEY: dict[str, Column] = {c.key: c for c in TASK_COLUMNS}

SHEET_COLUMNS: dict[str, tuple[Column, ...]] = {
    SHEET_PROBLEMS: PROBLEM_COLUMNS,
    SHEET_TASKS: TASK_COLUMNS,
    SHEET_PEOPLE: PERSON_COLUMNS,
    SHEET_COUNTIES: COUNTY_COLUMNS,
    SHEET_NOTICE_TEXT: NOTICE_TEXT_COLUMNS,
}
SHEET_OWNED: dict[str, tuple[Column, ...]] = {
    SHEET_TASKS: TASK_OWNED,
    SHEET_PROBLEMS: PROBLEM_OWNED,
    SHEET_COUNTIES: COUNTY_OWNED,
}


@dataclass(frozen=True)
class Setting:
    """One key/value row of 基本信息."""

    key: str
    label: str
    synonyms: tuple[str, ...] = ()
    required: bool = False
    kind: str = TEXT  # text / date / int / bool / choice
    default: object = None
    choices: tuple[str, ...] = ()
    help: str = ""
    purpose: str = ""  # what the setting is needed for (said when it is missing)

    def names(self) -> tuple[str, ...]:
        return (self.label, *self.synonyms)


LONG_TERM_AS_DONE = "计为已完成"
LONG_TERM_EXCLUDED = "不计入"
LONG_TERM_AS_OPEN = "计为未完成"

BASIC_DONE_SEPARATE = "单列，不计入完成率"
BASIC_DONE_AS_DONE = "计为已完成"
STATS_ABSENT = "不显示"
STATS_IN_INTRO = "开头段落"
STATS_IN_SECTION1 = "第一部分"
STATS_BEFORE_SECTION2 = "第二部分开头"
PROFILE_REFERENCE = "参考样式"
PROFILE_STATS_FIRST = "统计先行"
PROFILE_FLAT = "简明层级"
EDITION_PUBLIC = "公开版"
EDITION_INTERNAL = "党内版"

# House-style settings of the notice and the 督办 letters (documents area, docs/rules/documents.md).
# A setting left out of 基本信息 takes its value from the chosen 通报样式 profile.
NOTICE_STYLE_SETTINGS: tuple[Setting, ...] = (
    Setting("notice_profile", "通报样式", ("通报模板样式",), False, "choice", PROFILE_REFERENCE,
            (PROFILE_REFERENCE, PROFILE_STATS_FIRST, PROFILE_FLAT)),
    Setting("basic_done_rule", "基本完成计入方式", ("基本完成统计口径",), False, "choice", BASIC_DONE_SEPARATE,
            (BASIC_DONE_SEPARATE, BASIC_DONE_AS_DONE)),
    Setting("notice_stats_position", "统计句位置", (), False, "choice", STATS_ABSENT,
            (STATS_ABSENT, STATS_IN_INTRO, STATS_IN_SECTION1, STATS_BEFORE_SECTION2)),
    Setting("notice_count_measures", "统计句含措施数", (), False, "bool", False),
    Setting("notice_measures_label", "措施前标注", (), False, help="如 整改落实情况：；留空不加"),
    Setting("notice_publish_verb", "公布用语", (), False, "choice", "予以公布", ("予以公布", "予以通报", "向社会公开")),
    Setting("notice_title_break", "标题断行", ("标题换行",), False,
            help="用 / 标出换行处，如 中共××党组关于/八届市委第四轮巡察整改进展情况的通报；留空自动断行"),
    Setting("notice_edition", "通报版本", (), False, "choice", EDITION_PUBLIC, (EDITION_PUBLIC, EDITION_INTERNAL)),
    Setting("notice_accountability", "通报显示问责与成效", (), False, "bool", False),
    Setting("letter_number_pattern", "督办文号格式", ("文号格式",), False, default="整改办函〔{year}〕{n}号",
            help="{year} 为年份，{n} 为顺序号"),
    Setting("letter_reply_days", "督办回复期限", ("回复期限工作日",), False, "int", 5, help="工作日"),
    Setting("letter_contact", "督办联系人", ("督办联系人姓名",), False),
    Setting("letter_contact_phone", "督办联系电话", (), False),
)

SETTINGS: tuple[Setting, ...] = (
    Setting("unit_name", "单位名称", ("机构名称", "被巡察单位"), True, help="全称，如 清远市公路事务中心", purpose="通报标题、统计表标题和提醒函"),
    Setting("unit_short", "单位简称", ("简称",), False, help="通报中的简称，如 市公路事务中心"),
    Setting("party_group", "党组名称", ("党组织名称", "党组"), True, help="如 中共清远市公路事务中心党组", purpose="通报标题（中共…党组关于…的通报）和落款"),
    Setting("deployer", "部署机关", ("部署单位",), False, default="市委", help="如 市委"),
    Setting("inspection_round", "巡察轮次", ("轮次",), True, help="如 八届市委第四轮巡察", purpose="通报标题和开头（…巡察整改进展情况的通报）"),
    Setting("inspection_group", "巡察组", ("巡察组名称",), True, help="如 市委第二巡察组", purpose="通报开头（…巡察组对…进行了巡察）"),
    Setting("inspection_start", "巡察开始日期", ("巡察起始日期", "进驻日期"), True, DATE, purpose="通报开头的巡察起止时间"),
    Setting("inspection_end", "巡察结束日期", ("巡察截止日期",), True, DATE, purpose="通报开头的巡察起止时间"),
    Setting("feedback_date", "反馈日期", ("巡察反馈日期", "反馈意见日期"), True, DATE, purpose="通报开头的反馈日期，以及核对完成时限是否早于反馈"),
    Setting("as_of", "统计截止日期", ("截止日期", "统计日期"), False, DATE, help="留空表示当天"),
    Setting("warning_days", "临期预警天数", ("预警天数", "临期天数"), False, "int", 7),
    Setting("working_days", "预警按工作日计算", ("按工作日计算", "工作日"), False, "bool", True),
    Setting(
        "long_term_rule",
        "长期坚持计入方式",
        ("长期坚持统计口径",),
        False,
        "choice",
        LONG_TERM_AS_DONE,
        (LONG_TERM_AS_DONE, LONG_TERM_EXCLUDED, LONG_TERM_AS_OPEN),
    ),
    Setting("notice_date", "通报日期", ("印发日期", "成文日期"), False, DATE),
    Setting("public_days", "公开期限天数", ("公开天数", "公示天数"), False, "int", 30),
    Setting("phone", "联系电话", ("电话",), False),
    Setting("address", "邮政地址", ("地址", "通信地址"), False),
    Setting("email", "电子邮箱", ("邮箱", "电子邮件"), False),
    Setting("signature", "落款", ("署名", "发文机关署名"), False, help="留空时用党组名称"),
    Setting("reminder_signature", "提醒函落款", ("督办单落款",), False, help="如 巡察整改工作领导小组办公室；留空时用落款"),
    Setting("notice_stats_sentence", "通报显示统计句", ("统计句",), False, "bool", False),
    Setting("notice_quote_finding", "通报引用问题原文", ("引用问题原文",), False, "bool", False),
    Setting("notice_levels", "通报编号层级", ("编号层级",), False, "int", 2),
    Setting("notice_problem_heading", "问题标题格式", (), False, default="{title}"),
    Setting("word_done", "已完成用语", (), False, default="已完成整改"),
    Setting("word_open", "未完成用语", (), False, default="正在整改"),
    Setting("word_long_term", "长期坚持用语", (), False, default="长期坚持"),
    *NOTICE_STYLE_SETTINGS,
)
SETTINGS_BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}

# Completion states as staff enter them (the 完成情况 column).
STATE_NOT_STARTED = "未启动"
STATE_IN_PROGRESS = "推进中"
STATE_DONE = "已完成"
STATE_LONG_TERM = "长期坚持"
STATE_BASIC_DONE = "基本完成"
STATES: tuple[str, ...] = (STATE_NOT_STARTED, STATE_IN_PROGRESS, STATE_DONE, STATE_LONG_TERM, STATE_BASIC_DONE)
STATE_SYNONYMS: dict[str, str] = {
    "未开始": STATE_NOT_STARTED,
    "尚未启动": STATE_NOT_STARTED,
    "进行中": STATE_IN_PROGRESS,
    "正在推进": STATE_IN_PROGRESS,
    "正在整改": STATE_IN_PROGRESS,
    "整改中": STATE_IN_PROGRESS,
    "推进": STATE_IN_PROGRESS,
    "完成": STATE_DONE,
    "已整改": STATE_DONE,
    "已完成整改": STATE_DONE,
    "整改完成": STATE_DONE,
    "已办结": STATE_DONE,
    "长期": STATE_LONG_TERM,
    "持续推进": STATE_LONG_TERM,
    "持续整改": STATE_LONG_TERM,
    "长期推进": STATE_LONG_TERM,
    "基本完成整改": STATE_BASIC_DONE,
    "基本整改": STATE_BASIC_DONE,
    "阶段性完成": STATE_BASIC_DONE,
}

# The counties of the reference user (县 sheet of the demo ledger; real ledgers list their own).
QINGYUAN_COUNTIES: tuple[str, ...] = (
    "清城区",
    "清新区",
    "英德市",
    "连州市",
    "佛冈县",
    "阳山县",
    "连山壮族瑶族自治县",
    "连南瑶族自治县",
)

_SPACE_RE = re.compile(r"\s+")


def normalize_header(text: object) -> str:
    """Header text as compared: NFKC (full-width → half-width), no spaces, no * or ：."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = _SPACE_RE.sub("", s)
    return s.strip("*:：")


def column_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def normalize_part_name(name: str) -> str:
    """A zip member (package part) name as compared: forward slashes, no leading slash, lower case."""
    return name.replace("\\", "/").lstrip("/").lower()


# SpreadsheetML: the start of a formula element (<f>, <x:f …/>): what a reader looking for formula cells searches for.
FORMULA_START = re.compile(rb"<(?:[\w.-]+:)?f[\s/>]")


# What every FORMULA_START match ends with. Searched first: it fails fast on a sheet without formulas ('<' is
# in every tag, so a search starting at '<' tries everywhere; 'f' before a space, '/' or '>' is rare).
_FORMULA_TAIL = re.compile(rb"f[\s/>]")


def has_formula_start(data: bytes) -> bool:
    """``data`` holds the start of a formula element (most sheets have none: that is settled by one fast search)."""
    return _FORMULA_TAIL.search(data) is not None and FORMULA_START.search(data) is not None


def column_index(letters: str) -> int:
    """Excel letters → 0-based column index."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1
