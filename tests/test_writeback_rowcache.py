"""Issue 15, fourth round: a run row (adjacent planned cells) whose cells' bytes and plans repeat an earlier
row's is replayed as a whole (the row cache). Generated sheets and plans are patched by the frozen pre-change
patcher (tests/perf_reference) and by the toolkit: byte-identical packages and equal summaries, or the same
refusal, on the first write and on a second write over the result.
"""

from __future__ import annotations

import io
from dataclasses import asdict

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from perf_reference.patch import PatchRefused as RefPatchRefused
from perf_reference.patch import prepare_patch as ref_prepare_patch

from toolkit.core.plan import CellStyle, CellWrite, SheetPlan, WritePlan
from toolkit.excel.patch import PatchRefused, prepare_patch, sheetrows

SHEET = "任务清单"
RED = CellStyle(fill="FFC7CE", font_color="9C0006")
GREEN = CellStyle(fill="C6EFCE", font_color="006100")
KINDS = ("text", "other-text", "number", "formula", "blank", "absent", "date")
VALUES = ("逾期", "按期推进", "已逾期3天", 3, 3.5, 0, None, "")


def _workbook(rows: list[tuple], merges: list[int]) -> bytes:
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = wb.add_worksheet(SHEET)
    bold = wb.add_format({"bold": True})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, ["编号", "措施", "【自动】状态", "【自动】天数", "【自动】备注"])
    for r, kinds in enumerate(rows, 1):
        ws.write_row(r, 0, [f"1-{r}", "措施"])
        for c, kind in enumerate(kinds, 2):
            if kind == "text":
                ws.write_string(r, c, "推进中")
            elif kind == "other-text":
                ws.write_string(r, c, "逾期")
            elif kind == "number":
                ws.write_number(r, c, 3)
            elif kind == "formula":
                ws.write_formula(r, c, "=1+2", None, 3)
            elif kind == "blank":
                ws.write_blank(r, c, None, bold)
            elif kind == "date":
                ws.write_number(r, c, 45473, date_fmt)
    for r in sorted(set(merges)):
        if r <= len(rows):
            ws.merge_range(r, 4, r, 5, "合并", bold)
    wb.close()
    return out.getvalue()


def _plan(rows: int, choices: list[tuple]) -> WritePlan:
    cells = []
    for r in range(2, rows + 2):
        c, d, e = choices[(r - 2) % len(choices)]
        cells.append(CellWrite(r, "C", c[0], c[1]))
        cells.append(CellWrite(r, "D", d[0], d[1]))
        if e is not None:
            cells.append(CellWrite(r, "E", e[0], e[1]))
    return WritePlan([SheetPlan(SHEET, cells, owned_columns=("C", "D", "E"), clear_from_row=2)])


def _patch(fn, blob: bytes, plan: WritePlan, where):  # noqa: ANN001, ANN202
    try:
        prepared = fn(blob, plan)
    except (PatchRefused, RefPatchRefused) as exc:
        return ("refused", str(exc))
    out = where / f"{fn.__module__}.xlsx"
    prepared.write(out)
    return ("written", out.read_bytes(), asdict(prepared.summary))


plan_value = st.tuples(st.sampled_from(VALUES), st.sampled_from((None, RED, GREEN)))
row_kinds = st.tuples(*(st.sampled_from(KINDS) for _ in range(3)))


@settings(derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(row_kinds, min_size=1, max_size=4),  # a short cycle: rows repeat, so the row cache is used
    st.integers(8, 24),
    st.lists(st.tuples(plan_value, plan_value, st.one_of(st.none(), plan_value)), min_size=1, max_size=3),
    st.lists(st.integers(1, 24), max_size=2),
)
def test_row_cache_patches_as_the_pre_change_code(tmp_path_factory, cycle, n, choices, merges):
    where = tmp_path_factory.mktemp("rc")
    rows = [cycle[i % len(cycle)] for i in range(n)]
    blob = _workbook(rows, merges)
    plan = _plan(n, choices)
    old, new = _patch(ref_prepare_patch, blob, plan, where), _patch(prepare_patch, blob, plan, where)
    assert new == old
    if new[0] == "written":  # a second write over the result: cells now equal to their plan are left alone
        assert _patch(prepare_patch, new[1], plan, where) == _patch(ref_prepare_patch, old[1], plan, where)


def test_row_cache_replays_repeated_rows(monkeypatch, tmp_path):
    replayed = []
    real = sheetrows.SheetPatcher._replay_row

    def spy(self, *args):  # noqa: ANN001, ANN002, ANN202
        replayed.append(args[0])
        return real(self, *args)

    monkeypatch.setattr(sheetrows.SheetPatcher, "_replay_row", spy)
    blob = _workbook([("text", "number", "blank")] * 30, merges=[7])
    plan = _plan(30, [(("逾期", RED), (4, None), (None, None))])
    assert _patch(prepare_patch, blob, plan, tmp_path) == _patch(ref_prepare_patch, blob, plan, tmp_path)
    assert len(replayed) >= 25  # most rows replayed as a whole
    assert 8 not in replayed  # row 8 holds the merged range E8:F8 in the run: cell by cell


@pytest.mark.parametrize("merged_row", [3, 5])
def test_planned_cell_inside_a_merged_range_is_refused_as_before(merged_row, tmp_path):
    blob = _workbook([("text", "number", "blank")] * 6, merges=[merged_row])
    cells = [CellWrite(r, col, "x", None) for r in range(2, 8) for col in ("C", "D", "E", "F")]
    plan = WritePlan([SheetPlan(SHEET, cells, owned_columns=("C", "D", "E", "F"), clear_from_row=2)])
    old, new = _patch(ref_prepare_patch, blob, plan, tmp_path), _patch(prepare_patch, blob, plan, tmp_path)
    assert new == old and new[0] == "refused"


NEW_VALUES = ("逾期", "按期推进", 3, 2.5, None, True, "  带空格  ", "a&b<c>")


@settings(derandomize=True, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 6),  # rows the owned sheet already has
    st.integers(1, 30),  # rows planned
    st.lists(st.tuples(st.sampled_from(NEW_VALUES), st.sampled_from((None, RED, GREEN, CellStyle(num_format="yyyy-mm-dd")))),
             min_size=1, max_size=4),
    st.lists(st.integers(1, 30), max_size=2),
)
def test_new_cells_of_an_owned_sheet_patch_as_the_pre_change_code(tmp_path_factory, existing, planned, values, merges):
    from datetime import date as date_

    where = tmp_path_factory.mktemp("nc")
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = wb.add_worksheet("统计")
    for r in range(existing):
        ws.write_row(r, 0, ["旧", r, "旧值"])
    for r in sorted(set(merges)):
        ws.merge_range(r - 1, 3, r - 1, 4, "")
    wb.close()
    cells = []
    for r in range(1, planned + 1):
        for c, col in enumerate("ABCDE"):
            value, style = values[(r + c) % len(values)]
            if style is not None and style.num_format and value is not None:
                value = date_(2025, 4, 1 + r % 20)
            cells.append(CellWrite(r, col, value, style))
    plan = WritePlan([SheetPlan("统计", cells, owned_sheet=True, clear_from_row=1)])
    blob = out.getvalue()
    old, new = _patch(ref_prepare_patch, blob, plan, where), _patch(prepare_patch, blob, plan, where)
    assert new == old
    if new[0] == "written":
        assert _patch(prepare_patch, new[1], plan, where) == _patch(ref_prepare_patch, old[1], plan, where)
