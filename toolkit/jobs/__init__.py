from toolkit.jobs.ledger import *  # noqa: F403
from toolkit.jobs.ledger import CheckResult, ToolkitError, check_file, check_ledger, check_tables, new_ledger_workbook, read_ledger_tables, update_status_file  # noqa: F401
