"""One returned county workbook → accepted changes, conflicts and located issues (never raises).

The file has already been pre-checked and read in an isolated worker by
:mod:`toolkit.excel.untrusted`; this module only looks at the tables it produced, plus two small
parts of the zip read here (the last-saved time in ``docProps/core.xml`` and the formula cells of
the data sheet), both bounded and regex-scanned, never parsed as XML with entities.

Acceptance is all or nothing per file: any error (wrong period, edited read-only cell, rows
added/deleted/reordered, another county's task, a bad value...) rejects the whole file and none
of its content reaches the master, so the county resends one corrected file and there is never a
half-imported return. Warnings (no evidence for a completed task, no filler name...) and
conflicts (a row the center changed since the template was issued) do not reject the file: a
conflicting row is withheld and listed for staff to resolve by hand.
"""

from __future__ import annotations

import copy
import re
import zipfile
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from toolkit.core import schema as S
from toolkit.core.dates import parse_staff_date, year_reference
from toolkit.core.intake import cell_text, normalize_state
from toolkit.core.model import CellError, Layout, Ledger, Table, Task
from toolkit.core.report import WARNING, Issue, Location
from toolkit.core.schema import FORMULA_START, has_formula_start, normalize_part_name
from toolkit.core.validate import rule_dates, rule_states
from toolkit.counties.metadata import (
    CHINA_TZ_OFFSET,
    COLUMNS,
    LABELS,
    LETTERS,
    MASTER_FIELDS,
    META_SHEET,
    READONLY_COLUMNS,
    LedgerIdentity,
    MetadataError,
    TemplateMeta,
    china_time,
    county_value,
    find_meta_table,
    foreign_reason,
    issued_hash,
    master_values,
    norm_value,
    parse_meta,
    period_label,
    readonly_hashes,
    readonly_row_hash,
    readonly_table_hash,
)

# Outcome of a file.
ACCEPTED = "accepted"
REJECTED = "rejected"
SUPERSEDED = "superseded"  # an earlier file of the same county, replaced by a strict update

TIME_FROM_PROPERTIES = "文件属性中的最后保存时间"
TIME_FROM_MTIME = "文件修改时间"

BLANK = "（空白）"
_PHONE_RE = re.compile(r"^[0-9０-９\-－—()（）+＋\s转、,，/]{7,40}$")
_MAX_PART = 64 * 2**20  # bytes of a part read here (after the guard's pre-check)


@dataclass(frozen=True)
class FieldChange:
    """One master cell a return changes."""

    task_id: str
    key: str  # state / completed_on / progress / evidence
    old: str  # normalised master value before ("" = blank)
    new: str  # normalised county value
    value: Any  # what is written into the master cell (str, date or None)
    county_cell: str  # where the county typed it, e.g. "G12"

    @property
    def label(self) -> str:
        return LABELS[self.key]


@dataclass(frozen=True)
class Conflict:
    """A county edit to a field the center changed after the template was issued."""

    task_id: str
    key: str
    master_now: str  # the center's current value
    county: str  # what the county filled in
    county_cell: str

    @property
    def label(self) -> str:
        return LABELS[self.key]


@dataclass
class ReturnCheck:
    """Everything learnt about one file of the inbox."""

    path: Path
    display: str = ""  # the path relative to the inbox (files in subfolders), else the file name
    county: str = ""  # from the metadata only (never from the file name)
    name_hint: str = ""  # a county name seen in the file name, for the report's wording only
    meta: TemplateMeta | None = None
    submitted_at: datetime | None = None  # China time
    time_source: str = ""
    deadline: date | None = None
    late: bool = False
    rows: int = 0
    filler: str = ""
    phone: str = ""
    issues: list[Issue] = field(default_factory=list)
    changes: list[FieldChange] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # task → key → normalised county value
    status: str = ACCEPTED
    note: str = ""

    @property
    def name(self) -> str:
        """How the file is named in messages and the report: its path inside the inbox."""
        return self.display or self.path.name

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if not i.is_error]

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED

    def reject(self, code: str, message: str, location: Location | None = None) -> None:
        """Add an error: the file is refused as a whole."""
        self.issues.append(Issue(code, message, location or Location(self.name)))
        self.status = REJECTED

    def warn(self, code: str, message: str, location: Location | None = None) -> None:
        self.issues.append(Issue(code, message, location or Location(self.name), WARNING))

    def finish(self) -> ReturnCheck:
        if self.errors:
            self.status = REJECTED
            self.changes = []
        return self


@dataclass
class MasterContext:
    """What a return is checked against: the master ledger as read, the period, the date."""

    ledger: Ledger
    identity: LedgerIdentity
    period: str
    today: date
    deadline: date | None = None  # overrides the deadline stored in each template
    tasks: dict[str, Task] = field(default_factory=dict)  # unique ids only
    duplicate_ids: set[str] = field(default_factory=set)
    counties: set[str] = field(default_factory=set)
    # (county, task, field) → the latest value this county's returns brought in for the period
    # (from 变更记录): a master value that came from the county itself is not a center change.
    own_values: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        ledger: Ledger,
        *,
        ledger_id: str,
        period: str,
        today: date,
        deadline: date | None = None,
        own_values: dict[tuple[str, str, str], str] | None = None,
    ) -> MasterContext:
        identity = LedgerIdentity.of(ledger, ledger_id)
        ctx = cls(ledger, identity, period, today, deadline, own_values=own_values or {})
        for t in ledger.tasks:
            if t.id in ctx.tasks or t.id in ctx.duplicate_ids:
                ctx.duplicate_ids.add(t.id)
                ctx.tasks.pop(t.id, None)
            elif t.id:
                ctx.tasks[t.id] = t
        ctx.counties = {c.name for c in ledger.counties if c.name}
        return ctx


# --------------------------------------------------------------------------------------
# The zip parts read here


@dataclass
class ZipProbe:
    """Last-saved time from the document properties, and formula cells by sheet name."""

    saved_at: datetime | None = None  # UTC, naive
    formulas: dict[str, set[str]] = field(default_factory=dict)  # sheet → {"G12", ...}


_MODIFIED_RE = re.compile(rb"<(?:[\w.-]+:)?modified(?:\s[^>]*)?>([^<]{8,40})</")
_SHEET_RE = re.compile(rb"<(?:[\w.-]+:)?sheet\s([^>]*?)/?>")
_ATTR_RE = re.compile(rb"""([\w.:-]+)\s*=\s*["']([^"']*)["']""")
_REL_RE = re.compile(rb"<(?:[\w.-]+:)?Relationship\s([^>]*?)/?>")
_C_START_RE = re.compile(rb"<(?:[\w.-]+:)?c\s[^>]*?\br\s*=\s*[\"']([A-Za-z]+\d+)[\"']")


def _read_part(zf: zipfile.ZipFile, name: str) -> bytes | None:
    lower = {n.lower().lstrip("/"): n for n in zf.namelist()}
    real = lower.get(name.lower())
    if real is None:
        return None
    info = zf.getinfo(real)
    if info.file_size > _MAX_PART:
        return None
    with zf.open(real) as fh:
        return fh.read(_MAX_PART + 1)[:_MAX_PART]


def probe_zip(path: Path, sheets: tuple[str, ...], formula_free: set[str] | None = None) -> ZipProbe:
    """Read the last-saved time and the formula cells of ``sheets``; empty on any trouble.

    Called only for files the guard accepted (sizes, ratios and DTDs already checked).
    ``formula_free``: the worksheet parts (normalised names) the pre-check scanned whole without finding a
    formula element start (``precheck(formulas=True)``); such a part is not decompressed again, as its
    search would find nothing.
    """
    probe = ZipProbe()
    try:
        with zipfile.ZipFile(path) as zf:
            core = _read_part(zf, "docProps/core.xml")
            if core and (m := _MODIFIED_RE.search(core)):
                probe.saved_at = _parse_utc(m.group(1).decode("ascii", "replace").strip())
            wb = _read_part(zf, "xl/workbook.xml")
            rels = _read_part(zf, "xl/_rels/workbook.xml.rels")
            if not wb or not rels:
                return probe
            targets: dict[str, str] = {}
            for m in _REL_RE.finditer(rels):
                attrs = dict(_ATTR_RE.findall(m.group(1)))
                if b"Id" in attrs and b"Target" in attrs:
                    t = attrs[b"Target"].decode("utf-8", "replace")
                    targets[attrs[b"Id"].decode()] = t.lstrip("/") if t.startswith("/") else "xl/" + t
            for m in _SHEET_RE.finditer(wb):
                attrs = {k.decode(): v for k, v in _ATTR_RE.findall(m.group(1))}
                name = _xml_unescape(attrs.get("name", b"").decode("utf-8", "replace"))
                rid = next((v.decode() for k, v in attrs.items() if k.endswith(":id")), None)
                if name not in sheets or rid not in targets:
                    continue
                if formula_free and normalize_part_name(targets[rid]) in formula_free:
                    continue
                data = _read_part(zf, targets[rid])
                if data and has_formula_start(data):
                    probe.formulas[name] = _formula_cells(data)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, EOFError, RuntimeError):
        return probe
    return probe


def _xml_unescape(s: str) -> str:
    return (
        s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")
    )


def _formula_cells(data: bytes) -> set[str]:
    """References of the cells holding an ``<f>`` element (the nearest cell start tag before it)."""
    starts = [(m.start(), m.group(1)) for m in _C_START_RE.finditer(data)]
    positions = [p for p, _ in starts]
    out: set[str] = set()
    for m in FORMULA_START.finditer(data):
        i = bisect_right(positions, m.start()) - 1
        if i >= 0:
            out.add(starts[i][1].decode("ascii").upper())
    return out


def _parse_utc(text: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def submission_time(path: Path, probe: ZipProbe, meta: TemplateMeta | None) -> tuple[datetime | None, str]:
    """When the county finished the file, in China time, and where that came from.

    The last-saved time the office software wrote into the file's properties (Excel, WPS and
    LibreOffice all update it on save) is preferred: it does not change when the file is copied,
    mailed or downloaded. It is ignored when missing or earlier than the template's issue time
    (a wrong clock); then the file's modification time in the inbox is used.
    """
    if probe.saved_at is not None:
        local = probe.saved_at + CHINA_TZ_OFFSET
        if meta is None or local >= meta.issued_at - timedelta(days=1):
            return local, TIME_FROM_PROPERTIES
    try:
        # China time whatever the server's zone: a file saved at 01:00 in China is not a day early.
        return china_time(path.stat().st_mtime), TIME_FROM_MTIME
    except OSError:
        return None, ""


# --------------------------------------------------------------------------------------
# The part of the check that needs no master: done in the reader worker


@dataclass
class Prepared:
    """What a reader worker learnt from a file's tables alone, so the run's own process need not.

    Exactly what :func:`check_return` would otherwise compute itself from the same tables (the
    same functions on the same values): the zip probe, the parsed metadata (or why it is not
    usable), the hash of the read-only cells of the data rows, and per data row the normalised
    editable values of a row that raises nothing on its own (no formula, no error value, the
    完成日期 blank or a real date; else None and the row is done in the run's process).
    """

    probe: ZipProbe
    meta: TemplateMeta | None = None
    meta_error: tuple[str, str, str, str] | None = None  # MetadataError (code, message, county, period)
    readonly_hash: str | None = None
    values: list[dict[str, str] | None] | None = None


_NO_NOTE_DATES = (type(None), date, datetime)  # completed_on values parsed alike whatever the reference year


def prepare_return(path: str | Path, tables: dict[str, Table], formula_free: set[str] | None = None) -> Prepared:
    """Run in the reader worker after its read: the master-independent part of :func:`check_return`.

    ``formula_free``: what the worker's pre-check found about formulas (see :func:`probe_zip`)."""
    path = Path(path)
    try:
        meta = parse_meta(tables)
    except MetadataError as exc:
        return Prepared(ZipProbe(), meta_error=(exc.code, exc.message, exc.county, exc.period))  # probe not needed
    scratch = ReturnCheck(path)
    data = _data_table(scratch, tables, meta)
    # The formulas of the one sheet check_return looks at (the data sheet, perhaps renamed).
    probe = probe_zip(path, (data.name,) if data is not None else (), formula_free)
    prep = Prepared(probe, meta)
    rows = _data_rows(scratch, data, meta) if data is not None else None
    if not rows:
        return prep
    prep.readonly_hash = readonly_table_hash([cells for _, cells in rows])
    formulas = probe.formulas.get(data.name, set())
    editable = [(c.key, j, LETTERS[c.key]) for j, c in enumerate(COLUMNS) if c.editable]
    out: list[dict[str, str] | None] = []
    for r, cells in rows:
        values: dict[str, str] | None = {}
        for key, j, letter in editable:
            v = cells[j]
            if (
                type(v) is CellError
                or (formulas and f"{letter}{r}" in formulas)
                or (key == "completed_on" and type(v) not in _NO_NOTE_DATES)
            ):
                values = None
                break
            values[key] = county_value(key, v) if key != "completed_on" else _date_value(v, None)
        out.append(values)
    prep.values = out
    return prep


def prepare_in_worker(path: str, tables: dict[str, Table], facts: Any = None) -> tuple[dict[str, Table], Prepared]:
    """The reader worker's answer for a county file: its tables (the metadata sheet cut to its
    first row once parsed: nothing else of it is looked at again) and :func:`prepare_return`.
    ``facts``: the worker's pre-check of the file (its FileFacts), or None."""
    prep = prepare_return(path, tables, getattr(facts, "formula_free", None))
    meta_table = find_meta_table(tables) if prep.meta is not None else None
    if meta_table is not None and prep.meta is not None and meta_table.name != prep.meta.data_sheet:
        # _data_table tells the metadata sheet from a renamed data sheet by name or by its first row.
        tables = {n: replace(t, rows=t.rows[:1]) if t is meta_table else t for n, t in tables.items()}
    return tables, prep


# --------------------------------------------------------------------------------------
# Checking one file


def check_return(
    path: Path,
    tables: dict[str, Table],
    ctx: MasterContext,
    *,
    probe: ZipProbe | None = None,
    display: str = "",
    prepared: Prepared | None = None,
) -> ReturnCheck:
    """Check one returned workbook (already read by the guard) against the master; never raises.

    ``display`` names the file in messages (its path inside the inbox); default its file name.
    ``prepared``: what :func:`prepare_return` computed from these tables in the reader worker
    (the outcome is the same with or without it).
    """
    out = ReturnCheck(path, display=display)
    name = path.name  # once: a Path computes it again on every access
    out.name_hint = next((c for c in sorted(ctx.counties, key=len, reverse=True) if c in name), "")
    if prepared is not None:
        probe = prepared.probe
    try:
        if prepared is None:
            meta = parse_meta(tables)
        elif prepared.meta_error is not None:
            code, message, county, period = prepared.meta_error
            raise MetadataError(code, message, county=county, period=period)
        else:
            assert prepared.meta is not None
            meta = prepared.meta
    except MetadataError as exc:
        # Only a well-formed old/new template names its county credibly (a broken seal does not).
        if exc.code in ("old-template", "newer-template") and exc.county in ctx.counties:
            out.county = exc.county
        out.reject(exc.code, exc.message, Location(out.name, META_SHEET if exc.code != "missing-metadata" else ""))
        return out.finish()
    out.meta = meta
    probe = probe if probe is not None else probe_zip(path, (meta.data_sheet,))
    out.submitted_at, out.time_source = submission_time(path, probe, meta)
    out.deadline = ctx.deadline or meta.return_deadline
    out.late = bool(out.submitted_at and out.submitted_at.date() > out.deadline)
    foreign = foreign_reason(meta, ctx.identity)
    if foreign is not None:
        out.reject("other-ledger", foreign)
        return out.finish()
    if meta.county not in ctx.counties:
        out.reject(
            "unknown-county",
            f"报送表所属县区“{meta.county}”不在台账的“县区”工作表中：请核对县区名称，或先在台账“县区”表中登记该县区后再汇总。",
        )
        return out.finish()
    out.county = meta.county
    if meta.period != ctx.period:
        out.reject(
            "wrong-period",
            f"这是{period_label(meta.period)}的报送表，本次汇总的是{period_label(ctx.period)}：请使用本期下发的报送表填写后报回"
            f"（若本意是汇总{period_label(meta.period)}，请用 --period {meta.period} 重新运行）。",
        )
        return out.finish()
    data = _data_table(out, tables, meta)
    if data is None:
        return out.finish()
    rows = _data_rows(out, data, meta)
    if rows is None or not _structure_ok(out, rows, meta, ctx):
        return out.finish()
    _check_readonly(out, rows, meta, data.name, prepared.readonly_hash if prepared is not None else None)
    if out.errors:
        return out.finish()
    pre_values = prepared.values if prepared is not None and prepared.values is not None else None
    if pre_values is not None and len(pre_values) != len(rows):
        pre_values = None  # not reached: the worker found the same rows
    _check_editable(out, rows, meta, ctx, data.name, probe.formulas.get(data.name, set()), pre_values)
    return out.finish()


def _data_table(out: ReturnCheck, tables: dict[str, Table], meta: TemplateMeta) -> Table | None:
    if meta.data_sheet in tables:
        return tables[meta.data_sheet]
    others = [t for n, t in tables.items() if n != META_SHEET and not (t.rows and t.rows[0][:1] == ["magic"])]
    if len(others) == 1:
        out.warn(
            "sheet-renamed",
            f"工作表“{meta.data_sheet}”被改名为“{others[0].name}”，已按改名后的工作表读取；下次请勿修改工作表名称。",
            Location(out.name, others[0].name),
        )
        return others[0]
    out.reject(
        "missing-data-sheet",
        f"找不到报送工作表“{meta.data_sheet}”（可能被删除或改名）：请在下发的报送表原文件上填写，不要删除或改名工作表。",
    )
    return None


def _cell(table: Table, row: int, col: int) -> Any:
    i, j = row - table.first_row, col - table.first_col
    if 0 <= i < len(table.rows) and 0 <= j < len(table.rows[i]):
        return table.rows[i][j]
    return None


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _data_rows(out: ReturnCheck, table: Table, meta: TemplateMeta) -> list[tuple[int, list[Any]]] | None:
    """(Excel row, cells A..K) of every non-blank row below the header; None when the header changed."""
    width = len(COLUMNS)
    for j, expected in enumerate(meta.headers):
        got = norm_value(_cell(table, meta.header_row, j))
        if got != expected:
            out.reject(
                "header-changed",
                f"表头第{j + 1}列应为“{expected}”，现为“{got or BLANK}”：表格的列被增加、删除、移动或改名了，"
                "请在下发的报送表原文件上填写，不要改动列。",
                Location(out.name, table.name, meta.header_row, S.column_letter(j), expected),
            )
            return None
    last = table.first_row + len(table.rows) - 1
    rows: list[tuple[int, list[Any]]] = []
    extra_cols: set[str] = set()
    lead = [None] * table.first_col  # columns left of the table's first column are empty
    pad = [None] * width
    inside = max(width - table.first_col, 0)
    for r in range(meta.first_row, last + 1):
        i = r - table.first_row
        raw = table.rows[i] if 0 <= i < len(table.rows) else []
        cells = (lead + raw[:inside] + pad)[:width] if lead else (raw[:width] + pad)[:width]
        if len(raw) > inside:
            for j in range(inside, len(raw)):
                if not _blank(raw[j]):
                    extra_cols.add(table.letter(j))
        rows.append((r, cells))
    while rows and all(_blank(v) for v in rows[-1][1]):
        rows.pop()
    if extra_cols:
        out.warn(
            "extra-cells",
            f"报送范围（A–{S.column_letter(width - 1)}列）之外的 {'、'.join(sorted(extra_cols))} 列有内容，已忽略："
            "如需说明，请写在“整改进展”中。",
            Location(out.name, table.name, None, min(extra_cols)),
        )
    return rows


def _structure_ok(out: ReturnCheck, rows: list[tuple[int, list[Any]]], meta: TemplateMeta, ctx: MasterContext) -> bool:
    """Rows must be exactly the issued ones, in the issued order, at the issued positions."""
    issued = [(r.row, r.task_id) for r in meta.rows]
    got = [(r, cell_text(c[0]) if not isinstance(c[0], (int, float)) else norm_value(c[0])) for r, c in rows]
    out.rows = len(got)
    if got == issued:
        return True
    sheet = meta.data_sheet
    issued_ids = [t for _, t in issued]
    got_ids = [t for _, t in got]
    issued_set = set(issued_ids)
    for r, tid in got:
        if tid in issued_set:
            continue
        task = ctx.tasks.get(tid)
        loc = Location(out.name, sheet, r, "A", "任务编号")
        if task is not None and task.unit != meta.county:
            out.reject(
                "other-county-task",
                f"第{r}行的任务“{tid}”是{task.unit or '其他单位'}的任务，不是{meta.county}的任务：请删除复制进来的行，"
                "只填写下发给本县区的任务。",
                loc,
            )
        elif tid:
            out.reject(
                "row-added",
                f"第{r}行“{tid}”不是下发的任务行（行被增加或任务编号被改动）：请在下发的报送表原文件上填写，"
                "不要增加行或修改任务编号。",
                loc,
            )
        else:
            out.reject(
                "row-added",
                f"第{r}行是新增的行（任务编号为空）：请删除该行，不要在报送表中增加行；如需补充说明，请写在“整改进展”中。",
                loc,
            )
    present = set(got_ids)
    missing = [t for t in issued_ids if t not in present]
    if missing:
        shown = "、".join(missing[:10]) + (f"等{len(missing)}项" if len(missing) > 10 else "")
        out.reject(
            "row-deleted",
            f"下发的任务行 {shown} 不见了（行被删除）：请在下发的报送表原文件上填写，不要删除行；"
            "没有进展的任务保持原样即可。",
            Location(out.name, sheet),
        )
    if not out.errors:
        if sorted(got_ids) == sorted(issued_ids) and got_ids != issued_ids:
            first = next(i for i, (a, b) in enumerate(zip(got_ids, issued_ids)) if a != b)
            out.reject(
                "rows-reordered",
                f"任务行的顺序被调换（从第{got[first][0]}行起，应为“{issued_ids[first]}”，现为“{got_ids[first]}”）："
                "请按下发时的顺序排列，不要排序或移动行。",
                Location(out.name, sheet, got[first][0], "A", "任务编号"),
            )
        elif len(got_ids) != len(set(got_ids)):
            dup = next(t for t in got_ids if got_ids.count(t) > 1)
            out.reject(
                "row-added", f"任务“{dup}”出现了不止一次（行被复制）：请删除重复的行。", Location(out.name, sheet)
            )
        else:  # same tasks in the same order, but not on the issued rows (rows shifted above them)
            row = next((r for (r, _), (rr, _) in zip(got, issued) if r != rr), meta.first_row)
            out.reject(
                "row-added",
                f"任务行的位置与下发时不一致（第{row}行附近插入或删除了行）：请在下发的报送表原文件上填写，保持下发时的行位置。",
                Location(out.name, sheet, row),
            )
    return False


def _check_readonly(
    out: ReturnCheck, rows: list[tuple[int, list[Any]]], meta: TemplateMeta, sheet: str, table_hash: str | None = None
) -> None:
    if table_hash is None:
        table_hash = readonly_table_hash([cells for _, cells in rows])
    if table_hash == meta.readonly_all:
        return  # every read-only cell as issued (the common case: one hash for the whole file)
    for (r, cells), rec in zip(rows, meta.rows):
        values = {c.key: cells[j] for j, c in enumerate(READONLY_COLUMNS)}
        if readonly_row_hash(rec.task_id, values) == rec.readonly:
            continue
        _, cell_hashes = readonly_hashes(rec.task_id, values)
        for j, (col, h, expected) in enumerate(zip(READONLY_COLUMNS, cell_hashes, rec.cells)):
            if h != expected:
                out.reject(
                    "readonly-edited",
                    f"灰色的只读单元格“{col.header}”被修改了（现为“{norm_value(cells[j]) or BLANK}”）：此列为下发内容，不能修改；"
                    "请恢复原样（或在下发的报送表原文件上重新填写），需要说明的情况请写在“整改进展”中。",
                    Location(out.name, sheet, r, S.column_letter(j), col.header),
                )


# Which county fields each foundation rule is about: an issue counts against the county only
# when the county changed one of them (otherwise it is the center's own data, shown by `check`).
_RULE_FIELDS: dict[str, set[str]] = {
    "unknown-state": {"state"},
    "done-without-date": {"state", "completed_on"},
    "date-without-done": {"state", "completed_on"},
    "done-without-evidence": {"state", "evidence"},
    "long-term-with-deadline": {"state"},
    "date-in-future": {"completed_on"},
}


def _check_editable(
    out: ReturnCheck,
    rows: list[tuple[int, list[Any]]],
    meta: TemplateMeta,
    ctx: MasterContext,
    sheet: str,
    formulas: set[str],
    pre_values: list[dict[str, str] | None] | None = None,
) -> None:
    """Compare the editable cells with the issued and current master values; validate what changed.

    ``pre_values``: per row, the normalised values :func:`prepare_return` found (None for a row
    it left to this function), the same as computed here.
    """
    reference = year_reference(ctx.ledger.settings)  # year-less dates: the ledger's one rule
    editable = [(c, j) for j, c in enumerate(COLUMNS) if c.editable]
    merged: list[tuple[Task, set[str]]] = []
    tasks = ctx.tasks
    for i, ((r, cells), rec) in enumerate(zip(rows, meta.rows)):
        pre = pre_values[i] if pre_values is not None else None
        if pre is not None:  # a clean row, normalised by the worker: nothing to report about its cells
            values, raw, bad = pre, None, False
        else:
            values, raw, bad = _row_values(out, r, cells, editable, formulas, reference, sheet)
        out.values[rec.task_id] = values
        if values.get("filler") and not out.filler:
            out.filler = values["filler"]
        if values.get("phone") and not out.phone:
            out.phone = values["phone"]
        if values.get("phone") and not _PHONE_RE.match(values["phone"]):
            out.warn(
                "bad-phone",
                f"联系电话“{values['phone']}”看起来不是电话号码：请填写手机号或座机号，如 0763-3363601。",
                Location(out.name, sheet, r, LETTERS["phone"], "联系电话"),
            )
        if bad:
            continue
        task = tasks.get(rec.task_id)
        if (
            task is not None
            and task.unit == meta.county
            and task.signed_off_on is None
            and _same_as_master(values, task)
        ):
            continue  # nothing to write, nothing to conflict with (the common case: no hashing)
        if raw is None:
            raw = {col.key: cells[j] for col, j in editable}
        issued = rec.issued
        changed = [k for k in MASTER_FIELDS if issued_hash(k, values[k]) != issued[k]]
        if not changed:
            continue
        loc = Location(out.name, sheet, r, "A", "任务编号")
        if task is None:
            why = "台账中该任务编号重复" if rec.task_id in ctx.duplicate_ids else "该任务已从台账中删除或改了编号"
            out.warn(
                "task-not-in-ledger", f"任务“{rec.task_id}”：{why}，本行填报的内容未导入，请市中心核对后手工处理。", loc
            )
            continue
        if task.unit != meta.county:
            out.warn(
                "task-reassigned",
                f"任务“{rec.task_id}”下发后已改由“{task.unit}”负责，本行填报的内容未导入，请市中心核对后手工处理。",
                loc,
            )
            continue
        now = master_values(task)
        if task.signed_off_on is not None:
            for k in changed:
                if values[k] != now[k]:
                    out.conflicts.append(Conflict(rec.task_id, k, now[k], values[k], f"{LETTERS[k]}{r}"))
            continue
        row_conflicts = [
            Conflict(rec.task_id, k, now[k], values[k], f"{LETTERS[k]}{r}")
            for k in changed
            if values[k] != now[k]
            and issued_hash(k, now[k]) != issued[k]
            and ctx.own_values.get((meta.county, rec.task_id, k)) != now[k]
        ]
        if row_conflicts:
            out.conflicts.extend(row_conflicts)  # the whole row waits: its fields belong together
            continue
        if values["state"] == "" and now["state"]:
            out.reject(
                "state-cleared",
                "“完成情况”被清空了：请从下拉列表选择 未启动/推进中/已完成/长期坚持。",
                Location(out.name, sheet, r, LETTERS["state"], "完成情况"),
            )
            continue
        new_task = copy.copy(task)
        new_task.row = r
        changed_here = set()
        for k in changed:
            if values[k] == now[k]:
                continue
            changed_here.add(k)
            typed = _typed(k, raw[k], values[k], reference)
            if k == "state":
                new_task.state = normalize_state(raw[k])
                new_task.state_text = cell_text(raw[k])
            else:
                setattr(new_task, k, typed)
            out.changes.append(FieldChange(rec.task_id, k, now[k], values[k], typed, f"{LETTERS[k]}{r}"))
            if k == "completed_on" and values[k]:
                parsed = parse_staff_date(raw[k], reference=reference)
                if parsed.kind != "date":
                    out.reject(
                        "bad-date",
                        f"完成日期：{parsed.error or '应填写日期'}",
                        Location(out.name, sheet, r, LETTERS[k], "完成日期"),
                    )
        if changed_here:
            merged.append((new_task, changed_here))
    if merged:
        _validate_merged(out, merged, ctx, sheet)
    if out.changes and not out.filler:
        out.warn(
            "missing-filler",
            "报送表有填报内容但没有填写“填报人”：请在“填报人”“联系电话”列填写经办人姓名和电话，便于核实。",
            Location(out.name, sheet, meta.first_row, LETTERS["filler"], "填报人"),
        )


def _row_values(
    out: ReturnCheck,
    r: int,
    cells: list[Any],
    editable: list[tuple[Any, int]],
    formulas: set[str],
    reference: date | None,
    sheet: str,
) -> tuple[dict[str, str], dict[str, Any], bool]:
    """A row's normalised editable values, the raw cells behind them, and whether a cell was refused."""
    values: dict[str, str] = {}
    raw: dict[str, Any] = {}
    bad = False
    for col, j in editable:
        v = cells[j]
        if formulas and f"{LETTERS[col.key]}{r}" in formulas:
            out.reject(
                "formula-in-cell",
                f"“{col.header}”单元格含有公式：报送表只接受直接填写的内容，请删除公式、直接填写文字或日期。",
                Location(out.name, sheet, r, LETTERS[col.key], col.header),
            )
            bad = True
            continue
        if type(v) is CellError:
            out.reject(
                "excel-error",
                f"“{col.header}”单元格是 Excel 错误值 {v.code}：请改为直接填写内容。",
                Location(out.name, sheet, r, LETTERS[col.key], col.header),
            )
            bad = True
            continue
        raw[col.key] = v
        values[col.key] = county_value(col.key, v) if col.key != "completed_on" else _date_value(v, reference)
        if col.key == "completed_on" and (note := parse_staff_date(v, reference=reference).note):
            out.warn("date-assumed", f"完成日期：{note}", Location(out.name, sheet, r, LETTERS[col.key], "完成日期"))
    return values, raw, bad


def _same_as_master(values: dict[str, str], task: Task) -> bool:
    """Whether every master field of a row equals the task's (``master_values``, without building it)."""
    return (
        values["state"] == (task.state or task.state_text)
        and values["progress"] == task.progress
        and values["evidence"] == task.evidence
        and values["completed_on"] == (task.completed_on.isoformat() if task.completed_on else "")
    )


def _date_value(raw: Any, reference: date | None) -> str:
    if raw is None:
        return ""
    parsed = parse_staff_date(raw, reference=reference)
    if parsed.kind == "date" and parsed.on:
        return parsed.on.isoformat()
    return cell_text(raw)


def _typed(key: str, raw: Any, value: str, reference: date) -> Any:
    """The value to write into the master cell."""
    if value == "":
        return None
    if key == "completed_on":
        parsed = parse_staff_date(raw, reference=reference)
        return parsed.on if parsed.kind == "date" else None
    return value


def _validate_merged(out: ReturnCheck, merged: list[tuple[Task, set[str]]], ctx: MasterContext, sheet: str) -> None:
    """The foundation's rules on the changed rows as they would stand in the master after the merge."""
    letters = {k: LETTERS[k] for k in MASTER_FIELDS}
    mini = Ledger(
        settings=ctx.ledger.settings,
        tasks=[t for t, _ in merged],
        source=out.name,
        layout=Layout(sheet_names={S.SHEET_TASKS: sheet}, columns={S.SHEET_TASKS: letters}),
    )
    changed_by_row = {t.row: keys for t, keys in merged}
    for issue in [*rule_states(mini, ctx.today), *rule_dates(mini, ctx.today)]:
        fields = _RULE_FIELDS.get(issue.code)
        if fields is None or issue.location.column not in letters.values():
            continue
        if not fields & changed_by_row.get(issue.location.row or 0, set()):
            continue
        if issue.is_error:
            out.status = REJECTED
        out.issues.append(issue)


__all__ = [
    "ACCEPTED",
    "REJECTED",
    "SUPERSEDED",
    "FieldChange",
    "Conflict",
    "ReturnCheck",
    "MasterContext",
    "ZipProbe",
    "probe_zip",
    "Prepared",
    "prepare_return",
    "prepare_in_worker",
    "submission_time",
    "check_return",
    "BLANK",
]
