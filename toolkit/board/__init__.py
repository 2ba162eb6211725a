"""督办看板: a self-contained HTML progress board of a checked ledger, and tidy DataFrames for analysts.

* :func:`render_board` — the HTML text of the board (one file, ECharts inlined, no network);
* :mod:`toolkit.board.frames` — pandas frames of tasks, problems and the history (月度进展, 变更记录, 县区);
* :mod:`toolkit.board.figures` — the one place the board reads the core's statistics.

Imports only the core; pandas is imported when a board or a frame is built, never at import.
"""

from __future__ import annotations

from toolkit.core.check import CheckResult
from toolkit.core.model import Table


def render_board(result: CheckResult, tables: dict[str, Table], *, ledger_name: str = "") -> str:
    """The board of ``result`` (a checked ledger) as one HTML document; ``tables`` are its sheets as read."""
    from toolkit.board.data import build_board_data
    from toolkit.board.html import render_board_html

    return render_board_html(build_board_data(result, tables, ledger_name=ledger_name))


__all__ = ["render_board"]
