"""Where a new ledger workbook puts things: rows and columns assigned before it is written.

Pure: ``assign_new_layout`` fills ``ledger.layout`` and every record's ``row`` the way
``toolkit.excel.build`` will write them, so checks, statuses and the write plan can be computed
before the workbook exists and written in the same pass.
"""

from __future__ import annotations

from toolkit.core import schema as S
from toolkit.core.model import Ledger

TITLE_ROWS = {S.SHEET_PROBLEMS: 1, S.SHEET_TASKS: 1}  # a title row above the header
SETTINGS_HEADER = ("项目", "内容", "说明")


def header_row(canonical: str) -> int:
    return TITLE_ROWS.get(canonical, 0) + 1


def assign_new_layout(ledger: Ledger) -> None:
    layout = ledger.layout
    records = {
        S.SHEET_PROBLEMS: ledger.problems,
        S.SHEET_TASKS: ledger.tasks,
        S.SHEET_PEOPLE: ledger.people,
        S.SHEET_COUNTIES: ledger.counties,
        S.SHEET_NOTICE_TEXT: ledger.notice_text,
    }
    for canonical, recs in records.items():
        columns = S.SHEET_COLUMNS[canonical]
        hr = header_row(canonical)
        layout.sheet_names[canonical] = canonical
        layout.header_rows[canonical] = hr
        layout.columns[canonical] = {c.key: S.column_letter(j) for j, c in enumerate(columns)}
        for j, c in enumerate(S.SHEET_OWNED.get(canonical, ())):
            layout.columns[canonical]["owned:" + c.key] = S.column_letter(len(columns) + j)
        layout.next_free_column[canonical] = len(columns) + len(S.SHEET_OWNED.get(canonical, ()))
        for i, rec in enumerate(recs):
            rec.row = hr + 1 + i
        layout.last_rows[canonical] = hr + len(recs)
    layout.sheet_names[S.SHEET_SETTINGS] = S.SHEET_SETTINGS
    for i, setting in enumerate(S.SETTINGS):
        ledger.settings.cells[setting.key] = (i + 2, "B")
