"""Untrusted workbooks (county submissions) must never kill or stall a run.

Two layers:

1. :func:`precheck` (:mod:`toolkit.excel.untrusted.precheck`) looks at the file without
   parsing it as a workbook and raises :class:`RejectedFile` with a Chinese reason for
   anything hostile or absurd (zip bombs, DTDs, giant texts, cells at XFD1048576...).
2. :func:`read_untrusted` / :func:`read_many_untrusted` / :func:`stream_read_untrusted`
   (:mod:`toolkit.excel.untrusted.sandbox`) then parse in worker processes with a memory
   limit (RLIMIT_AS, where the OS has it) and a timeout, so whatever the pre-check missed
   rejects one file, not the run.
"""

from toolkit.excel.untrusted.precheck import FileFacts, Limits, RejectedFile, finish_precheck, precheck
from toolkit.excel.untrusted.sandbox import (
    WorkerStartError,
    iter_read_untrusted,
    read_many_untrusted,
    read_untrusted,
    stream_read_untrusted,
)

__all__ = [
    "RejectedFile",
    "FileFacts",
    "Limits",
    "precheck",
    "finish_precheck",
    "read_untrusted",
    "read_many_untrusted",
    "iter_read_untrusted",
    "stream_read_untrusted",
    "WorkerStartError",
]
