"""The click path of a ledger button, measured on the demo ledger, before and after the pandas hook.

Run: python bench/bench_click.py [--repeat 7]

A click runs, in a fresh interpreter, ``python -B -c "import xlwings.utils; xlwings.utils.prepare_sys_path(…);
import toolkit.macros as m; m.check_ledger()" --wb=… --from_xl=1 …`` (xlwings' RunPython). Measured, each the
median of ``--repeat`` fresh processes, wall clock:

1. ``python -c pass`` — the baseline every ratio is against (interpreter start, measured in this run);
2. ``import toolkit.macros`` alone;
3. ``import xlwings.utils`` as RunPython does it (imports pandas and numpy when installed);
4. the whole click: RunPython's prefix, ``import toolkit.macros``, then 校验台账 (``check_ledger``) on the
   demo ledger opened with xlwings' ``remote`` engine as tests/test_macros.py does (the payload is made
   beforehand, as Excel would hold the workbook); the child reports its own phase times and whether
   pandas / numpy were imported.

"before" is a plain interpreter; "after" runs the same command with the one line the venv's
``zhenggai-click-path.pth`` executes at start-up (:mod:`toolkit.excel.vba.clickpath`) prepended — the same
code Python's ``site`` runs from the ``.pth`` before ``-c``. On Windows, process creation and COM add to
every figure; the ratios are what carries over. No assertions; figures vary ±20% run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the xlwings remote-engine payload helper lives with the tests

CHILD = r"""
import time, sys, json
t0 = time.perf_counter()
import xlwings.utils
t1 = time.perf_counter()
import toolkit.macros as m
t2 = time.perf_counter()
import xlwings_remote
payload = json.load(open(sys.argv[-1], encoding="utf-8"))
book = xlwings_remote.remote_book(payload)
book.set_mock_caller()
t3 = time.perf_counter()
m.check_ledger()
t4 = time.perf_counter()
alert = book.json()["actions"][-1]
print(json.dumps({"xlwings": t1 - t0, "macros": t2 - t1, "open": t3 - t2, "job": t4 - t3,
                  "pandas": "pandas" in sys.modules, "numpy": "numpy" in sys.modules,
                  "verdict": alert["args"][0].splitlines()[0] if alert["func"] == "alert" else alert["func"]}))
"""


def run(code: str, args: list[str], env: dict[str, str]) -> tuple[float, str]:
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-B", "-c", code, *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=False)
    seconds = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def median(code: str, args: list[str], env: dict[str, str], repeat: int) -> float:
    return statistics.median(run(code, args, env)[0] for _ in range(repeat))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    repeat = ap.parse_args().repeat

    import xlwings_remote

    from toolkit import jobs as api
    from toolkit.demo.ledger import DEMO_AS_OF, build_demo_ledger
    from toolkit.excel.vba.clickpath import HOOK_SOURCE

    hook = f"exec({HOOK_SOURCE!r})\n"
    env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    xl_args = ["--wb=示例台账.xlsx", "--from_xl=1", "--app=EXCEL.EXE", "--hwnd=0"]  # what RunPython appends

    with tempfile.TemporaryDirectory(prefix="bench-click-") as tmp:
        ledger = Path(tmp) / "整改 台账" / "示例台账.xlsx"
        ledger.parent.mkdir()
        api.new_ledger_workbook(ledger, build_demo_ledger(), today=DEMO_AS_OF)
        payload = Path(tmp) / "payload.json"
        payload.write_text(json.dumps(xlwings_remote.workbook_payload(ledger)), "utf-8")

        base = median("pass", [], env, repeat)
        print(f"click path on the demo ledger (50 tasks), median of {repeat} fresh interpreters, wall clock")
        print(f"  baseline  python -c pass                        {base:7.3f} s   1.0×")
        macros = median("import toolkit.macros", [], env, repeat)
        print(f"  import toolkit.macros                           {macros:7.3f} s  {macros / base:4.1f}×")
        rows = {}
        for label, prefix in (("before", ""), ("after", hook)):
            imp = median(prefix + "import xlwings.utils", xl_args, env, repeat)
            runs = [run(prefix + CHILD, [*xl_args, str(payload)], env) for _ in range(repeat)]
            wall = statistics.median(s for s, _ in runs)
            phases = [json.loads(out.strip().splitlines()[-1]) for _, out in runs]
            rows[label] = (imp, wall, phases)
            print(f"\n  {label}: {'plain interpreter' if not prefix else 'with the zhenggai-click-path.pth hook'}")
            print(f"    import xlwings.utils (RunPython's prefix)     {imp:7.3f} s  {imp / base:4.1f}×")
            print(f"    whole click, 校验台账                          {wall:7.3f} s  {wall / base:4.1f}×")
            for key in ("xlwings", "macros", "open", "job"):
                value = statistics.median(p[key] for p in phases)
                print(f"      in the child: {key:<8}                     {value:7.3f} s")
            print(f"      pandas imported: {phases[0]['pandas']}, numpy imported: {phases[0]['numpy']};"
                  f" verdict: {phases[0]['verdict']}")
        (imp0, wall0, _), (imp1, wall1, _) = rows["before"], rows["after"]
        print(f"SECONDS\tbutton click 校验台账, demo ledger (wall)\t{wall1:.3f}", flush=True)
        print(f"RATIO\tbutton click ÷ python -c pass\t{wall1 / base:.2f}", flush=True)
        print(f"\n  after / before: import xlwings {imp1 / imp0:.2f}, whole click {wall1 / wall0:.2f}"
              f" (saves {wall0 - wall1:.3f} s per click here)")


if __name__ == "__main__":
    main()
