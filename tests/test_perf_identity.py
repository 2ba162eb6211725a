"""Issue 15's optimisations keep every output byte-identical to the pre-change code.

``tests/perf_reference/`` holds frozen copies of the pre-change patcher, change listing
(safe_write) and pre-check. Each test runs the old and the new code on the same real files and
compares what they produce: the patched package's bytes, the patch summary, the listed changes,
the pre-check's facts, and a whole consolidation (worker pool, zip probe in the worker, tables
passed to the write) against the old pipeline's write of the same plan.
"""

from __future__ import annotations

import copy
import importlib
import random
import shutil
import string
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

import pytest
from conftest import COUNTY_TODAY
from fidelity_workbook import build_big_sheet, build_fidelity_workbook
from perf_reference import safe_write as ref_safe_write
from perf_reference.patch import prepare_patch as ref_prepare_patch

from toolkit import jobs as api
from toolkit.core.check import check_tables
from toolkit.core.plan import CellStyle, CellWrite, SheetPlan, WritePlan
from toolkit.demo.counties import fill_return, stamp_saved_time
from toolkit.demo.ledger import build_demo_ledger
from toolkit.excel import safe_write
from toolkit.excel.ledger_file import read_ledger_tables
from toolkit.excel.patch import prepare_patch

ref_precheck = importlib.import_module("perf_reference.untrusted.precheck")
new_precheck = importlib.import_module("toolkit.excel.untrusted.precheck")

DATES = [date(2025, 4, 7), date(2025, 6, 30), date(2026, 1, 15)]


def _changes(changes) -> list[tuple]:
    return [(c.sheet, c.cell, c.old, c.new, c.kind) for c in changes]


def _assert_same_patch(blob: bytes, plan: WritePlan, tables, tmp_path: Path) -> None:
    old = ref_prepare_patch(blob, plan)
    new = prepare_patch(blob, plan)
    assert asdict(new.summary) == asdict(old.summary)
    assert new._replaced == old._replaced and new._added == old._added and new._removed == old._removed
    old.write(tmp_path / "old.xlsx")
    new.write(tmp_path / "new.xlsx")
    assert (tmp_path / "new.xlsx").read_bytes() == (tmp_path / "old.xlsx").read_bytes()
    # Worksheets deflated ahead in the background (the write path) give the same bytes.
    ahead = prepare_patch(blob, plan, compress_ahead=True)
    ahead.write(tmp_path / "ahead.xlsx")
    assert (tmp_path / "ahead.xlsx").read_bytes() == (tmp_path / "old.xlsx").read_bytes()
    assert asdict(ahead.summary) == asdict(old.summary)
    names = [s.sheet for s in plan.sheets]
    expected = ref_safe_write._list_changes(ref_safe_write._plan_grids(blob, plan, tables), plan, old.summary)
    # From the tables already read (the status and consolidation paths) ...
    assert _changes(safe_write._list_changes(None, plan, new.summary, tables)) == _changes(expected)
    # ... and from a calamine read of the bytes (no tables at hand).
    from_file = ref_safe_write._list_changes(ref_safe_write._grids(blob, names), plan, old.summary)
    assert _changes(safe_write._list_changes(safe_write._grids(blob, names), plan, new.summary)) == _changes(from_file)


def _ledger_file(tmp_path: Path, n_rounds: int) -> Path:
    """The demo ledger with its tasks repeated ``n_rounds`` times under renumbered ids."""
    demo = build_demo_ledger()
    ledger = copy.deepcopy(demo)
    ledger.problems, ledger.tasks = [], []
    for r in range(n_rounds):
        for p in demo.problems:
            q = copy.copy(p)
            q.id = f"{r + 1}.{p.id}" if r else p.id
            ledger.problems.append(q)
        for t in demo.tasks:
            u = copy.copy(t)
            u.problem_id = f"{r + 1}.{t.problem_id}" if r else t.problem_id
            u.id = f"{r + 1}.{t.id}" if r else t.id
            ledger.tasks.append(u)
    path = tmp_path / f"ledger_{n_rounds}.xlsx"
    api.new_ledger_workbook(path, ledger, today=date(2025, 4, 7))
    return path


@pytest.mark.parametrize("rounds", [1, 6])
def test_status_patch_and_change_listing_identical_to_pre_change_code(tmp_path, rounds):
    path = _ledger_file(tmp_path, rounds)
    tables = read_ledger_tables(path)
    blob = path.read_bytes()
    for day in DATES:
        result = check_tables(tables, today=day, source=path.name)
        _assert_same_patch(blob, result.plan, tables, tmp_path)


def test_second_status_run_on_patched_output_identical_to_pre_change_code(tmp_path):
    """The fast path's case: most planned cells already hold their value (bytes and value unchanged)."""
    path = _ledger_file(tmp_path, 3)
    first = check_tables(read_ledger_tables(path), today=date(2025, 6, 30)).plan
    prepare_patch(path.read_bytes(), first).write(tmp_path / "once.xlsx")
    once = tmp_path / "once.xlsx"
    tables = read_ledger_tables(once)
    for day in DATES:
        _assert_same_patch(once.read_bytes(), check_tables(tables, today=day).plan, tables, tmp_path)


def test_fidelity_workbook_patch_identical_to_pre_change_code(tmp_path):
    """Styles, rich text, comments, merged cells, an owned sheet and owned columns being cleared."""
    path = build_fidelity_workbook(tmp_path / "fidelity.xlsx", rows=30, problems=True)
    tables = read_ledger_tables(path)
    blob = path.read_bytes()
    for day in DATES:
        _assert_same_patch(blob, check_tables(tables, today=day).plan, tables, tmp_path)


def test_owned_columns_cleared_and_styled_cells_identical_to_pre_change_code(tmp_path):
    """Cleared owned cells, planned cells equal in value but with a new style, equal numbers as int/float/bool."""
    path = build_big_sheet(tmp_path / "big.xlsx", rows=400, cols=8, owned=3)
    tables = read_ledger_tables(path)
    sheet = next(iter(tables))
    table = tables[sheet]
    header_row = table.first_row
    owned = [c for c in "FGH"]
    red = CellStyle(fill="FFC7CE", font_color="9C0006")
    cells = []
    for r in range(header_row + 1, header_row + 300, 2):  # every other row: the rest are cleared
        row = table.rows[r - table.first_row]
        old = row[5] if len(row) > 5 else None
        cells.append(CellWrite(r, "F", old, red if r % 6 == 1 else None))
        cells.append(CellWrite(r, "G", 1 if r % 4 == 1 else True, None))
        cells.append(CellWrite(r, "H", 1.0 if r % 3 else None, None))
    plan = WritePlan([SheetPlan(sheet, cells, owned_columns=owned, clear_from_row=header_row + 1)])
    blob = path.read_bytes()
    _assert_same_patch(blob, plan, tables, tmp_path)
    prepare_patch(blob, plan).write(tmp_path / "once.xlsx")
    again = (tmp_path / "once.xlsx").read_bytes()
    _assert_same_patch(again, plan, read_ledger_tables(tmp_path / "once.xlsx"), tmp_path)


def test_write_safely_output_and_changes_identical_to_pre_change_code(tmp_path):
    path = _ledger_file(tmp_path, 4)
    now = datetime(2025, 7, 1, 9)
    a, b = tmp_path / "a" / path.name, tmp_path / "b" / path.name
    for dst in (a, b):
        dst.parent.mkdir()
        shutil.copy2(path, dst)
    st = a.stat()
    tables = read_ledger_tables(a)
    plan = check_tables(tables, today=date(2025, 6, 30)).plan
    new = safe_write.write_safely(a, plan, now=now, read_as=((st.st_size, st.st_mtime_ns), tables))
    old = ref_safe_write.write_safely(b, plan, now=now)
    assert new.written and old.written
    assert a.read_bytes() == b.read_bytes()
    assert _changes(new.changes) == _changes(old.changes)


# ----------------------------------------------------------------------------- pre-check


def _full_extent(seg: bytes) -> tuple[int, int]:
    rows = ref_precheck._ROW_NUMBERS.findall(seg)
    letters = ref_precheck._COL_LETTERS.findall(seg)
    return new_precheck._full_extent(rows, letters)


def test_precheck_reference_extent_equals_findall_over_every_reference():
    """Random segments: out-of-order rows, lower-case and over-long letters, leading zeros, both quotes."""
    rnd = random.Random(15)
    for _ in range(3000):
        parts = []
        for _ in range(rnd.randint(0, 30)):
            alphabet = string.ascii_letters[: rnd.choice([3, 26, 52])]
            letters = "".join(rnd.choice(alphabet) for _ in range(rnd.choice([0, 1, 1, 2, 3, 5])))
            number = str(rnd.randint(0, 10 ** rnd.randint(1, 8))).zfill(rnd.choice([1, 1, 1, 4]))
            q = rnd.choice(['"', "'"])
            parts.append(f"<c r={q}{letters}{number}{q}/>" if rnd.random() < 0.8 else f'<row r="{number}">')
            if rnd.random() < 0.2:
                parts.append("x" * rnd.randint(0, 5000))
        seg = "".join(parts).encode()
        assert new_precheck._ref_extent(seg) == _full_extent(seg), seg[:300]


def test_precheck_plainly_within_look_ahead_turns_away_only_references_within_both():
    """The fast look-ahead of the candidate check: the references it finds beyond (row, column) are exactly those
    of the alternatives alone, for candidates and references around every boundary (digits, each digit position,
    letters, case, quotes, leading zeros)."""
    import re


    rnd = random.Random(16)
    for _ in range(400):
        n = rnd.choice([1, 7, 9, 10, 99, 100, 950, 9502, 10002, 24877, 49400, 99999, 100002,
                        rnd.randint(1, 2_000_000)])
        top = rnd.choice([b"A", b"C", b"S", b"Z", b"AB", b"a"])
        alone = re.compile(new_precheck._REF_START + b"(?:" + new_precheck._letters_above(top) + b"|"
                           + new_precheck._number_above(n) + b")")
        fast = new_precheck._greater_ref(n, top)
        refs = []
        for _ in range(60):
            letters = rnd.choice(["A", "B", "S", "T", "Z", "AA", "s", "t", "", "ABC"])
            row = max(0, n + rnd.randint(-3, 3)) if rnd.random() < 0.5 else rnd.randint(0, 10 * n + 10)
            number = str(row).zfill(rnd.choice([1, 1, len(str(n)), len(str(n)) + 1]))
            if rnd.random() < 0.3:  # as many digits as n, the same as n up to a random position
                cut = rnd.randint(0, len(str(n)))
                number = str(n)[:cut] + "".join(rnd.choice(string.digits) for _ in str(n)[cut:])
            q = rnd.choice(['"', "'"])
            refs.append(f"<c r={q}{letters}{number}{q}/>")
        seg = "".join(refs).encode()
        spans = [m.span() for m in fast.finditer(seg)]
        assert spans == [m.span() for m in alone.finditer(seg)], (n, top, seg[:200])
        for m in fast.finditer(seg):
            ref = re.match(rb"[\"']([A-Za-z]*)(\d+)", seg[m.start() + 3 :])
            letters, digits = ref.group(1).upper().decode(), ref.group(2)
            beyond_col = len(letters) > len(top) or (len(letters) == len(top) and letters > top.upper().decode())
            longer = len(digits) > len(str(n))  # leading zeros count as beyond: only a full count follows
            assert int(digits) > n or longer or beyond_col, (n, top, ref.group(0))


def test_precheck_stray_far_cell_before_the_last_rows_still_found():
    """A cell at XFD1048576 in the middle (rows no longer ascending) is caught as before."""
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c></row>' for r in range(1, 3000))
    seg = (rows[:40000] + '<c r="XFD1048576"><v>1</v></c>' + rows[40000:]).encode()
    assert new_precheck._ref_extent(seg) == _full_extent(seg) == (1048576, 16383)


def test_precheck_facts_identical_to_pre_change_code(tmp_path, monkeypatch):
    from toolkit.excel import read

    monkeypatch.setattr(read, "STAGED_MIN_SHEET_BYTES", 0)  # the two-step pre-check on these small files too
    files = [_ledger_file(tmp_path, 3), build_fidelity_workbook(tmp_path / "f.xlsx", rows=30)]
    for path in files:
        for limits in ({}, {"max_rows": 1_048_576, "max_cols": 16_384, "max_cells": 20_000_000}):
            old = ref_precheck.precheck(path, **limits)
            new = new_precheck.precheck(path, **limits)
            old.seconds = new.seconds = 0.0
            # error_parts is a fact the pre-change code did not collect (it lets the reader skip a second
            # decompression), the formula-free sheets are asked for by the reader workers only (precheck(formulas=
            # True)), and the rest of the new fields serve the two-step pre-check; every fact the pre-change code
            # did collect is identical.
            added = {"error_parts", "formula_free", "_formula_seen", "largest_sheet", "pending", "_limits"}
            facts = vars(new)
            assert set(facts) - set(vars(old)) == added
            assert {k: v for k, v in facts.items() if k not in added} == vars(old)
            # In two steps (largest sheet first, then the rest): the same facts once finished.
            staged = new_precheck.precheck(path, largest_sheet_first=True, **limits)
            assert staged.largest_sheet and staged.pending
            new_precheck.finish_precheck(staged)
            staged.seconds = 0.0
            two = dict(vars(staged), oversized_dimensions=sorted(staged.oversized_dimensions))
            one = dict(facts, oversized_dimensions=sorted(new.oversized_dimensions))
            for key in ("largest_sheet", "pending", "_limits"):
                two.pop(key), one.pop(key)
            assert two == one


def _random_numbers_workbook(path: Path, rows: int) -> Path:
    """A sheet of random numbers: its XML compresses poorly, so the pre-check gets it in many small chunks."""
    import xlsxwriter

    rnd = random.Random(7)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("任务清单")
    for r in range(rows):
        ws.write_row(r, 0, [rnd.random() for _ in range(6)])
    wb.close()
    return path


@pytest.mark.parametrize("segment", [150 * 1024, 400 * 1024])
def test_precheck_facts_identical_with_many_segments(tmp_path, monkeypatch, segment):
    """A part scanned in segments of several chunks (each cut at its last '<'): the same facts as the pre-change
    code, and a far cell in a middle segment refused with the same message."""
    from fidelity_workbook import rewrite_members

    path = _random_numbers_workbook(tmp_path / "n.xlsx", 12000)
    flushed: list[int] = []
    real_flush = new_precheck._XmlScan._flush

    def counting_flush(self):  # noqa: ANN001, ANN202
        flushed.append(len(self.pieces))
        return real_flush(self)

    monkeypatch.setattr(new_precheck, "_SEGMENT", segment)
    monkeypatch.setattr(new_precheck._XmlScan, "_flush", counting_flush)
    old = ref_precheck.precheck(path)
    new = new_precheck.precheck(path)
    old.seconds = new.seconds = 0.0
    assert {k: v for k, v in vars(new).items() if k in vars(old)} == vars(old)
    assert len(flushed) > 3 and max(flushed) > 1  # segments of several chunks really were cut

    for tenth in range(1, 10):  # a far cell anywhere in the part is found, whatever segment it falls in

        def far_cell(xml: bytes, tenth: int = tenth) -> bytes:
            i = xml.find(b"<row ", len(xml) * tenth // 10)
            return xml[:i] + b'<c r="XFD1048576"><v>1</v></c>' + xml[i:]

        bad = tmp_path / f"far{tenth}.xlsx"
        shutil.copy(path, bad)
        rewrite_members(bad, {"xl/worksheets/sheet1.xml": far_cell})
        with pytest.raises(Exception) as old_exc:
            ref_precheck.precheck(bad)
        with pytest.raises(Exception) as new_exc:
            new_precheck.precheck(bad)
        assert str(new_exc.value) == str(old_exc.value) and "超出" in str(new_exc.value)


# ----------------------------------------------------------------------------- consolidation


def test_consolidation_identical_to_pre_change_pipeline(issued, tmp_path):
    """One worker pool + probe in the worker + tables passed to the write == batches + probe in the parent + re-read."""
    from toolkit.counties.consolidate import consolidate_folder
    from toolkit.counties.returns import probe_zip
    from toolkit.excel.untrusted import read_many_untrusted, stream_read_untrusted

    master, templates = issued
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    edits = {"清新区": {"2-3": {"progress": "已完工5个项目。"}}, "连州市": {"1-3": {"progress": "新进展"}}}
    for county, change in edits.items():
        dest = fill_return(templates[county], inbox / f"{county}.xlsx", change, filler=("张三", "0763-1234567"),
                           today=COUNTY_TODAY)
        stamp_saved_time(dest, datetime(2025, 4, 4, 10))
    (inbox / "坏文件.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    paths = sorted(inbox.glob("*.xlsx"))
    old_reads = read_many_untrusted(paths, workers=2)
    new_reads = dict(stream_read_untrusted(paths, workers=2, post="toolkit.counties.returns:probe_zip"))
    assert list(new_reads) == paths
    for p in paths:
        old, new = old_reads[p], new_reads[p]
        if isinstance(old, Exception):
            assert (type(new), str(new), new.code) == (type(old), str(old), old.code)
        else:
            assert new == (old, probe_zip(p, tuple(old)))

    now = datetime(2025, 4, 7, 10)
    a, b = tmp_path / "a" / "台账.xlsx", tmp_path / "b" / "台账.xlsx"
    for dst in (a, b):
        dst.parent.mkdir()
        shutil.copy2(master, dst)
    kw = {"today": COUNTY_TODAY, "now": now, "report_dir": tmp_path / "报告"}
    new_result = consolidate_folder(a, inbox, **kw)
    planned = consolidate_folder(b, inbox, dry_run=True, **kw)
    old_written = ref_safe_write.write_safely(b, planned.plan, now=now)
    assert new_result.written.written and old_written.written
    assert a.read_bytes() == b.read_bytes()
    assert _changes(new_result.written.changes) == _changes(old_written.changes)
    assert [(f.name, f.accepted, [i.message for i in f.issues]) for f in new_result.files] == [
        (f.name, f.accepted, [i.message for i in f.issues]) for f in planned.files
    ]
