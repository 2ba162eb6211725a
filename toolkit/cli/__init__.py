"""The ``zhenggai`` command line: one module per command group, each calling one job."""

from toolkit.cli.commands import app, main

__all__ = ["app", "main"]
