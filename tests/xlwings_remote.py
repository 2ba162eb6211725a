"""Test and benchmark helper: a saved workbook as the JSON an xlwings client sends, opened on xlwings' remote engine.

Lets the button code paths run for real without Excel (moved out of the runtime package).
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any


def workbook_payload(path: str | Path, *, active_sheet: str | None = None) -> dict[str, Any]:
    """The JSON an xlwings Office.js client sends for the saved workbook ``path``.

    Shape as in xlwings' own remote-engine tests: ``client``, ``version``, ``book`` (``name``,
    ``active_sheet_index``, ``selection``), ``names`` and ``sheets`` (``name``, ``values`` —
    a 2-D list anchored at A1 up to the used range's last cell, ``""`` for empty cells, dates
    as ISO strings ending in ``Z``, errors as ``"#REF!"``-style strings, formula cells as their
    cached value — plus ``used_range_address``, ``visibility``, ``pictures``, ``tables``).
    The book's ``name`` is the file's absolute path: the ``remote`` engine has no separate
    full name (``Book.fullname`` returns ``Book.name``), and the buttons locate the ledger on
    disk from ``fullname``, as Excel reports it for a saved workbook.
    Uses openpyxl (imported here, not at module import).
    """
    import openpyxl
    import xlwings

    path = Path(path).resolve()
    wb = openpyxl.load_workbook(path, data_only=True)
    try:
        sheets = []
        for ws in wb.worksheets:
            last_row, last_col = ws.max_row, ws.max_column
            values = [
                [_payload_value(c.value) for c in row]
                for row in ws.iter_rows(min_row=1, max_row=last_row, min_col=1, max_col=last_col)
            ]
            empty = not any(v != "" for r in values for v in r)
            sheets.append(
                {
                    "name": ws.title,
                    "values": values if values else [[]],
                    "used_range_address": None if empty else ws.calculate_dimension(),
                    "visibility": {"visible": "Visible", "hidden": "Hidden"}.get(ws.sheet_state, "VeryHidden"),
                    "pictures": [],
                    "tables": [],
                }
            )
        names = [ws.title for ws in wb.worksheets]
        if active_sheet in names:
            index = names.index(active_sheet)
        else:
            index = names.index(wb.active.title) if wb.active is not None and wb.active.title in names else 0
    finally:
        wb.close()
    return {
        "client": "Office.js",
        "version": xlwings.__version__,
        "book": {"name": str(path), "active_sheet_index": index, "selection": "A1"},
        "names": [],
        "sheets": sheets,
    }


def _payload_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, date):
        return datetime.combine(value, time()).isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, time):
        return datetime.combine(date(1899, 12, 30), value).isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


def remote_book(payload: dict[str, Any]) -> Any:
    """An ``xlwings.Book`` on the ``remote`` engine from a client payload (see :func:`workbook_payload`).

    Needs the environment variable ``XLWINGS_LICENSE_KEY=noncommercial`` (or a licence key) the
    first time ``xlwings.pro`` is imported in the process. The book is opened in an App of its
    own, as xlwings' own tests do, so it does not depend on the engine registry.
    """
    import xlwings as xw

    try:
        from xlwings.pro import _xlremote
    except Exception as exc:  # noqa: BLE001 - LicenseError, ImportError
        raise RuntimeError(
            "xlwings' remote engine is unavailable; set XLWINGS_LICENSE_KEY=noncommercial "
            f"before it is first imported ({type(exc).__name__}: {exc})"
        ) from exc
    impl = _xlremote.App(_xlremote.Apps(), add_book=False).books.open(payload)
    return xw.Book(impl=impl)
