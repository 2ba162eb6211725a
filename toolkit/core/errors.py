"""The one exception a job raises when it cannot run at all (its message is Chinese, for staff)."""

from __future__ import annotations


class ToolkitError(Exception):
    """A job could not run; ``str(exc)`` (Chinese) says why and what to do. Nothing was changed."""
