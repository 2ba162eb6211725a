"""Tables of cells (from any reader) → a :class:`Ledger`, with located issues for what cannot be read.

Columns are found by header text (canonical name or synonym, full-width/space insensitive), in
any order, with a title row allowed above the header. Pure: no Excel library.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from toolkit.core import schema as S
from toolkit.core.dates import parse_staff_date, year_reference
from toolkit.core.model import (
    CellError,
    County,
    Deadline,
    Ledger,
    NoticeParagraph,
    Person,
    Problem,
    Table,
    Task,
)
from toolkit.core.report import WARNING, Issue, Location

HEADER_SCAN_ROWS = 10
TRUE_WORDS = {"是", "true", "yes", "y", "1", "√", "按工作日", "工作日", "对"}
FALSE_WORDS = {"否", "false", "no", "n", "0", "×", "按自然日", "自然日", "不"}


def find_sheet(tables: dict[str, Table], canonical: str) -> str | None:
    """The actual name of a ledger sheet, matching its canonical name or a synonym."""
    wanted = {S.normalize_header(n) for n in S.SHEET_SYNONYMS.get(canonical, (canonical,))}
    for name in tables:
        if S.normalize_header(name) in wanted:
            return name
    return None


def cell_text(value: Any) -> str:
    """A cell as text for free-text fields: trimmed, Excel's ``_x000D_`` and CR debris removed."""
    if type(value) is str:  # fast path: most cells are clean text
        if "\r" not in value and "_x000D_" not in value:
            return value.strip()
    elif value is None or isinstance(value, CellError):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    s = str(value).replace("_x000D_", "").replace("\r\n", "\n").replace("\r", "\n")
    return s.strip()


def cell_id(value: Any) -> str:
    """An identifier: numbers without .0, full-width digits folded, spaces removed."""
    if value is None or isinstance(value, CellError):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "".join(unicodedata.normalize("NFKC", str(value)).split())


def locate_header(table: Table, columns: tuple[S.Column, ...]) -> tuple[int, dict[str, int]] | None:
    """Find the header row (index into ``table.rows``) and map column key → index.

    The header is the row among the first few that names the most known columns (at least two,
    or the sheet's first required column).
    Exact names are matched before synonyms, and each header cell is claimed once.
    """
    best: tuple[int, dict[str, int]] | None = None
    for i, row in enumerate(table.rows[:HEADER_SCAN_ROWS]):
        normalized = [S.normalize_header(v) if isinstance(v, str) else "" for v in row]
        mapping = map_columns(normalized, columns)
        # Two known headers make a header row; a single-column sheet needs its required column.
        enough = len(mapping) >= 2 or any(c.required and c.key in mapping for c in columns[:1])
        if enough and (best is None or len(mapping) > len(best[1])):
            best = (i, mapping)
    return best


def map_columns(normalized: list[str], columns: tuple[S.Column, ...]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    claimed: set[int] = set()
    for pass_synonyms in (False, True):
        for col in columns:
            if col.key in mapping:
                continue
            names = col.synonyms if pass_synonyms else (col.header,)
            for name in names:
                target = S.normalize_header(name)
                j = next((j for j, h in enumerate(normalized) if h == target and j not in claimed), None)
                if j is not None:
                    mapping[col.key] = j
                    claimed.add(j)
                    break
    return mapping


class _Sheet:
    """A located staff sheet: header, column map, and iteration over data rows."""

    def __init__(self, ledger: Ledger, canonical: str, table: Table, header_idx: int, cols: dict[str, int]):
        self.ledger = ledger
        self.canonical = canonical
        self.table = table
        self.header_idx = header_idx
        self.cols = cols
        self.name = table.name
        layout = ledger.layout
        layout.sheet_names[canonical] = table.name
        layout.header_rows[canonical] = table.excel_row(header_idx)
        layout.columns[canonical] = {k: table.letter(j) for k, j in cols.items()}
        layout.last_rows[canonical] = table.excel_row(len(table.rows) - 1) if table.rows else 0
        layout.next_free_column[canonical] = table.first_col + table.width
        header = table.rows[header_idx]
        normalized = [S.normalize_header(v) if isinstance(v, str) else "" for v in header]
        for col in S.SHEET_OWNED.get(canonical, ()):
            target = S.normalize_header(col.header)
            if target in normalized:
                layout.columns[canonical]["owned:" + col.key] = table.letter(normalized.index(target))
        owned = {S.normalize_header(c.header) for c in S.SHEET_OWNED.get(canonical, ())}
        self.staff_cols = [j for j, h in enumerate(normalized) if h not in owned]

    def loc(self, row: int, key: str | None = None, field: str | None = None) -> Location:
        letter = self.ledger.layout.column(self.canonical, key) if key else None
        return Location(self.ledger.source, self.name, row, letter, field)

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(Excel row, {key: raw value}) for every data row that is not blank."""
        staff = self.staff_cols
        items = list(self.cols.items())
        table = self.table
        for i in range(self.header_idx + 1, len(table.rows)):
            row = table.rows[i]
            n = len(row)
            for j in staff:  # blank unless some staff cell holds something (owned cells don't count)
                if j < n:
                    v = row[j]
                    if v is not None and (type(v) is not str or v.strip()):
                        break
            else:
                continue
            yield table.first_row + i, {k: (row[j] if j < n else None) for k, j in items}


def _scan_errors(ledger: Ledger, table: Table) -> Iterator[Issue]:
    for i, row in enumerate(table.rows):
        if CellError not in map(type, row):  # C-speed scan: error cells are rare
            continue
        for j, v in enumerate(row):
            if isinstance(v, CellError):
                yield Issue(
                    "excel-error",
                    f"单元格是 Excel 错误值 {v.code}（公式出错），请修正公式或改为直接填写内容",
                    Location(ledger.source, table.name, table.excel_row(i), table.letter(j)),
                )


def _open_sheet(ledger: Ledger, tables: dict[str, Table], canonical: str, issues: list[Issue], *, required: bool):
    name = find_sheet(tables, canonical)
    if name is None:
        if required:
            issues.append(
                Issue(
                    "missing-sheet",
                    f"找不到工作表“{canonical}”，请按模板添加该工作表（可用 zhenggai init 生成空白台账参照）",
                    Location(ledger.source, canonical),
                )
            )
        return None
    table = tables[name]
    columns = S.SHEET_COLUMNS[canonical]
    found = locate_header(table, columns)
    if found is None:
        issues.append(
            Issue(
                "missing-header",
                f"工作表“{name}”前{HEADER_SCAN_ROWS}行中找不到表头（应包含 "
                + "、".join(c.header for c in columns if c.required)
                + " 等列名），请补上表头行",
                Location(ledger.source, name, 1),
            )
        )
        return None
    header_idx, cols = found
    sheet = _Sheet(ledger, canonical, table, header_idx, cols)
    for col in columns:
        if col.required and col.key not in cols:
            issues.append(
                Issue(
                    "missing-column",
                    f"工作表“{name}”缺少“{col.header}”列（也可用："
                    + ("、".join(col.synonyms) or "无")
                    + "），请在表头行添加",
                    Location(ledger.source, name, table.excel_row(header_idx), None, col.header),
                )
            )
    return sheet


def _parse_date_field(sheet: _Sheet, row: int, key: str, label: str, raw: Any, issues: list[Issue], *,
                      reference: date | None, allow_words: bool = False):
    parsed = parse_staff_date(raw, reference=reference, allow_words=allow_words)
    if parsed.kind == "error":
        issues.append(Issue("bad-date", f"{label}：{parsed.error}", sheet.loc(row, key, label)))
    elif parsed.note:  # what was assumed (a year not written, "6月前"): say so at the cell
        issues.append(Issue("date-assumed", f"{label}：{parsed.note}", sheet.loc(row, key, label), WARNING))
    return parsed


def load_settings(ledger: Ledger, tables: dict[str, Table], issues: list[Issue]) -> None:
    """基本信息: a label in one cell, its value in the cell to its right."""
    name = find_sheet(tables, S.SHEET_SETTINGS)
    if name is None:
        issues.append(
            Issue(
                "missing-sheet",
                f"找不到工作表“{S.SHEET_SETTINGS}”，请添加（两列：项目、内容），填写单位名称、巡察轮次、反馈日期等",
                Location(ledger.source, S.SHEET_SETTINGS),
            )
        )
        return
    table = tables[name]
    ledger.layout.sheet_names[S.SHEET_SETTINGS] = name
    by_name = {S.normalize_header(n): s for s in S.SETTINGS for n in s.names()}
    found: dict[str, tuple[Any, int, str]] = {}
    for i, row in enumerate(table.rows):
        for j, v in enumerate(row):
            if not isinstance(v, str) or not v.strip():
                continue
            setting = by_name.get(S.normalize_header(v))
            if setting is None:
                continue
            # The value sits in the cell right of the label (past a label merged over several cells);
            # further right is free for notes.
            vj = j + 1
            while vj < len(row) and row[vj] == v:
                vj += 1
            value = row[vj] if vj < len(row) else None
            if setting.key not in found:
                found[setting.key] = (value, table.excel_row(i), table.letter(vj))
            break
    st = ledger.settings
    for setting in S.SETTINGS:
        if setting.key not in found:
            if setting.required:
                issues.append(
                    Issue(
                        "setting-missing",
                        f"基本信息缺少“{setting.label}”，请新增一行：左格写“{setting.label}”，右格填写内容"
                        + (f"（{setting.help}）" if setting.help else ""),
                        Location(ledger.source, name, None, None, setting.label),
                    )
                )
            continue
        raw, row, col = found[setting.key]
        st.cells[setting.key] = (row, col)
        loc = Location(ledger.source, name, row, col, setting.label)
        blank = raw is None or (isinstance(raw, str) and not raw.strip())
        if blank:
            if setting.required:
                issues.append(Issue("setting-missing", f"基本信息“{setting.label}”未填写，请填写"
                                    + (f"（{setting.help}）" if setting.help else ""), loc))
            continue
        if isinstance(raw, CellError):
            continue  # reported by the error scan
        if setting.kind == S.DATE:
            parsed = parse_staff_date(raw)
            if parsed.kind != "date":
                issues.append(Issue("setting-bad", f"基本信息“{setting.label}”：{parsed.error or '应为日期'}", loc))
                continue
            setattr(st, setting.key, parsed.on)
        elif setting.kind == "int":
            text = cell_id(raw).removesuffix("天").removesuffix("个工作日").removesuffix("日")
            try:
                number = int(float(text))
                if number < 0:
                    raise ValueError
            except ValueError:
                issues.append(Issue("setting-bad", f"基本信息“{setting.label}”应为不小于0的整数，现为“{raw}”，请改为如 7", loc))
                continue
            setattr(st, setting.key, number)
        elif setting.kind == "bool":
            text = cell_id(raw).lower() if not isinstance(raw, bool) else ("是" if raw else "否")
            if text in TRUE_WORDS:
                setattr(st, setting.key, True)
            elif text in FALSE_WORDS:
                setattr(st, setting.key, False)
            else:
                issues.append(Issue("setting-bad", f"基本信息“{setting.label}”应填“是”或“否”，现为“{raw}”", loc))
        elif setting.kind == "choice":
            text = cell_text(raw)
            if text not in setting.choices:
                issues.append(
                    Issue("setting-bad", f"基本信息“{setting.label}”应为以下之一：{'、'.join(setting.choices)}，现为“{text}”", loc)
                )
                continue
            setattr(st, setting.key, text)
        else:
            setattr(st, setting.key, cell_text(raw))
    if st.notice_levels not in (1, 2, 3) and "notice_levels" in found:
        _, row, col = found["notice_levels"]
        issues.append(Issue("setting-bad", "基本信息“通报编号层级”只能是 1、2 或 3",
                            Location(ledger.source, name, row, col, "通报编号层级")))
        st.notice_levels = 2


def normalize_state(raw: Any) -> str:
    """Staff's completion word → one of the four states, or "" when not recognised."""
    text = cell_id(raw)
    if text in S.STATES:
        return text
    return S.STATE_SYNONYMS.get(text, "")


def load_ledger(tables: dict[str, Table], *, source: str = "") -> tuple[Ledger, list[Issue]]:
    """Build the ledger model from sheet tables; parsing problems come back as located issues."""
    ledger = Ledger(source=source)
    issues: list[Issue] = []
    for canonical in (S.SHEET_SETTINGS, S.SHEET_PROBLEMS, S.SHEET_TASKS, S.SHEET_PEOPLE, S.SHEET_COUNTIES,
                      S.SHEET_NOTICE_TEXT):
        name = find_sheet(tables, canonical)
        if name is not None:
            issues.extend(_scan_errors(ledger, tables[name]))
    load_settings(ledger, tables, issues)
    reference = year_reference(ledger.settings)  # one rule for year-less dates (also county returns)

    if sheet := _open_sheet(ledger, tables, S.SHEET_PROBLEMS, issues, required=True):
        for row, v in sheet.rows():
            ledger.problems.append(
                Problem(
                    id=cell_id(v.get("id")),
                    category=cell_text(v.get("category")),
                    title=cell_text(v.get("title")),
                    finding=cell_text(v.get("finding")),
                    leader=cell_text(v.get("leader")),
                    department=cell_text(v.get("department")),
                    row=row,
                )
            )
    if sheet := _open_sheet(ledger, tables, S.SHEET_TASKS, issues, required=True):
        for row, v in sheet.rows():
            task = Task(
                id=cell_id(v.get("id")),
                problem_id=cell_id(v.get("problem_id")),
                measure=cell_text(v.get("measure")),
                progress=cell_text(v.get("progress")),
                leader=cell_text(v.get("leader")),
                unit=cell_text(v.get("unit")),
                person=cell_text(v.get("person")),
                evidence=cell_text(v.get("evidence")),
                signed_off_by=cell_text(v.get("signed_off_by")),
                remark=cell_text(v.get("remark")),
                row=row,
            )
            task.state_text = cell_text(v.get("state"))
            task.state = normalize_state(v.get("state"))
            deadline = _parse_date_field(sheet, row, "deadline", "完成时限", v.get("deadline"), issues,
                                         reference=reference, allow_words=True)
            if deadline.kind in ("date", "immediate"):
                task.deadline = Deadline(deadline.on, "date", cell_text(v.get("deadline")))
            elif deadline.kind == "long_term":
                task.deadline = Deadline(None, "long_term", cell_text(v.get("deadline")))
            elif deadline.kind == "error":
                task.deadline = Deadline(None, "invalid", cell_text(v.get("deadline")))
            for key, label in (("extended_deadline", "延期时限"), ("completed_on", "完成日期"),
                               ("signed_off_on", "销号日期")):
                parsed = _parse_date_field(sheet, row, key, label, v.get(key), issues, reference=reference)
                if parsed.kind == "date":
                    setattr(task, key, parsed.on)
            ledger.tasks.append(task)
    if sheet := _open_sheet(ledger, tables, S.SHEET_PEOPLE, issues, required=False):
        for row, v in sheet.rows():
            ledger.people.append(Person(cell_text(v.get("name")), cell_text(v.get("post")),
                                        cell_text(v.get("unit")), cell_text(v.get("phone")), row))
    if sheet := _open_sheet(ledger, tables, S.SHEET_COUNTIES, issues, required=False):
        for row, v in sheet.rows():
            ledger.counties.append(County(cell_text(v.get("name")), cell_text(v.get("contact")),
                                          cell_text(v.get("phone")), row))
    if sheet := _open_sheet(ledger, tables, S.SHEET_NOTICE_TEXT, issues, required=False):
        for row, v in sheet.rows():
            section = cell_id(v.get("section")).removesuffix("、").removeprefix("第")
            order_raw = cell_id(v.get("order"))
            try:
                order = int(float(order_raw)) if order_raw else len(ledger.notice_text)
            except ValueError:
                issues.append(Issue("bad-number", f"顺序应为整数，现为“{order_raw}”", sheet.loc(row, "order", "顺序")))
                order = len(ledger.notice_text)
            if section not in ("一", "三"):
                issues.append(Issue("bad-section", f"部分只能填“一”（主体责任情况）或“三”（下一步工作安排），现为“{section}”",
                                    sheet.loc(row, "section", "部分")))
                continue
            ledger.notice_text.append(NoticeParagraph(section, order, cell_text(v.get("lead")),
                                                      cell_text(v.get("text")), row))
    return ledger, issues
