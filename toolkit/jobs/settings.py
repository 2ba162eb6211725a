"""Every setting a job needs, resolved in one place: an explicit option, else 基本信息, else the default.

=================  ===========================  ==============================================
setting            option (CLI)                 基本信息 label → default
=================  ===========================  ==============================================
as-of date         ``--today``                  统计截止日期 → the machine's date
report period      ``--period``                 报送期次 → the month before the as-of date
county inbox       ``INBOX`` argument           县区报送文件夹 (relative to the ledger) → 县区报送表-收回
county templates   ``--out``                    → 县区报送表-下发 beside the ledger
notice             ``--out``                    → 通报_<as-of>.docx beside the ledger, never overwritten
reminder letters   ``--out``                    → 提醒函_<as-of> beside the ledger, never overwritten
=================  ===========================  ==============================================
"""

from __future__ import annotations

from pathlib import Path

from toolkit.core.errors import ToolkitError
from toolkit.core.intake import cell_text, find_sheet
from toolkit.core.model import Table
from toolkit.core.schema import SHEET_SETTINGS, normalize_header

INBOX_SETTING = "县区报送文件夹"
PERIOD_SETTING = "报送期次"
DEFAULT_INBOX = "县区报送表-收回"
COUNTY_TEMPLATE_DIR = "县区报送表-下发"


def setting_text(tables: dict[str, Table], label: str) -> str:
    """The text right of ``label`` in 基本信息 ('' when absent): settings the core does not model."""
    name = find_sheet(tables, SHEET_SETTINGS)
    if name is None:
        return ""
    wanted = normalize_header(label)
    for row in tables[name].rows:
        for j, v in enumerate(row):
            if isinstance(v, str) and normalize_header(v) == wanted:
                k = j + 1
                while k < len(row) and row[k] == v:  # a label merged over several cells
                    k += 1
                return cell_text(row[k]).strip() if k < len(row) else ""
    return ""


def resolve_period(option: str | None, tables: dict[str, Table]) -> str | None:
    """The report period as given (``--period``), else 基本信息's 报送期次, else None (the counties' default)."""
    from toolkit.counties.metadata import parse_period

    text = (option or "").strip() or setting_text(tables, PERIOD_SETTING)
    if not text:
        return None
    try:
        return parse_period(text)
    except ValueError as exc:
        where = "（--period）" if option else f"（基本信息的“{PERIOD_SETTING}”）"
        raise ToolkitError(f"{exc}{where}") from exc


def resolve_inbox(option: str | Path | None, tables: dict[str, Table], ledger_folder: Path) -> Path:
    """The county inbox: the option, else the 县区报送文件夹 setting (relative to the ledger's folder), else the default."""
    if option is not None and str(option).strip():
        return Path(option)
    text = setting_text(tables, INBOX_SETTING).strip().strip('"')
    if not text:
        return ledger_folder / DEFAULT_INBOX
    path = Path(text).expanduser()
    return path if path.is_absolute() else ledger_folder / path
