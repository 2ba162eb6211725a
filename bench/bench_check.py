"""check + status on 1k / 10k / 100k-task ledgers against a bare python-calamine read of the same file.

Run: python bench/bench_check.py [--sizes 1000,10000,100000] [--repeat 5] [--repeat-small 9]
Prints medians and the ratio (check+status) / (bare read), and the peak memory (RSS) of each run,
each measured in a fresh subprocess so one size's memory does not hide another's.

The sizes are interleaved: each round runs every size (bare read, then check) in turn, the 100k size in
``--repeat`` of the rounds spread evenly over them. A slow or fast spell of the machine then hits every
size alike, so the linearity ratio (100k ratio ÷ 10k ratio) compares runs made under the same conditions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
OUT = HERE / "out"


def _child(mode: str, path: str) -> None:
    import resource

    # Imports are timed apart: the work is compared, and the import cost is printed on its own.
    t_import = time.perf_counter()
    if mode == "bare":
        from python_calamine import CalamineWorkbook
    else:
        from datetime import date

        import chinese_calendar  # noqa: F401  (the holiday calendar, imported lazily by the status rules)
        import python_calamine  # noqa: F401  (as the bare read imports it before its timer)

        # What check_file imports lazily, imported here so that the timer holds the work only.
        import toolkit.excel.ledger_file  # noqa: F401
        import toolkit.excel.read  # noqa: F401
        import toolkit.excel.untrusted  # noqa: F401
        import toolkit.jobs.sources  # noqa: F401
        from toolkit.jobs.ledger import check_file
    t0 = time.perf_counter()
    c0 = time.process_time()  # CPU of every thread of the process (the staged read parses in a second one)
    imported = t0 - t_import
    if mode == "bare":
        wb = CalamineWorkbook.from_path(path)
        for name in wb.sheet_names:
            wb.get_sheet_by_name(name).to_python()
    else:
        result = check_file(path, today=date(2025, 4, 7))
        assert result.plan.cell_count() > 0
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "peak_mb": peak_mb, "import": imported}))


def run(mode: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--repeat-small", type=int, default=9,
                    help="runs for sizes up to 10k (cheap, and the noisiest on a shared machine)")
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    from synthetic import write_synthetic

    OUT.mkdir(exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    paths = {n: write_synthetic(OUT / f"ledger_{n}.xlsx", n) for n in sizes}
    repeats = {n: max(args.repeat, args.repeat_small) if n <= 10000 else args.repeat for n in sizes}
    rounds = max(repeats.values())
    # The rounds each size runs in, spread evenly (9 rounds, 5 runs: rounds 0, 2, 4, 6, 8).
    runs_in = {n: {round(k * (rounds - 1) / max(repeats[n] - 1, 1)) for k in range(repeats[n])} for n in sizes}
    bare: dict[int, list[float]] = {n: [] for n in sizes}
    full: dict[int, list[float]] = {n: [] for n in sizes}
    bare_cpu: dict[int, list[float]] = {n: [] for n in sizes}
    full_cpu: dict[int, list[float]] = {n: [] for n in sizes}
    peak = dict.fromkeys(sizes, 0.0)
    imp = dict.fromkeys(sizes, 0.0)
    for r in range(rounds):  # interleaved, so machine noise hits every size and both modes alike
        for n in sizes:
            if r not in runs_in[n]:
                continue
            got = run("bare", paths[n])
            bare[n].append(got["seconds"])
            bare_cpu[n].append(got["cpu"])
            got = run("check", paths[n])
            full[n].append(got["seconds"])
            full_cpu[n].append(got["cpu"])
            peak[n], imp[n] = max(peak[n], got["peak_mb"]), got["import"]
    ratios: dict[int, float] = {}
    # cpu ratio: CPU time of every thread, check ÷ bare read (medians). The goal is on wall time; the CPU ratio says
    # how much work the check does beside the read, which the wall ratio hides when the second core is free.
    print(f"{'tasks':>7} {'bare read s':>12} {'check+status s':>15} {'ratio':>6} {'cpu ratio':>9} {'peak MB':>8} "
          f"{'import s':>9} {'runs':>5}")
    for n in sizes:
        b, f = statistics.median(bare[n]), statistics.median(full[n])
        cpu = statistics.median(full_cpu[n]) / statistics.median(bare_cpu[n])
        print(f"{n:>7} {b:>12.3f} {f:>15.3f} {f / b:>6.2f} {cpu:>9.2f} {peak[n]:>8.0f} {imp[n]:>9.3f} "
              f"{len(full[n]):>5}", flush=True)
        ratios[n] = f / b
        pairs = [x / y for x, y in zip(full[n], bare[n], strict=True)]  # each run against the bare read next to it
        print(f"SPREAD\tcheck {n // 1000}k\t{min(pairs):.2f}\t{max(pairs):.2f}", flush=True)
    for n, r in ratios.items():
        print(f"RATIO\tcheck {n // 1000}k\t{r:.2f}", flush=True)
    if 10000 in ratios and 100000 in ratios:
        print(f"RATIO\tcheck 100k ratio ÷ 10k ratio (linear)\t{ratios[100000] / ratios[10000]:.2f}", flush=True)


if __name__ == "__main__":
    main()
