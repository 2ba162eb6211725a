"""督办看板 on a 10k-task ledger with 12 months of history, against the check of the same ledger.

Run: python bench/bench_board.py [--tasks 10000] [--months 12] [--repeat 3]
The ledger is bench/synthetic.py's (the demo's measures repeated), with 12 rows of 月度进展 and
25 changes per county per month in 变更记录 written through the lossless patcher. Each run is a
fresh subprocess: "check" reads and checks the ledger (the baseline), "board" reads, checks and
writes the board (run_board). Prints medians, the ratio board / check, the time spent in the
board's own work (frames + HTML) and the size of the page.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
OUT = HERE / "out"
AS_OF = date(2025, 4, 7)


def periods(months: int) -> list[str]:
    """The ``months`` months up to the one before AS_OF, oldest first ('2024-04' … '2025-03')."""
    y, m = AS_OF.year, AS_OF.month
    out = []
    for _ in range(months):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(f"{y:04d}-{m:02d}")
    return out[::-1]


def add_history(path: Path, months: int) -> None:
    """12 rows of 月度进展 and 25 changes per county per month in 变更记录, through the lossless patcher."""
    from toolkit.core import schema as S
    from toolkit.core.plan import CellWrite, SheetPlan, WritePlan
    from toolkit.core.writeplan import DATE_STYLE, MONTHLY_COLUMNS
    from toolkit.excel.safe_write import write_safely
    from toolkit.jobs import check_file

    result = check_file(path, today=AS_OF)
    tasks = result.ledger.tasks
    counties = [c.name for c in result.ledger.counties]
    by_county = {c: [t.id for t in tasks if t.unit == c] or [tasks[0].id] for c in counties}
    total = len(tasks)
    monthly = [list(MONTHLY_COLUMNS)]
    changes = [["时间", "报送期", "县区", "文件", "任务编号", "字段", "原值", "新值"]]
    ps = periods(months)
    for n, p in enumerate(ps, start=1):
        y, m = (int(x) for x in p.split("-"))
        as_of = date(y + (m == 12), m % 12 + 1, 5)
        done = total * (30 + 4 * n) // 100
        overdue = max(total // 20 - n * total // 400, 0)
        monthly.append([p, as_of, total, done, total - done - total // 10, overdue, total // 10, round(done / total, 4)])
        for c in counties:
            ids = by_county[c]
            for k in range(25):
                changes.append([f"{as_of.isoformat()} 10:00:00", p, c, f"{p}_{c}_整改进展报送表.xlsx", ids[k % len(ids)],
                                "整改进展", f"第{n - 1}期进展", f"第{n}期进展：第{k + 1}项工作已推进。"])

    def sheet(name: str, rows: list[list]) -> SheetPlan:
        cells = [CellWrite(i, S.column_letter(j), v, DATE_STYLE if isinstance(v, date) else None)
                 for i, row in enumerate(rows, start=1) for j, v in enumerate(row)]
        return SheetPlan(name, cells, owned_sheet=True, clear_from_row=1)

    write_safely(path, WritePlan([sheet(S.SHEET_MONTHLY, monthly), sheet(S.SHEET_CHANGELOG, changes)]),
                 backup_dir=path.parent / "备份")


def _child(mode: str, path: str) -> None:
    t_import = time.perf_counter()
    from toolkit.jobs.sources import FileLedger

    if mode == "check":
        from toolkit.jobs.ledger import check_file
    else:
        from toolkit.jobs.board import run_board
    t0 = time.perf_counter()
    imported = t0 - t_import
    extra: dict = {}
    if mode == "check":
        result = check_file(path, today=AS_OF)
        assert result.status.stats.overall.total > 0
    else:
        import toolkit.board as board

        spent = []
        render = board.render_board

        def timed(*a, **kw):  # the board's own work: frames and HTML, after the read and check
            t = time.perf_counter()
            try:
                return render(*a, **kw)
            finally:
                spent.append(time.perf_counter() - t)

        board.render_board = timed
        with tempfile.TemporaryDirectory() as folder:
            job = run_board(FileLedger(path), today=AS_OF, out=Path(folder) / "看板.html")
            extra = {"render": spent[0], "bytes": job.written[0].path.stat().st_size}
    elapsed = time.perf_counter() - t0
    print(json.dumps({"seconds": elapsed, "import": imported, **extra}))


def run(mode: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    from synthetic import synthetic_ledger

    from toolkit import jobs as api

    OUT.mkdir(exist_ok=True)
    path = OUT / f"ledger_board_{args.tasks}_{args.months}m.xlsx"
    if not path.exists():
        api.new_ledger_workbook(path, synthetic_ledger(args.tasks), today=AS_OF - timedelta(days=1))
        add_history(path, args.months)
    check, board, render = [], [], []
    size = 0
    for _ in range(args.repeat):  # interleaved, so machine noise hits both alike
        check.append(run("check", path)["seconds"])
        r = run("board", path)
        board.append(r["seconds"])
        render.append(r["render"])
        size = r["bytes"]
    c, b, r = statistics.median(check), statistics.median(board), statistics.median(render)
    print(f"{'tasks':>7} {'months':>6} {'check s':>8} {'board s':>8} {'ratio':>6} {'frames+html s':>14} {'page MB':>8}")
    print(f"{args.tasks:>7} {args.months:>6} {c:>8.3f} {b:>8.3f} {b / c:>6.2f} {r:>14.3f} {size / 2**20:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
