"""``zhenggai demo``: the whole monthly cycle on the demo ledger, in one folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from toolkit import jobs as api
from toolkit.demo.ledger import DEMO_AS_OF, build_demo_ledger

DEMO_LEDGER_NAME = "示例台账.xlsx"


def run_demo(folder: Path, *, console: Console) -> dict:
    """Write the demo ledger into ``folder`` and run check and status on it; returns a summary."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ledger_path = folder / DEMO_LEDGER_NAME
    if ledger_path.exists():
        # The demo folder is ours: start each demo from a fresh ledger, keeping the last one as a backup.
        shutil.copy2(ledger_path, folder / (ledger_path.stem + ".上次.xlsx"))
        ledger_path.unlink()
    api.new_ledger_workbook(ledger_path, build_demo_ledger(), today=DEMO_AS_OF)
    console.print(f"[bold]示例台账[/]：{ledger_path.resolve()}")
    result = api.check_file(ledger_path, today=DEMO_AS_OF)
    from toolkit.cli.app import render_issues, render_status

    render_issues(console, result.report.sorted(), limit=20)
    summary: dict = {"ledger": str(ledger_path), "valid": result.valid}

    # The monthly county cycle: templates issued, returns filled the way counties do (one late,
    # one broken, one missing), consolidated into the ledger through the lossless write-back.
    from toolkit.cli.counties import render_consolidation
    from toolkit.demo.counties import run_county_demo

    consolidation = run_county_demo(ledger_path, folder, today=DEMO_AS_OF)
    render_consolidation(console, consolidation)
    summary["county_changes"] = len(consolidation.changes)

    result, written = api.update_status_file(ledger_path, today=DEMO_AS_OF)
    render_status(console, result)
    from toolkit.cli.app import _describe_write

    console.print(f"[bold]台账[/]：{ledger_path.resolve()}  {_describe_write(written, False)}")

    from toolkit import notice as nt

    made = nt.render_notice(result.ledger, today=DEMO_AS_OF, out_path=folder / "通报_2025-04-07.docx",
                            pdf=nt.find_soffice() is not None)
    console.print(f"[bold]通报[/]：{made.docx.resolve()}" + (f"；PDF：{made.pdf.resolve()}" if made.pdf else
                                                          f"（未生成 PDF：{made.pdf_skipped}）"))
    letters = nt.render_reminders(result.ledger, today=DEMO_AS_OF, out_dir=folder / "提醒函")
    console.print(f"[bold]提醒函[/]：{len(letters)} 份，在 {(folder / '提醒函').resolve()}")
    summary["notice"] = str(made.docx)
    return summary
