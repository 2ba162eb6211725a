"""The ``zhenggai`` command line: one module per command group, each calling one job."""

from toolkit.cli.app import app, main

__all__ = ["app", "main"]
