"""Where jobs put their output: beside the ledger, never over a file staff may have edited."""

from __future__ import annotations

from pathlib import Path


def unique_path(path: Path) -> Path:
    """``path``, or ``name(2).ext``, ``name(3).ext``… when it exists (never overwrite a document staff may have edited)."""
    if not path.exists():
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem}({n}){path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1
