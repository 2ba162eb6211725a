"""What every job returns: what was read, written, refused — and the exit code that says it.

Exit codes (the same for the CLI, the launchers and scheduled runs; the buttons show the verdict):

* 0 — done, nothing needs attention (warnings may remain);
* 1 — done, but the ledger has errors, or some county files were rejected / conflict;
* 2 — the input cannot be used (missing or unreadable file, locked workbook, bad option): nothing changed;
* 3 — internal error (a defect): a one-line Chinese message, the traceback in the log file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from toolkit.core.check import CheckResult

EXIT_OK = 0
EXIT_ATTENTION = 1
EXIT_UNUSABLE = 2
EXIT_INTERNAL = 3

EXIT_MEANINGS = {
    EXIT_OK: "完成",
    EXIT_ATTENTION: "完成，但台账有错误或有报送文件被退回，需要处理",
    EXIT_UNUSABLE: "输入无法使用（文件不存在、无法读取、正被打开或选项有误），未做任何修改",
    EXIT_INTERNAL: "程序内部错误，未完成（详情已写入日志）",
}


@dataclass(frozen=True)
class Written:
    """One file the job wrote or changed."""

    path: Path
    what: str  # Chinese: 台账 / 通报 / 提醒函 / 县区报送表 / 汇总报告 …
    cells: int = 0  # cells changed, for a workbook patched in place
    styled: int = 0  # of which only the format changed (the value stayed)
    backup: Path | None = None
    in_memory: bool = False  # written into the workbook open in Excel (saved when staff save)


@dataclass
class JobResult:
    """The outcome of one job, for every front end to render the same way."""

    job: str  # stable name: check, status, notice, …
    caption: str  # Chinese name of the job, as on the button
    ledger: Path | None = None
    today: date | None = None
    check: CheckResult | None = None  # the ledger as read and checked
    written: list[Written] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # what was not written, and why (Chinese)
    notes: list[str] = field(default_factory=list)  # things staff should know (Chinese)
    dry_run: bool = False
    changes: list[Any] = field(default_factory=list)  # cell changes (written or, in a dry run, planned)
    details: Any = None  # job-specific: ConsolidationResult, NoticeResult, list of letters …
    attention: bool = False  # something besides ledger errors needs staff (rejected files, conflicts)
    write_attempted: bool = False  # the job tried to write the ledger (so "unchanged" can be said truthfully)

    @property
    def ledger_errors(self) -> int:
        return len(self.check.report.errors) if self.check is not None else 0

    @property
    def exit_code(self) -> int:
        return EXIT_ATTENTION if (self.ledger_errors or self.attention) else EXIT_OK

    def add_written(self, path: Path, what: str, **kw: Any) -> None:
        self.written.append(Written(Path(path), what, **kw))
