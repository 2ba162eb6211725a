"""County consolidation end to end against a bare python-calamine read of the same files.

200 county returns × 200 task rows each (a master of 40,000 tasks across 200 counties), 10 rows
changed per return. Each measurement runs in a fresh subprocess (imports timed apart and printed,
as in the other benchmarks); the master is copied fresh before every consolidation run.

Run: python bench/bench_consolidate.py [--counties 200] [--rows 200] [--repeat 5] (or --quick)
Prints medians and ratios; asserts nothing.

Modes measured:
- bare:    calamine opens each county file and reads every sheet to Python values;
- bare+m:  the same plus the master ledger (what consolidation must read at least);
- intake:  the returns phase only, after the master is read (no overlap with it, unlike full):
           pre-check, isolated worker reads, metadata/structure/value checks;
- status:  for comparison, the plain status write-back of the same master (zhenggai status):
           what any run that rewrites a 40,000-task ledger costs;
- full:    the consolidate job (run_consolidate on the master file), which calls consolidate_folder: the workers read the county files while the master is read and
           checked; merge, status, ONE lossless write (backup, verify), report workbook.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
OUT = HERE / "out"
TODAY = date(2025, 4, 7)


def _child(mode: str, folder: str, master: str) -> None:
    import resource

    # Imports are timed apart, as in bench_check.py and bench_writeback.py: the work is compared, the
    # import cost is reported on its own. (The reader workers' start-up stays in the timing: it is
    # the real cost of reading county files in isolated processes.)
    t_import = time.perf_counter()
    import python_calamine  # noqa: F401

    if mode not in ("bare", "bare+m"):
        import chinese_calendar  # noqa: F401  (the holiday calendar, imported lazily by the status rules)

        import toolkit.counties.consolidate  # noqa: F401
        import toolkit.excel.ledger_file  # noqa: F401
        import toolkit.excel.read  # noqa: F401
        import toolkit.excel.safe_write  # noqa: F401
        import toolkit.excel.untrusted  # noqa: F401
        import toolkit.jobs.counties  # noqa: F401
        import toolkit.jobs.sources  # noqa: F401
    t0 = time.perf_counter()
    imported = t0 - t_import
    files = sorted(Path(folder).glob("*.xlsx"))
    if mode in ("bare", "bare+m"):
        from python_calamine import CalamineWorkbook

        for p in files + ([Path(master)] if mode == "bare+m" else []):
            wb = CalamineWorkbook.from_path(str(p))
            for name in wb.sheet_names:
                wb.get_sheet_by_name(name).to_python()
        extra = {}
    elif mode == "intake":
        from toolkit.core.intake import load_ledger
        from toolkit.counties.consolidate import check_files
        from toolkit.counties.identity import read_ledger_id
        from toolkit.counties.returns import MasterContext
        from toolkit.excel.ledger_file import read_ledger_tables

        tables = read_ledger_tables(master)
        ledger, _ = load_ledger(tables)
        t1 = time.perf_counter()
        ctx = MasterContext.build(ledger, ledger_id=read_ledger_id(tables), period="2025-03", today=TODAY)
        checked = check_files(files, ctx)
        assert all(f.accepted for f in checked), [f.issues for f in checked if not f.accepted][:1]
        extra = {
            "master_read": t1 - t0,
            "returns": time.perf_counter() - t1,
            "changes": sum(len(f.changes) for f in checked),
        }
    elif mode == "status":
        from toolkit.jobs import update_status_file

        _, written = update_status_file(master, today=TODAY, backup_dir=str(Path(master).parent / "bk"))
        extra = {"cells": len(written.changes)}
    else:
        from toolkit.jobs.counties import run_consolidate
        from toolkit.jobs.sources import FileLedger

        # The job staff run (CLI, button, launcher): 基本信息 read first, the county reads started, the
        # master read once while they run, one lossless write.
        job = run_consolidate(
            FileLedger(master, backup_dir=str(Path(master).parent / "bk")),
            inbox=folder,
            today=TODAY,
            now=datetime(2025, 4, 7, 10),
            period="2025-03",
            report_dir=str(Path(master).parent / "report"),
        )
        result = job.details
        assert result.written is not None and result.written.written and len(result.accepted) == len(files)
        extra = {"changes": len(result.changes), "cells": len(result.written.changes)}
    elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "import": imported, **extra}))


def _run(mode: str, folder: Path, master: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(folder), str(master)], capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _build(counties: int, rows: int) -> tuple[Path, Path]:
    """Master, templates and filled returns (cached in bench/out: building them takes a while)."""
    from toolkit import jobs as api
    from toolkit.core.model import County, Deadline, Task
    from toolkit.counties.template import make_county_templates
    from toolkit.demo.counties import fill_return, stamp_saved_time
    from toolkit.demo.ledger import build_demo_ledger

    root = OUT / f"counties_{counties}x{rows}"
    master = root / "master.xlsx"
    inbox = root / "inbox"
    if master.exists() and inbox.is_dir() and len(list(inbox.glob("*.xlsx"))) == counties:
        return master, inbox
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    ledger = build_demo_ledger()
    names = [f"测试县{k:03d}" for k in range(1, counties + 1)]
    ledger.counties = [County(n) for n in names]
    problems = [p.id for p in ledger.problems]
    ledger.tasks = [
        Task(
            id=f"{k + 1}-{i + 1}",
            problem_id=problems[i % len(problems)],
            measure=f"第{i + 1}项整改措施：加强管理，落实责任。",
            progress="按计划推进中。",
            unit=name,
            deadline=Deadline(date(2025, 12, 31), "date", "2025-12-31"),
            state="推进中",
        )
        for k, name in enumerate(names)
        for i in range(rows)
    ]
    print(f"building master ({len(ledger.tasks)} tasks), templates and returns in {root} ...", flush=True)
    api.new_ledger_workbook(master, ledger, today=TODAY)
    templates = make_county_templates(
        master,
        out_dir=root / "templates",
        period="2025-03",
        now=datetime(2025, 4, 1, 9),
        return_deadline=date(2025, 4, 5),
    )
    inbox.mkdir()
    for k, t in enumerate(templates):
        edits = {
            f"{k + 1}-{i + 1}": {"progress": f"第{i + 1}项本月已完成阶段性工作。"}
            for i in range(0, rows, max(rows // 10, 1))
        }
        dest = fill_return(t, inbox / f"{k + 1:03d}.xlsx", edits, filler=("张三", "0763-1234567"), today=TODAY)
        stamp_saved_time(dest, datetime.combine(date(2025, 4, 4), dtime(10)))
    return master, inbox


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--counties", type=int, default=200)
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="50 files x 200 rows, one run of each mode")
    ap.add_argument("--child", nargs=3)
    args = ap.parse_args()
    if args.quick:
        args.counties, args.rows, args.repeat = 50, 200, 1
    if args.child:
        _child(*args.child)
        return
    master, inbox = _build(args.counties, args.rows)
    work = master.parent / "work"
    times: dict[str, list[float]] = {"bare": [], "bare+m": [], "intake": [], "status": [], "full": []}
    details: dict[str, dict] = {}
    for _ in range(args.repeat):  # interleaved, so machine noise hits every mode alike
        for mode in times:
            target = master
            if mode in ("full", "status"):
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir()
                target = work / "master.xlsx"
                shutil.copy2(master, target)
            r = _run(mode, inbox, target)
            times[mode].append(r["seconds"])
            details[mode] = r
    med = {m: statistics.median(v) for m, v in times.items()}
    n = args.counties
    print(f"{n} county files x {args.rows} rows (master {n * args.rows} tasks), median of {args.repeat}:")
    print(f"{'mode':<8} {'seconds':>8} {'÷ bare':>7} {'÷ bare+m':>9} {'peak MB':>8} {'import s':>9}")
    for m in times:
        print(
            f"{m:<8} {med[m]:>8.2f} {med[m] / med['bare']:>7.2f} {med[m] / med['bare+m']:>9.2f} "
            f"{details[m]['peak_mb']:>8.0f} {details[m]['import']:>9.3f}"
        )
    print(f"RATIO\tconsolidate {n}x{args.rows}\t{med['full'] / med['bare+m']:.2f}", flush=True)
    pairs = [x / y for x, y in zip(times["full"], times["bare+m"], strict=True)]  # each run against its own baseline
    print(f"SPREAD\tconsolidate {n}x{args.rows}\t{min(pairs):.2f}\t{max(pairs):.2f}", flush=True)
    print(f"PEAK\tconsolidate {n}x{args.rows}\t{details['full']['peak_mb']:.0f}", flush=True)
    i = details["intake"]
    print(
        f"intake detail (last run): master read {i['master_read']:.2f} s, returns {i['returns']:.2f} s "
        f"({i['changes']} changes); returns ÷ bare = {i['returns'] / med['bare']:.2f}"
    )
    print(
        f"full: {details['full']['changes']} changes, {details['full']['cells']} cells written; "
        f"full − status = {med['full'] - med['status']:.2f} s "
        f"(consolidation's own cost on top of a status write-back; ÷ bare = {(med['full'] - med['status']) / med['bare']:.2f})"
    )


if __name__ == "__main__":
    main()
