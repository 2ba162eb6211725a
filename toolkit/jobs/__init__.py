"""The jobs layer: one function per job; every front end (CLI, buttons, launchers, schedules) calls these.

Library functions used by the jobs (``check_file`` and friends) are re-exported for scripts.
"""

from toolkit.core.check import CheckResult, check_ledger, check_tables
from toolkit.core.errors import ToolkitError
from toolkit.excel.ledger_file import read_ledger_tables
from toolkit.jobs.check import update_status_file
from toolkit.jobs.ledger import check_file, new_ledger_workbook

__all__ = [
    "CheckResult", "ToolkitError", "check_file", "check_ledger", "check_tables", "new_ledger_workbook",
    "read_ledger_tables", "update_status_file",
]
