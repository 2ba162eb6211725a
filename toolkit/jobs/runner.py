"""Run one job for a front end: every outcome becomes an exit code and Chinese lines, never a traceback.

Also the console set-up every front end shares: streams that never crash on a console or a
file that is not UTF-8 (Chinese Windows redirects in code page 936).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from toolkit.core.errors import ToolkitError
from toolkit.jobs.crashlog import log_internal_error
from toolkit.jobs.result import EXIT_INTERNAL, EXIT_UNUSABLE, JobResult
from toolkit.jobs.summary import internal_error_lines


@dataclass
class Outcome:
    """A job run as a front end sees it: the result (None when it failed), the exit code, the error lines."""

    result: JobResult | None
    code: int
    error_lines: list[str] = field(default_factory=list)


def execute(caption: str, job: Callable[[], JobResult], *, argv: list[str] | None = None) -> Outcome:
    """Call ``job``; a ToolkitError (input unusable) → exit 2 with its message; anything else → exit 3, logged."""
    try:
        result = job()
    except ToolkitError as exc:
        return Outcome(None, EXIT_UNUSABLE, [f"{caption}未完成：{exc}"])
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - a defect: one Chinese line on screen, the traceback in the log
        log = log_internal_error(caption, exc, argv=argv)
        return Outcome(None, EXIT_INTERNAL, internal_error_lines(caption, exc, log))
    return Outcome(result, result.exit_code)


def configure_streams() -> None:
    """Make stdout/stderr unable to crash on characters their encoding lacks (replace them instead).

    The encoding itself is kept (a GBK log file stays GBK, readable in Notepad); only the error
    handler changes. Streams that cannot be reconfigured (test runners' captures) are left alone.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):
                pass
