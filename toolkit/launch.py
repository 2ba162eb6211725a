"""``python -m toolkit.launch JOB LAUNCHER.cmd``: the Python side of the double-clickable launchers.

The ``.cmd`` file (pure ASCII, see :mod:`toolkit.jobs.launchers`) only finds Python and hands
over here. This module finds the ledger beside the launcher, prints every Chinese text itself,
runs the job exactly as the twin button does (:func:`toolkit.jobs.buttons.run_button_job`),
prints the summary and a verdict for the exit code, and waits for a key press so the window
stays readable. The exit code is the job's (0/1/2/3, see :mod:`toolkit.jobs.result`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from toolkit.jobs.buttons import CAPTIONS, run_button_job
from toolkit.jobs.launchers import ledger_name_of
from toolkit.jobs.result import EXIT_UNUSABLE
from toolkit.jobs.runner import configure_streams, execute
from toolkit.jobs.sources import FileLedger
from toolkit.jobs.summary import summary_lines, verdict

USAGE = "用法：python -m toolkit.launch 任务 启动器.cmd [--no-pause]；任务为 " + "、".join(CAPTIONS)


def find_ledger(launcher: Path) -> tuple[Path | None, str]:
    """The ledger a launcher names (beside it), or None and the Chinese reason."""
    try:
        text = launcher.read_bytes().decode("ascii", errors="replace")
    except OSError as exc:
        return None, f"无法读取启动器文件：{launcher}（{exc.strerror}）"
    name = ledger_name_of(text)
    if not name:
        return None, f"启动器“{launcher.name}”中没有台账文件名：请在台账所在文件夹运行 zhenggai launchers 台账.xlsx 重新生成。"
    ledger = launcher.parent / name
    if not ledger.is_file():
        return None, (f"找不到台账文件：{ledger}\n请把本启动器和台账放在同一个文件夹中；"
                      "台账改过名字的，请在台账所在文件夹重新生成启动器（zhenggai launchers 台账.xlsx）。")
    return ledger, ""


def main(argv: list[str] | None = None) -> int:
    configure_streams()
    args = list(sys.argv[1:] if argv is None else argv)
    pause = "--no-pause" not in args
    args = [a for a in args if a != "--no-pause"]
    if len(args) != 2 or args[0] not in CAPTIONS:
        print(USAGE)
        return _finish(EXIT_UNUSABLE, pause)
    job, launcher = args[0], Path(args[1])
    caption = CAPTIONS[job]
    print(f"{caption}：")
    ledger, reason = find_ledger(launcher)
    if ledger is None:
        print(reason)
        print()
        print(verdict(job, EXIT_UNUSABLE))
        return _finish(EXIT_UNUSABLE, pause)
    print(f"“{ledger}”")
    print()

    def progress(done: int, total: int, name: str) -> None:
        print(f"  正在校验第 {done}/{total} 份：{name}", flush=True)

    source = FileLedger(ledger)
    outcome = execute(caption, lambda: run_button_job(job, source, progress=progress), argv=args)
    lines = summary_lines(outcome.result, issues=30) if outcome.result is not None else outcome.error_lines
    for line in lines:
        print(line)
    print()
    print(verdict(job, outcome.code))
    return _finish(outcome.code, pause)


def _finish(code: int, pause: bool) -> int:
    if pause and sys.stdin is not None and sys.stdin.isatty():
        try:
            input("按回车键关闭窗口……")
        except (EOFError, KeyboardInterrupt):
            pass
    return code


if __name__ == "__main__":
    sys.exit(main())
