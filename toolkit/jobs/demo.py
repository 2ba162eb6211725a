"""``zhenggai demo``: the whole monthly cycle on the demo ledger, in one folder, through the same jobs."""

from __future__ import annotations

import shutil
from datetime import datetime, time, timedelta
from pathlib import Path

from toolkit.demo.ledger import DEMO_AS_OF, build_demo_ledger
from toolkit.jobs.board import run_board
from toolkit.jobs.check import run_check, run_status
from toolkit.jobs.counties import run_consolidate, run_county_templates
from toolkit.jobs.documents import run_notice, run_reminders
from toolkit.jobs.ledger import new_ledger_workbook
from toolkit.jobs.result import JobResult
from toolkit.jobs.settings import COUNTY_TEMPLATE_DIR, DEFAULT_INBOX
from toolkit.jobs.sources import FileLedger

DEMO_LEDGER_NAME = "示例台账.xlsx"


def run_demo(folder: str | Path) -> JobResult:
    """Write the demo ledger into ``folder`` and run the monthly cycle on it; ``details`` lists each step's result.

    The folder is the demo's own: each run starts from a fresh ledger (the previous one is kept
    as 示例台账.上次.xlsx) and replaces its own notice. County templates are issued six days
    before the as-of date with returns due two days before it; the simulated returns include one
    late, one with an edited locked cell, one truncated and one missing county.
    """
    from toolkit.demo.counties import simulate_returns

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ledger_path = folder / DEMO_LEDGER_NAME
    if ledger_path.exists():
        shutil.copy2(ledger_path, folder / (ledger_path.stem + ".上次.xlsx"))
        ledger_path.unlink()
    new_ledger_workbook(ledger_path, build_demo_ledger(), today=DEMO_AS_OF)
    job = JobResult("demo", "示例", ledger=ledger_path, today=DEMO_AS_OF)
    steps: list[JobResult] = [run_check(FileLedger(ledger_path), today=DEMO_AS_OF)]

    issued = datetime.combine(DEMO_AS_OF - timedelta(days=6), time(9, 0))
    steps.append(run_county_templates(FileLedger(ledger_path), today=DEMO_AS_OF, now=issued,
                                      deadline=DEMO_AS_OF - timedelta(days=2)))
    inbox = folder / DEFAULT_INBOX
    if inbox.exists():
        shutil.rmtree(inbox)
    simulate_returns(folder / COUNTY_TEMPLATE_DIR, inbox, today=DEMO_AS_OF)
    steps.append(run_consolidate(FileLedger(ledger_path), inbox=inbox, today=DEMO_AS_OF,
                                 now=datetime.combine(DEMO_AS_OF, time(10, 0))))
    steps.append(run_status(FileLedger(ledger_path), today=DEMO_AS_OF))
    from toolkit.notice import find_soffice

    steps.append(run_notice(FileLedger(ledger_path), today=DEMO_AS_OF, out=folder / f"通报_{DEMO_AS_OF.isoformat()}.docx",
                            overwrite=True, pdf=find_soffice() is not None))
    steps.append(run_reminders(FileLedger(ledger_path), today=DEMO_AS_OF, out=folder / "提醒函"))
    board = folder / f"督办看板_{DEMO_AS_OF.isoformat()}.html"
    board.unlink(missing_ok=True)  # the demo folder is ours: replace our own board
    steps.append(run_board(FileLedger(ledger_path), today=DEMO_AS_OF, out=board))
    job.details = steps
    job.check = steps[-1].check
    for step in steps:
        job.written.extend(step.written)
    return job
