"""Where an internal error's traceback goes: a log file under the user's local app data, never the screen."""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from datetime import datetime
from pathlib import Path

LOG_NAME = "zhenggai-错误日志.txt"


def log_folder() -> Path:
    """``ZHENGGAI_LOG_DIR``, else %LOCALAPPDATA%\\zhenggai (Windows) or ~/.local/state/zhenggai, else the temp folder."""
    env = os.environ.get("ZHENGGAI_LOG_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "zhenggai"
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "zhenggai"


def log_internal_error(caption: str, exc: BaseException, *, argv: list[str] | None = None) -> Path | None:
    """Append the traceback of ``exc`` to the log file; returns its path (None when nothing could be written)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    entry = f"==== {datetime.now():%Y-%m-%d %H:%M:%S} {caption} {' '.join(argv or [])}\n{text}\n"
    for folder in (log_folder(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / LOG_NAME
            with path.open("a", encoding="utf-8") as fh:
                fh.write(entry)
            return path
        except OSError:
            continue
    return None
