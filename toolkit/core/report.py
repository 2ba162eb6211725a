"""Located issues and reports: validation results as data, never exceptions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"

SEVERITY_LABELS = {ERROR: "错误", WARNING: "警告"}


@dataclass(frozen=True)
class Location:
    """Where a person finds the problem in Excel (1-based row, column letter)."""

    workbook: str = ""
    sheet: str = ""
    row: int | None = None
    column: str | None = None
    field: str | None = None

    @property
    def cell(self) -> str:
        """The A1-style reference, or the best partial one available."""
        if self.column and self.row:
            return f"{self.column}{self.row}"
        if self.row:
            return f"第{self.row}行"
        if self.column:
            return f"{self.column}列"
        return ""

    def describe(self) -> str:
        """Chinese description such as ``任务清单!H7（完成时限）``."""
        parts = self.sheet
        if self.cell:
            parts = f"{parts}!{self.cell}" if parts else self.cell
        if self.field:
            parts = f"{parts}（{self.field}）"
        return parts


@dataclass(frozen=True)
class Issue:
    """One problem found in the ledger: stable code, Chinese message with the fix, location."""

    code: str
    message: str
    location: Location = field(default_factory=Location)
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "workbook": self.location.workbook,
            "sheet": self.location.sheet,
            "row": self.location.row,
            "column": self.location.column,
            "field": self.location.field,
        }


@dataclass
class Report:
    """The issues of one run, with convenience views for front ends and tests."""

    issues: list[Issue] = field(default_factory=list)

    def extend(self, issues: Iterable[Issue]) -> None:
        self.issues.extend(issues)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if not i.is_error]

    @property
    def valid(self) -> bool:
        return not self.errors

    def flatten(self, keys: Sequence[str] = ("sheet", "row", "column", "code")) -> list[list]:
        """Compact view for assertions: one list of the chosen keys per issue."""
        return [[issue.to_dict()[k] for k in keys] for issue in self.issues]

    def codes(self) -> list[str]:
        return [i.code for i in self.issues]

    def sorted(self) -> list[Issue]:
        """Errors first, then by sheet order of appearance, row and column."""
        order: dict[str, int] = {}
        for issue in self.issues:
            order.setdefault(issue.location.sheet, len(order))
        return sorted(
            self.issues,
            key=lambda i: (
                0 if i.is_error else 1,
                order[i.location.sheet],
                i.location.row or 0,
                len(i.location.column or ""),
                i.location.column or "",
            ),
        )
