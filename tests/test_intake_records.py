"""Which rows of a staff sheet are records, found column by column (issue 15, fifth round): the same rows, kinds
and warnings as the row-by-row classification of the frozen pre-change intake (tests/perf_reference/core), on
sheets long enough that the column choice works from a sample of the first rows.
"""

from __future__ import annotations

import importlib

from conftest import TASK_HEADER
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.core import intake as new_intake
from toolkit.core.model import CellError, Ledger, Table

ref_intake = importlib.import_module("perf_reference.core.intake")

FAST = settings(derandomize=True, max_examples=120, deadline=None)

DATA = ("1-1", "2-3", "加强学习。", "整改措施", "办公室", "周丽", "推进中", "", None, 3.0, CellError("#N/A"),
        "a" * 30, "合计", "注：说明", "ＡＢＣ")
HEADER_VARIANTS = [list(TASK_HEADER), [f" {h} " for h in TASK_HEADER], [h.replace("编号", "编 号") for h in TASK_HEADER]]


@st.composite
def task_sheets(draw):
    width = len(TASK_HEADER)
    header = list(TASK_HEADER)
    if draw(st.booleans()):
        header[draw(st.integers(0, width - 1))] = ""  # an empty header: matches nothing
    rows: list[list] = [header]
    n = draw(st.integers(0, 150))
    # Most rows are data (the sample of the first rows then sees the usual values); some repeat the header in
    # part: just enough columns, one too few, or all, in any order.
    for _ in range(n):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            src = draw(st.sampled_from(HEADER_VARIANTS))
            keep = draw(st.integers(0, width))
            cols = draw(st.permutations(range(width)))[:keep]
            row = [src[j] if j in cols else draw(st.sampled_from(DATA)) for j in range(width)]
        elif kind == 1:
            row = [draw(st.sampled_from(DATA)) for _ in range(draw(st.integers(0, width + 2)))]  # ragged
        elif kind == 2:
            row = [None] * width
        else:
            row = [draw(st.sampled_from(DATA)) for _ in range(width)]
        rows.append(row)
    return rows


def _records(module, rows: list[list]):
    table = Table("任务清单", [list(r) for r in rows])
    ledger = Ledger(source="台账.xlsx")
    issues: list = []
    found = module.locate_header(table, module.S.SHEET_COLUMNS[module.S.SHEET_TASKS])
    assert found is not None
    header_idx, cols = found
    sheet = module._Sheet(ledger, module.S.SHEET_TASKS, table, header_idx, cols)
    out = list(sheet._records(issues))
    return out, [(i.code, i.message, i.location) for i in issues], ledger.layout.skipped_rows


@FAST
@given(task_sheets())
def test_record_rows_equal_the_row_by_row_classification(rows):
    assert _records(new_intake, rows) == _records(ref_intake, rows)


def test_a_long_sheet_finds_repeated_headers_past_the_sample():
    data = ["1-1", "1", "加强学习。", "", "李国强", "办公室", "周丽", "2024-06-30", None, "推进中"]
    rows = [list(TASK_HEADER)] + [list(data) for _ in range(300)]
    rows[200] = list(TASK_HEADER)  # far below the sampled rows
    rows[250] = [" 任务编号 ", "问题 编号", "整改措施", "整改进展", "责任领导", "责任单位", "责任人", "完成时限"] + data[8:]
    new, old = _records(new_intake, rows), _records(ref_intake, rows)
    assert new == old
    assert [code for code, _, _ in new[1]] == ["repeated-header", "repeated-header"]


def test_unhashable_cells_fall_back_to_the_row_by_row_test():
    rows = [list(TASK_HEADER)] + [["1-1", 1, ["不是单元格值"], "x"] for _ in range(80)] + [list(TASK_HEADER)]
    rows.append(["1-2", 1, "加强学习。", "x"])  # the last row: nothing below it reads as a note's continuation
    sheet_rows = _records(new_intake, rows)
    assert sheet_rows == _records(ref_intake, rows)
    assert [code for code, _, _ in sheet_rows[1]] == ["repeated-header"]


def test_a_header_missing_exactly_the_cheapest_columns_is_still_found():
    """Column j holds j + 1 distinct values, so the cheapest columns are the first ones; a repeated header that
    misses exactly ``slack`` of those (the most it may miss) matches in the next one only."""
    width = len(TASK_HEADER)
    rows = [list(TASK_HEADER)] + [[f"值{j}-{r % (j + 1)}" for j in range(width)] for r in range(100)]
    table = Table("任务清单", [list(r) for r in rows])
    header_idx, cols = new_intake.locate_header(table, new_intake.S.SHEET_COLUMNS[new_intake.S.SHEET_TASKS])
    slack = new_intake._Sheet(Ledger(source="x"), new_intake.S.SHEET_TASKS, table, header_idx, cols)._repeat_slack
    assert slack >= 1 and len(cols) == width
    for misses in (slack, slack + 1):  # found, then one miss too many
        probe = [rows[1][j] if j < misses else TASK_HEADER[j] for j in range(width)]
        got = _records(new_intake, [*rows[:50], probe, *rows[50:]])
        assert got == _records(ref_intake, [*rows[:50], probe, *rows[50:]])
        assert [code for code, _, _ in got[1]] == (["repeated-header"] if misses == slack else [])
