"""Issue 15 (status write-back): the patcher's per-cell outcome cache and the streamed read-back.

The patcher decides a staff-sheet cell once per (bytes after ``r="..."``, planned value and style)
and replays that outcome for later identical cells; the position checks (merged ranges, tables,
array formulas, pivot tables) are never replayed. The read-back streams rows through
python-calamine and must agree with a whole-grid read on any sheet layout.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from fidelity_workbook import rewrite_members
from python_calamine import CalamineWorkbook

from toolkit.core.plan import CellStyle, CellWrite, SheetPlan, WritePlan
from toolkit.excel import safe_write
from toolkit.excel.patch import PatchRefused, prepare_patch
from toolkit.excel.safe_write import VerifyFailed, write_safely

SHEET = "任务清单"
RED = CellStyle(fill="FFC7CE", font_color="9C0006")


def _staff_sheet(path: Path, rows: int, *, merge_row: int | None = None) -> Path:
    """A:B staff columns, C:D owned columns whose cells are all alike (same bytes after r).

    ``merge_row`` (1-based) gets C:D merged without changing its cells' bytes.
    """
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(SHEET)
    ws.write_row(0, 0, ["编号", "措施", "【自动】状态", "【自动】天数"])
    for r in range(1, rows + 1):
        ws.write_row(r, 0, [f"1-{r}", "措施"])
        ws.write(r, 2, "推进中")
        ws.write(r, 3, 5)
    wb.close()
    if merge_row is not None:
        merge = f'<mergeCells count="1"><mergeCell ref="C{merge_row}:D{merge_row}"/></mergeCells>'.encode()
        rewrite_members(path, {"xl/worksheets/sheet1.xml": lambda x: x.replace(b"</sheetData>", b"</sheetData>" + merge)})
    return path


def _plan(rows: int, status: str = "已逾期", days: int = 7, style: CellStyle | None = None) -> WritePlan:
    cells = []
    for r in range(2, rows + 2):
        # A new style object per cell (equal values): the cache must treat them as one style.
        cells.append(CellWrite(r, "C", status, CellStyle(fill=style.fill, font_color=style.font_color) if style else None))
        cells.append(CellWrite(r, "D", days, None))
    return WritePlan([SheetPlan(SHEET, cells, owned_columns=("C", "D"), clear_from_row=2)])


def _values(path: Path) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET).to_python(skip_empty_area=False)


def test_cached_cell_outcome_is_replayed_for_identical_cells(tmp_path):
    path = _staff_sheet(tmp_path / "l.xlsx", 50)
    prepared = prepare_patch(path.read_bytes(), _plan(50, style=RED))
    prepared.write(tmp_path / "out.xlsx")
    grid = _values(tmp_path / "out.xlsx")
    assert [row[2:4] for row in grid[1:]] == [["已逾期", 7.0]] * 50
    assert prepared.summary.cells_written == 100
    assert len(prepared.summary.rewritten_cells[SHEET]) == 100
    # Every status cell got the same new style; the texts were appended once and counted per use.
    assert prepared.summary.strings_added == 1 and prepared.summary.styles_added == 1
    wb = openpyxl.load_workbook(tmp_path / "out.xlsx")
    fills = {wb[SHEET].cell(r, 3).fill.fgColor.rgb for r in range(2, 52)}
    assert fills == {"FFFFC7CE"}

    def counts(p: Path) -> tuple[int, int]:
        with zipfile.ZipFile(p) as zf:
            sst = zf.read("xl/sharedStrings.xml").decode()
        return int(sst.split(' count="')[1].split('"')[0]), int(sst.split('uniqueCount="')[1].split('"')[0])

    (count0, unique0), (count1, unique1) = counts(path), counts(tmp_path / "out.xlsx")
    # 50 references to 推进中 replaced by 50 to 已逾期: the count is unchanged, one string appended.
    assert (count1, unique1) == (count0, unique0 + 1)


def test_cached_cell_outcome_never_skips_the_merged_range_refusal(tmp_path):
    """Cells identical to already decided ones still get the position checks (here: row 40 merged C:D)."""
    path = _staff_sheet(tmp_path / "l.xlsx", 50, merge_row=41)
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml")
    # D41 is byte-for-byte like the D cells decided before it (only r differs).
    assert xml.split(b'<c r="D41"')[1].split(b"</c>")[0] == xml.split(b'<c r="D40"')[1].split(b"</c>")[0]
    with pytest.raises(PatchRefused, match="D41"):
        prepare_patch(path.read_bytes(), _plan(50))


def test_second_run_leaves_every_cached_cell_alone(tmp_path):
    path = _staff_sheet(tmp_path / "l.xlsx", 30)
    plan = _plan(30, style=RED)
    prepare_patch(path.read_bytes(), plan).write(tmp_path / "once.xlsx")
    again = prepare_patch((tmp_path / "once.xlsx").read_bytes(), plan)
    assert not again.changed and again.summary.cells_written == 0


def _layout_workbook(path: Path, top: int, left: int, rows: int, cols: int, seed: int) -> list[list[object]]:
    """A sheet whose used range starts at (top, left) (1-based); returns the values written."""
    rnd = random.Random(seed)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    values = []
    for i in range(rows):
        line = []
        for j in range(cols):
            v = rnd.choice(["甲", "乙", 3, 2.5, None, True])
            line.append(v)
            if v is not None:
                ws.cell(top + i, left + j, v)
        values.append(line)
    ws.cell(top, left, "首")  # the used range really starts at (top, left)
    wb.create_sheet("空表")
    wb.save(path)
    return values


@pytest.mark.parametrize(("top", "left"), [(1, 1), (3, 2), (7, 5)])
def test_streamed_read_back_agrees_with_a_whole_grid_read(tmp_path, top, left):
    """Used ranges not starting at A1; cells above, left of, inside and below the range; missing sheets."""
    path = tmp_path / "w.xlsx"
    _layout_workbook(path, top, left, rows=25, cols=6, seed=top * 10 + left)
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET).to_python(skip_empty_area=False)
    rnd = random.Random(top + left)
    wanted = []
    for order in range(300):
        row, col = rnd.randint(1, top + 30), rnd.randint(0, left + 8)
        truth = safe_write._cell(grid, row, col)
        planned = truth if rnd.random() < 0.8 else "不同"
        if rnd.random() < 0.1:
            planned = safe_write._CLEARED
        wanted.append((row, col, order, planned))
    wanted.sort(key=lambda t: t[0])
    wb = CalamineWorkbook.from_path(str(path))
    streamed = safe_write._read_back(wb, SHEET, wanted)
    assert streamed == safe_write._first_bad(grid, wanted)
    assert safe_write._read_back(wb, None, wanted) == safe_write._first_bad([], wanted)
    empty_wanted = [(2, 0, 0, "x")]
    assert safe_write._read_back(wb, "空表", empty_wanted) == (0, 2, 0, "x", "")


def test_read_back_reports_the_first_wrong_cell_in_plan_order(tmp_path):
    path = _staff_sheet(tmp_path / "l.xlsx", 20)
    plan = _plan(20)
    prepared = prepare_patch(path.read_bytes(), plan)
    temp = tmp_path / "t.xlsx"
    prepared.write(temp)
    safe_write._verify(temp, path.read_bytes(), prepared, plan)  # the right plan verifies
    cells = list(plan.sheets[0].cells)
    # Two wrong cells: the later row comes first in the plan, so it is the one reported.
    cells[30] = CellWrite(cells[30].row, cells[30].column, "错一", None)
    cells[4] = CellWrite(cells[4].row, cells[4].column, "错二", None)
    cells.insert(0, cells.pop(30))
    wrong = WritePlan([SheetPlan(SHEET, cells, owned_columns=("C", "D"), clear_from_row=2)])
    with pytest.raises(VerifyFailed, match=f"{SHEET}」的 C17 应为 “错一”"):
        safe_write._verify(temp, path.read_bytes(), prepared, wrong)


def test_release_after_write_frees_contents_and_refuses_a_second_write(tmp_path):
    path = _staff_sheet(tmp_path / "l.xlsx", 10)
    prepared = prepare_patch(path.read_bytes(), _plan(10), compress_ahead=True)
    prepared.write(tmp_path / "a.xlsx")
    names = prepared.untouched_members()
    prepared.release()
    assert prepared.untouched_members() == names
    assert all(data == b"" for data in prepared._replaced.values())
    with pytest.raises(RuntimeError):
        prepared.write(tmp_path / "b.xlsx")


def test_write_safely_lists_changes_after_the_read_back(tmp_path):
    """The change list is the same as a dry run's, though it is now computed after the read-back."""
    path = _staff_sheet(tmp_path / "l.xlsx", 15)
    plan = _plan(15, style=RED)
    dry = write_safely(path, plan, dry_run=True)
    done = write_safely(path, plan, keep_backups=0)
    assert done.written
    assert [(c.sheet, c.cell, c.old, c.new, c.kind) for c in done.changes] == [
        (c.sheet, c.cell, c.old, c.new, c.kind) for c in dry.changes
    ]
    assert len(done.changes) == 30


@pytest.mark.parametrize("limit", [0, 10**9], ids=["after-read-back", "during-read-back"])
def test_changes_listed_during_or_after_the_read_back_are_the_same(tmp_path, monkeypatch, limit):
    """A small plan lists its changes while the read-back's reader parses, a big one after it: the same list."""
    path = _staff_sheet(tmp_path / "l.xlsx", 15)
    plan = _plan(15, style=RED)
    dry = write_safely(path, plan, dry_run=True)
    calls: list[str] = []
    original = safe_write._verify

    def verify(*args, meanwhile=None):
        calls.append("meanwhile" if meanwhile is not None else "none")
        return original(*args, meanwhile=meanwhile)

    monkeypatch.setattr(safe_write, "LIST_DURING_READ_BACK_MAX_CELLS", limit)
    monkeypatch.setattr(safe_write, "_verify", verify)
    done = write_safely(path, plan, keep_backups=0)
    assert calls == (["meanwhile"] if limit else ["none"])
    assert done.written and len(done.changes) == 30
    assert [(c.sheet, c.cell, c.old, c.new, c.kind) for c in done.changes] == [
        (c.sheet, c.cell, c.old, c.new, c.kind) for c in dry.changes
    ]


def test_a_failed_read_back_writes_nothing_though_the_changes_were_listed(tmp_path, monkeypatch):
    path = _staff_sheet(tmp_path / "l.xlsx", 15)
    before = path.read_bytes()
    listed: list[int] = []
    original = safe_write._verify

    def verify(temp, orig, prepared, plan, meanwhile=None):
        def spy():
            meanwhile()
            listed.append(1)

        original(temp, orig, prepared, plan, meanwhile=spy)
        raise VerifyFailed("写入后的自检未通过（测试）")

    monkeypatch.setattr(safe_write, "_verify", verify)
    with pytest.raises(Exception, match="自检未通过"):
        write_safely(path, _plan(15), keep_backups=0)
    assert listed == [1] and path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["l.xlsx"]  # no temporary file left, nothing renamed


def test_tables_handed_over_list_the_same_changes_and_are_let_go(tmp_path):
    """FileLedger hands its tables to the write: the changes are listed from them before the read-back (the same
    list a dry run gives), the ledger source holds them no more, and asking again reads the new file."""
    from datetime import date

    from toolkit.demo.ledger import build_demo_ledger
    from toolkit.jobs.ledger import new_ledger_workbook
    from toolkit.jobs.sources import FileLedger

    path = tmp_path / "台账.xlsx"
    new_ledger_workbook(path, build_demo_ledger(), today=date(2025, 4, 7))
    dry = FileLedger(path)
    plan = dry.check(date(2025, 9, 30)).plan
    listed = [(c.sheet, c.cell, c.old, c.new) for c in dry.write(plan, dry_run=True).changes]
    source = FileLedger(path)
    plan = source.check(date(2025, 9, 30)).plan
    out = source.write(plan)
    assert out.written and [(c.sheet, c.cell, c.old, c.new) for c in out.changes] == listed and listed
    assert source._tables is None
    again = source.tables  # read from the file as written
    assert again["任务清单"] is not None and source.check(date(2025, 9, 30)).plan.cell_count() > 0


def test_a_handover_gives_its_tables_once():
    handover = safe_write.TablesHandover((1, 2), {})
    assert handover.take() == {}
    with pytest.raises(RuntimeError):
        handover.take()


def test_planned_columns_only_list_the_same_changes_as_the_whole_tables(tmp_path):
    """What the write keeps of the tables handed over (owned sheets whole, the planned/owned columns of staff
    sheets) gives the same change list as the whole tables, on a ledger whose statuses, checks and 统计 change."""
    from datetime import date

    from toolkit.core.check import check_tables
    from toolkit.demo.ledger import build_demo_ledger
    from toolkit.excel.ledger_file import read_ledger_tables
    from toolkit.jobs.ledger import new_ledger_workbook

    path = tmp_path / "台账.xlsx"
    ledger = build_demo_ledger()
    ledger.tasks[3].deadline = None  # 时限待核 and an error in 【自动】校验
    new_ledger_workbook(path, ledger, today=date(2025, 4, 7))
    tables = read_ledger_tables(path)
    plan = check_tables(tables, today=date(2026, 1, 15), clock_today=date(2026, 1, 15)).plan
    prepared = prepare_patch(path.read_bytes(), plan)
    thin = safe_write._planned_columns_only(tables, plan)
    whole = safe_write._list_changes(None, plan, prepared.summary, tables)
    assert whole  # statuses and days overdue really change
    assert safe_write._list_changes(None, plan, prepared.summary, thin) == whole
    task_sheet = next(sp for sp in plan.sheets if sp.sheet == "任务清单")
    assert thin["任务清单"].width < tables["任务清单"].width and task_sheet.owned_columns


def _sheet_size(path: Path) -> int:
    with zipfile.ZipFile(path) as zf:
        return zf.getinfo("xl/worksheets/sheet1.xml").file_size


@pytest.mark.parametrize("grow", [False, True], ids=["head-unchanged", "dimension-grows"])
def test_big_sheet_deflated_while_patched_gives_the_same_package(tmp_path, grow):
    """A sheet of 256 KB or more is deflated piece by piece while it is patched (streamed). The package is
    byte-identical to one deflated after the patch; when the dimension grows the streamed head is wrong and
    the sheet is deflated from its final bytes instead (same package)."""
    from toolkit.excel.patch.apply import AHEAD_MIN_BYTES, _Packer, _StreamPacker

    path = _staff_sheet(tmp_path / "l.xlsx", 12_000)
    assert _sheet_size(path) >= 4 * AHEAD_MIN_BYTES  # several pieces of about 1 MB
    plan = _plan(12_000, style=RED)
    if grow:  # a cell right of the used range: the dimension changes at the end of the patch
        cells = [CellWrite(1, "F", "【自动】新列", None), *plan.sheets[0].cells, CellWrite(5, "F", "新值", None)]
        plan = WritePlan([SheetPlan(SHEET, cells, owned_columns=("C", "D", "F"), clear_from_row=2)])
    later = prepare_patch(path.read_bytes(), plan)
    ahead = prepare_patch(path.read_bytes(), plan, compress_ahead=True)
    packer = ahead._ahead["xl/worksheets/sheet1.xml"]
    assert isinstance(packer, _Packer if grow else _StreamPacker)
    later.write(tmp_path / "later.xlsx")
    ahead.write(tmp_path / "ahead.xlsx")
    assert (tmp_path / "ahead.xlsx").read_bytes() == (tmp_path / "later.xlsx").read_bytes()
    assert _values(tmp_path / "ahead.xlsx")[5][2] == "已逾期"


def test_a_refused_sheet_cancels_its_stream(tmp_path, monkeypatch):
    """A refusal while a big sheet is streamed stops the compressor thread; nothing is written."""
    from toolkit.excel.patch import apply

    made: list[apply._StreamPacker] = []
    real = apply._StreamPacker

    def spy() -> apply._StreamPacker:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(apply, "_StreamPacker", spy)
    path = _staff_sheet(tmp_path / "l.xlsx", 6000, merge_row=3000)
    with pytest.raises(PatchRefused, match="合并单元格"):
        prepare_patch(path.read_bytes(), _plan(6000), compress_ahead=True)
    assert len(made) == 1 and made[0].cancelled
    made[0]._thread.join(timeout=5)
    assert not made[0]._thread.is_alive()


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="glibc's malloc_trim is Linux-only")
def test_malloc_trim_found_without_running_ldconfig(monkeypatch):
    import subprocess

    def no_subprocess(*args, **kwargs):
        raise AssertionError("the C library must be found without a subprocess")

    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    monkeypatch.setattr(safe_write, "_TRIM", [])
    trim = safe_write._malloc_trim()
    import platform

    if platform.libc_ver()[0] == "glibc":
        assert trim is not None and isinstance(trim(0), int)


def _thin_by_cell(table, keep_letters):  # noqa: ANN001, ANN202 - the pre-change loop, cell by cell
    from toolkit.core.schema import column_index

    keep = sorted(j - table.first_col for j in {column_index(c) for c in keep_letters}
                  if 0 <= j - table.first_col < table.width)
    if not keep:
        return []
    lo, span = keep[0], keep[-1] + 1 - keep[0]
    rows = []
    for line in table.rows:
        thin = [None] * span
        for j in keep:
            if j < len(line):
                thin[j - lo] = line[j]
        rows.append(thin)
    return rows


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(derandomize=True, max_examples=80, deadline=None)
@given(
    st.lists(st.lists(st.one_of(st.none(), st.integers(0, 9), st.text("ab", max_size=2)), max_size=9), max_size=8),
    st.integers(0, 3),
    st.sets(st.sampled_from("ABCDEFGHIJK"), min_size=1, max_size=5),
    st.sets(st.sampled_from("ABCDEFGHIJK"), max_size=3),
)
def test_planned_columns_only_keeps_the_cells_the_per_cell_loop_kept(rows, first_col, planned, owned):
    from toolkit.core.model import Table

    table = Table("任务清单", [list(r) for r in rows], 1, first_col)
    plan = WritePlan([SheetPlan("任务清单", [CellWrite(2, c, "x", None) for c in sorted(planned)],
                                owned_columns=tuple(sorted(owned)), clear_from_row=2)])
    thin = safe_write._planned_columns_only({"任务清单": table}, plan)["任务清单"]
    assert thin.rows == _thin_by_cell(table, planned | owned)
