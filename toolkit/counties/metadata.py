"""What binds a county workbook to the ledger it came from: periods, columns, fingerprints, metadata.

A county template carries a very hidden sheet (:data:`META_SHEET`) of plain text cells: key/value
rows (county, period, template version, ledger identity, issue time, return deadline, layout,
fingerprint, seal) followed by one record per task row (task id, Excel row, hashes of the row's
read-only cells, hashes of its editable values as issued). Why a sheet and not a defined name or
a custom document property:

- every reader the toolkit uses (calamine through the guard's worker) returns it as a table, so
  no second parser has to open the untrusted file;
- Excel, WPS, LibreOffice and openpyxl all keep hidden sheets and their text cells when they
  re-save (LibreOffice turns "very hidden" into "hidden"; the content survives, which is all
  that matters), whereas custom properties and long defined names are dropped or truncated by
  some of them;
- it is text only: no formulas, nothing that a re-save recalculates.

Hashes are truncated SHA-256 of normalised values (see :func:`norm_value`), so a re-save that
turns a date into a datetime or 3 into 3.0 does not look like an edit. The ``seal`` (a hash over
every other metadata cell) catches accidental edits of the hidden sheet; it is not a signature:
someone who reads this code can forge it, which is acceptable for a reporting form whose
content is reviewed by staff anyway.

Pure: no Excel library is imported here.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from toolkit.core.intake import cell_id, cell_text, normalize_state
from toolkit.core.model import CellError, Ledger, Table, Task

MAGIC = "zhenggai-county-return"
TEMPLATE_VERSION = 1
META_SHEET = "_zhenggai_meta"
DATA_SHEET = "整改进展报送"
HEADER_ROW = 8  # 1-based; rows above hold the title and the instructions
ROWS_MARKER = "#rows"

# Days after the issue date by which counties return the filled workbook (unless set explicitly).
DEFAULT_RETURN_DAYS = 7
# China Standard Time (no daylight saving): every time the counties module judges or stamps is
# China wall-clock time, whatever the server's time zone (file properties and mtimes are UTC).
CHINA_TZ_OFFSET = timedelta(hours=8)


def china_time(timestamp: float) -> datetime:
    """A POSIX timestamp (e.g. a file's mtime) as naive China wall-clock time, to the second."""
    return (datetime.fromtimestamp(timestamp, UTC) + CHINA_TZ_OFFSET).replace(tzinfo=None, microsecond=0)


def china_now() -> datetime:
    """The current China wall-clock time (naive), independent of the server's time zone."""
    return china_time(datetime.now(UTC).timestamp())


def china_timestamp(when: datetime) -> float:
    """Naive China wall-clock time → POSIX timestamp (the inverse of :func:`china_time`)."""
    return (when - CHINA_TZ_OFFSET).replace(tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class TemplateColumn:
    """One column of the county template."""

    key: str
    header: str
    width: int
    editable: bool
    master: bool = False  # an editable value written into the master ledger's 任务清单


READONLY_COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn("id", "任务编号", 9, False),
    TemplateColumn("problem", "问题", 28, False),
    TemplateColumn("measure", "整改措施", 40, False),
    TemplateColumn("deadline", "完成时限", 12, False),
    TemplateColumn("extended_deadline", "延期时限", 12, False),
)
EDITABLE_COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn("state", "完成情况", 11, True, True),
    TemplateColumn("completed_on", "完成日期", 12, True, True),
    TemplateColumn("progress", "整改进展", 48, True, True),
    TemplateColumn("evidence", "佐证材料", 26, True, True),
    TemplateColumn("filler", "填报人", 10, True),
    TemplateColumn("phone", "联系电话", 14, True),
)
COLUMNS: tuple[TemplateColumn, ...] = READONLY_COLUMNS + EDITABLE_COLUMNS
HEADERS: tuple[str, ...] = tuple(c.header for c in COLUMNS)
MASTER_FIELDS: tuple[str, ...] = tuple(c.key for c in EDITABLE_COLUMNS if c.master)
LABELS: dict[str, str] = {c.key: c.header for c in COLUMNS}
# Excel letters in the template (columns start at A).
LETTERS: dict[str, str] = {c.key: chr(65 + j) for j, c in enumerate(COLUMNS)}


class MetadataError(Exception):
    """The hidden metadata of a county workbook is missing or unusable.

    ``code`` is stable (``missing-metadata``, ``metadata-tampered``, ``bad-metadata``) and
    ``str(e)`` says in Chinese what happened and what the county should do.
    """

    def __init__(self, code: str, message: str, *, county: str = "", period: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.county = county  # when the metadata still names the county (old template, tampered seal)
        self.period = period


# --------------------------------------------------------------------------------------
# Periods


def parse_period(text: str) -> str:
    """'2025-03', '2025-3', '202503', '2025年3月' → '2025-03'; ValueError (Chinese) otherwise."""
    import re
    import unicodedata

    s = unicodedata.normalize("NFKC", str(text)).strip()
    m = re.fullmatch(r"(\d{4})\s*(?:[-/.年]\s*)?(\d{1,2})\s*月?", s)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"报送期“{text}”无法识别，请写成 年-月，如 2025-03")
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def previous_period(today: date) -> str:
    """The month before ``today``'s month: the period reported at the start of a month."""
    first = today.replace(day=1)
    last_month = first - timedelta(days=1)
    return f"{last_month.year:04d}-{last_month.month:02d}"


def period_label(period: str) -> str:
    """'2025-03' → '2025年3月'."""
    y, m = period.split("-")
    return f"{int(y)}年{int(m)}月"


def period_end(period: str) -> date:
    """Last day of the period's month."""
    y, m = (int(x) for x in period.split("-"))
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return nxt - timedelta(days=1)


# --------------------------------------------------------------------------------------
# Values and hashes


def norm_value(value: Any) -> str:
    """A cell value as compared across readers and re-saves: dates as ISO, 3.0 as 3, text trimmed."""
    if type(value) is str and "\r" not in value and "_x000D_" not in value:
        return value.strip()
    if value is None or isinstance(value, CellError):
        return "" if value is None else str(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return cell_text(value)


def digest(*parts: str, size: int = 12) -> str:
    """Truncated SHA-256 hex of the parts joined by a separator that cannot occur in cell text."""
    h = hashlib.sha256("\x1f".join(parts).encode("utf-8"))
    return h.hexdigest()[:size]


def legacy_ledger_identity(ledger: Ledger) -> str:
    """The ledger id of templates issued before 台账编号 existed: a hash of editable settings.

    Kept only to recognise those returns while 单位名称, 巡察轮次 and 反馈日期 are unchanged.
    """
    st = ledger.settings
    return digest(
        "ledger",
        cell_text(st.unit_name),
        cell_text(st.inspection_round),
        st.feedback_date.isoformat() if st.feedback_date else "",
        size=16,
    )


_LEGACY_ID_RE = re.compile(r"[0-9a-f]{16}")


def is_legacy_id(ledger_id: str) -> bool:
    """Whether a template's ledger id is the old settings hash (16 hex digits) rather than a 台账编号."""
    return bool(_LEGACY_ID_RE.fullmatch(ledger_id))


@dataclass(frozen=True)
class LedgerIdentity:
    """What a return must match to belong to the ledger (see :func:`foreign_reason`)."""

    ledger_id: str  # the 台账编号 stored in 基本信息; "" when the ledger has none
    legacy_id: str  # legacy_ledger_identity() of the ledger as it stands
    unit_name: str
    inspection_round: str

    @classmethod
    def of(cls, ledger: Ledger, ledger_id: str) -> LedgerIdentity:
        st = ledger.settings
        return cls(ledger_id, legacy_ledger_identity(ledger), cell_text(st.unit_name), cell_text(st.inspection_round))


def foreign_reason(meta: TemplateMeta, ident: LedgerIdentity) -> str | None:
    """None when the return belongs to the ledger; else a Chinese message naming what differs.

    Rules (docs/rules/counties.md): a return belongs to the ledger when it carries the ledger's
    台账编号; a return issued before 台账编号 existed (legacy hash) when the hash still matches; a
    return with a 台账编号 while the ledger has none (its row deleted, or the id written to a
    copy) when 单位名称 and 巡察轮次 recorded in the return equal the ledger's.
    """
    legacy = is_legacy_id(meta.ledger_id)
    if ident.ledger_id and meta.ledger_id == ident.ledger_id:
        return None
    if legacy and meta.ledger_id == ident.legacy_id:
        return None
    same_unit = meta.unit_name == ident.unit_name
    same_round = meta.inspection_round == ident.inspection_round
    if not legacy and not ident.ledger_id and same_unit and same_round:
        return None
    diffs: list[str] = []
    if not same_unit:
        diffs.append(f"单位名称（报送表为“{meta.unit_name or '（空白）'}”，本台账为“{ident.unit_name or '（空白）'}”）")
    if legacy:
        if same_unit:
            diffs.append(
                "巡察轮次或反馈日期（这是旧版报送表，按单位名称、巡察轮次、反馈日期识别台账，三者须与下发时一致）"
            )
        fix = "请使用本台账重新生成的报送表填写后报回"
    else:
        if not same_round:
            diffs.append(
                f"巡察轮次（报送表为“{meta.inspection_round or '（空白）'}”，本台账为“{ident.inspection_round or '（空白）'}”）"
            )
        if ident.ledger_id:
            diffs.append(f"台账编号（报送表为 {meta.ledger_id}，本台账为 {ident.ledger_id}）")
        else:
            diffs.append(f"台账编号（报送表为 {meta.ledger_id}，本台账“基本信息”中没有台账编号）")
        fix = (
            "请确认报送对象；若两者是同一巡察轮次的不同台账文件（如重新新建的台账或他人的副本），"
            "请用本台账重新生成报送表下发"
        )
    source = f"（{meta.unit_name or '未知单位'}，文件“{meta.ledger_name}”）" if meta.ledger_name else ""
    return f"报送表属于另一本台账{source}，与本台账不一致的是：" + "；".join(diffs) + f"。{fix}。"


def readonly_values(task: Task, problem_title: str) -> dict[str, Any]:
    """The read-only cells of a task's template row, as written into the template."""
    if task.deadline is None:
        deadline: Any = None
    elif task.deadline.is_long_term:
        deadline = "长期坚持"
    elif task.deadline.on is not None:
        deadline = task.deadline.on
    else:
        deadline = task.deadline.text or None
    return {
        "id": task.id,
        "problem": problem_title or None,
        "measure": task.measure or None,
        "deadline": deadline,
        "extended_deadline": task.extended_deadline,
    }


def master_values(task: Task) -> dict[str, str]:
    """A master task's editable fields, normalised like a county cell (see :func:`county_value`)."""
    return {
        "state": task.state or task.state_text,
        "completed_on": task.completed_on.isoformat() if task.completed_on else "",
        "progress": task.progress,
        "evidence": task.evidence,
        "filler": "",
        "phone": "",
    }


def county_value(key: str, raw: Any) -> str:
    """A county's editable cell normalised for comparison with the master (unknown words kept as typed)."""
    if raw is None:
        return ""
    if key == "state":
        return normalize_state(raw) or cell_text(raw)
    if key == "completed_on":
        from toolkit.core.dates import parse_staff_date

        parsed = parse_staff_date(raw)
        return parsed.on.isoformat() if parsed.kind == "date" and parsed.on else cell_text(raw)
    if key == "phone":
        return cell_id(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else cell_text(raw)
    return cell_text(raw)


def readonly_row_hash(task_id: str, values: dict[str, Any]) -> str:
    """Hash of a row's read-only cells (what is compared first; per-cell hashes only on a mismatch)."""
    return digest("row", task_id, *(norm_value(values.get(c.key)) for c in READONLY_COLUMNS), size=16)


def readonly_table_hash(rows: list[list[Any]]) -> str:
    """One hash over the read-only cells of every row (A–E, in order): the fast whole-file check."""
    return digest("ro-all", *(norm_value(v) for row in rows for v in row[: len(READONLY_COLUMNS)]), size=32)


def readonly_hashes(task_id: str, values: dict[str, Any]) -> tuple[str, list[str]]:
    """(row hash, per-cell hashes) of a row's read-only cells."""
    normed = [norm_value(values.get(c.key)) for c in READONLY_COLUMNS]
    cells = [digest("ro", c.key, v, size=10) for c, v in zip(READONLY_COLUMNS, normed)]
    return digest("row", task_id, *normed, size=16), cells


def issued_hash(key: str, value: str) -> str:
    """Hash of one editable value as issued (normalised text)."""
    return digest("ed", key, value, size=10)


# --------------------------------------------------------------------------------------
# The metadata itself


@dataclass
class MetaRow:
    """One task row of a template as issued (hash lists kept as the stored text, split on demand)."""

    task_id: str
    row: int
    readonly: str  # hash of the row's read-only cells
    cells_text: str  # per read-only column, comma-separated
    issued_text: str  # per master field (MASTER_FIELDS order), comma-separated

    @property
    def cells(self) -> list[str]:
        return self.cells_text.split(",")

    @property
    def issued(self) -> dict[str, str]:
        """Master field → hash of its value as issued."""
        return dict(zip(MASTER_FIELDS, self.issued_text.split(",")))


@dataclass
class TemplateMeta:
    """Everything a returned workbook must prove about itself."""

    county: str
    period: str
    ledger_id: str
    issued_at: datetime
    return_deadline: date
    template_version: int = TEMPLATE_VERSION
    ledger_name: str = ""
    unit_name: str = ""
    inspection_round: str = ""  # recorded since 台账编号 (for the message when a return is foreign)
    data_sheet: str = DATA_SHEET
    header_row: int = HEADER_ROW
    headers: tuple[str, ...] = HEADERS
    rows: list[MetaRow] = field(default_factory=list)
    readonly_all: str = ""  # readonly_table_hash of all task rows as issued
    fingerprint: str = ""

    @property
    def first_row(self) -> int:
        return self.header_row + 1

    def compute_fingerprint(self) -> str:
        """Hash of the layout, every read-only cell and every editable value as issued."""
        parts = [
            self.county,
            self.period,
            self.ledger_id,
            self.data_sheet,
            str(self.header_row),
            *self.headers,
            self.readonly_all,
        ]
        for r in self.rows:
            parts += [r.task_id, str(r.row), r.readonly, r.cells_text, r.issued_text]
        return digest("fingerprint", *parts, size=32)

    def key_values(self) -> list[tuple[str, str]]:
        return [
            ("magic", MAGIC),
            ("template_version", str(self.template_version)),
            ("county", self.county),
            ("period", self.period),
            ("ledger_id", self.ledger_id),
            ("ledger_name", self.ledger_name),
            ("unit_name", self.unit_name),
            *([("inspection_round", self.inspection_round)] if self.inspection_round else []),
            ("issued_at", self.issued_at.isoformat(timespec="seconds")),
            ("return_deadline", self.return_deadline.isoformat()),
            ("data_sheet", self.data_sheet),
            ("header_row", str(self.header_row)),
            ("headers", json.dumps(list(self.headers), ensure_ascii=False)),
            ("readonly_all", self.readonly_all),
            ("fingerprint", self.fingerprint),
        ]

    def record_rows(self) -> list[list[str]]:
        return [[r.task_id, str(r.row), r.readonly, r.cells_text, r.issued_text] for r in self.rows]

    def to_rows(self) -> list[list[str]]:
        """The metadata sheet's cells, all text: key/value rows, the seal, the marker, the records."""
        kv = [[k, v] for k, v in self.key_values()]
        records = self.record_rows()
        return [*kv, ["seal", _seal(kv, records)], [ROWS_MARKER, str(len(records))], *records]


def _seal(kv: list[list[str]], records: list[list[str]]) -> str:
    return digest("seal", *("=".join(r) for r in kv), *("|".join(r) for r in records), size=32)


def _text(value: Any) -> str:
    """A metadata cell as text; a re-save may have turned '12' into the number 12."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def find_meta_table(tables: dict[str, Table]) -> Table | None:
    """The metadata sheet: by name, or any sheet whose A1 is the magic word (renamed)."""
    if META_SHEET in tables:
        return tables[META_SHEET]
    for table in tables.values():
        if table.first_row == 1 and table.first_col == 0 and table.rows and table.rows[0][:1] == ["magic"]:
            return table
    return None


def parse_meta(tables: dict[str, Table]) -> TemplateMeta:
    """The template metadata of a returned workbook; :class:`MetadataError` when absent or damaged."""
    table = find_meta_table(tables)
    if table is None:
        raise MetadataError(
            "missing-metadata",
            "不是本系统下发的报送表（缺少隐藏的校验信息，可能是自制表格或把内容复制到了新文件）："
            "请在市中心下发的报送表原文件上直接填写后报回，不要新建或复制到其他文件。",
        )
    rows = [[v.strip() if type(v) is str else _text(v) for v in r] for r in table.rows]
    kv: list[list[str]] = []
    records: list[list[str]] = []
    seal = ""
    i = 0
    while i < len(rows):
        r = rows[i] + ["", ""]
        if r[0] == "seal":
            seal = r[1]
        elif r[0] == ROWS_MARKER:
            records = [(x + [""] * 5)[:5] for x in rows[i + 1 :] if any(x)]
            break
        elif r[0]:
            kv.append([r[0], r[1]])
        i += 1
    values = dict((k, v) for k, v in kv)
    if values.get("magic") != MAGIC:
        raise MetadataError(
            "missing-metadata",
            "不是本系统下发的报送表（隐藏的校验信息无法识别）：请在市中心下发的报送表原文件上直接填写后报回。",
        )
    county, period = values.get("county", ""), values.get("period", "")
    try:
        version = int(values.get("template_version", ""))
    except ValueError:
        version = 0
    if version < TEMPLATE_VERSION:
        raise MetadataError(
            "old-template",
            f"报送表模板版本过旧（第{version}版，现行第{TEMPLATE_VERSION}版），内容格式与现行台账不一致：请使用市中心本期下发的新报送表"
            "重新填写后报回。",
            county=county,
            period=period,
        )
    if version > TEMPLATE_VERSION:
        raise MetadataError(
            "newer-template",
            f"报送表由更新版本的工具生成（第{version}版，本机工具只认第{TEMPLATE_VERSION}版）：请市中心升级 zhenggai 工具后再汇总。",
            county=county,
            period=period,
        )
    if not seal or _seal(kv, records) != seal:
        raise MetadataError(
            "metadata-tampered",
            "报送表中隐藏的校验信息被改动过，无法确认表格内容是否为下发原样：请在市中心下发的报送表原文件上重新填写后报回；"
            "如果原文件已丢失，请联系市中心重新下发。",
            county=county,
            period=period,
        )
    try:
        meta = TemplateMeta(
            county=values["county"],
            period=values["period"],
            ledger_id=values["ledger_id"],
            issued_at=datetime.fromisoformat(values["issued_at"]),
            return_deadline=date.fromisoformat(values["return_deadline"]),
            template_version=int(values["template_version"]),
            ledger_name=values.get("ledger_name", ""),
            unit_name=values.get("unit_name", ""),
            inspection_round=values.get("inspection_round", ""),
            data_sheet=values["data_sheet"],
            header_row=int(values["header_row"]),
            headers=tuple(json.loads(values["headers"])),
            readonly_all=values.get("readonly_all", ""),
            fingerprint=values.get("fingerprint", ""),
            rows=[MetaRow(r[0], int(r[1]), r[2], r[3], r[4]) for r in records],
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise MetadataError(
            "bad-metadata",
            f"报送表中隐藏的校验信息不完整（{type(exc).__name__}）：请使用市中心本期下发的报送表重新填写。",
            county=county,
            period=period,
        ) from None
    if meta.fingerprint != meta.compute_fingerprint():
        raise MetadataError(
            "metadata-tampered",
            "报送表的校验指纹与内容不符，表格可能被改动过：请在市中心下发的报送表原文件上重新填写后报回。",
            county=county,
            period=period,
        )
    return meta
