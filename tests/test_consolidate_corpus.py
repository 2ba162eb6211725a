"""The calamine test corpus dropped into a county inbox: odd, broken and hostile workbooks from the wild.

Every file must come out accepted or rejected with a Chinese reason, the run must finish, and the
master may change only through accepted rows.
"""

from __future__ import annotations

import copy
import hashlib
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from toolkit import jobs as api
from toolkit.counties.consolidate import consolidate_folder
from toolkit.counties.template import make_county_templates
from toolkit.demo.counties import fill_return, stamp_saved_time
from toolkit.demo.ledger import build_demo_ledger
from toolkit.excel.read import read_workbook

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "calamine-tests"
TODAY = date(2025, 4, 7)
NOW = datetime(2025, 4, 7, 10, 0)

pytestmark = pytest.mark.requires("shared")


def _corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_file() and not p.name.startswith("LICENSE"))


@pytest.fixture
def master(tmp_path) -> Path:
    path = tmp_path / "台账.xlsx"
    api.new_ledger_workbook(path, build_demo_ledger(), today=TODAY)
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corpus_inbox_every_file_rejected_with_reason_and_only_county_states_written(master, tmp_path):
    inbox = tmp_path / "收件"
    inbox.mkdir()
    files = _corpus_files()
    for p in files:
        shutil.copy(p, inbox / p.name)
    before = {name: t.rows for name, t in read_workbook(master).items() if name != "县区"}
    result = consolidate_folder(master, inbox, today=TODAY, now=NOW, report_dir=tmp_path / "报告")
    assert len(result.files) == len(files)
    for f in result.files:
        # None of these files was issued by the toolkit: each is refused, with a reason that says what to do.
        assert f.status == "rejected", f.name
        assert f.errors and all(i.message and "请" in i.message for i in f.errors), (f.name, f.issues)
        assert f.changes == [] and f.county == ""
    # Nothing accepted: only 县区 learns this period's states (all 未报送); every other sheet as it was.
    assert result.changes == [] and {c.sheet for c in result.written.changes} == {"县区"}
    after = read_workbook(master)
    assert {name: t.rows for name, t in after.items() if name != "县区"} == before
    assert {r[3] for r in after["县区"].rows[1:]} <= {"未报送", "无需报送"}
    listing = read_workbook(result.report_path)["文件清单"].rows
    assert {r[0] for r in listing[1:]} == {p.name for p in files} and all(r[1] == "退回" for r in listing[1:])


def test_corpus_plus_one_real_return_master_changes_only_through_it(master, tmp_path):
    templates = make_county_templates(
        master, out_dir=tmp_path / "下发", today=TODAY, now=datetime(2025, 4, 1, 9), return_deadline=date(2025, 4, 5)
    )
    inbox = tmp_path / "收件"
    inbox.mkdir()
    for p in _corpus_files():
        shutil.copy(p, inbox / p.name)
    lianzhou = next(p for p in templates if "连州市" in p.name)
    good = inbox / "连州市.xlsx"
    fill_return(
        lianzhou, good, {"1-3": {"progress": "语料库中的唯一合格报送"}}, filler=("莫建国", "0763-6612345"), today=TODAY
    )
    stamp_saved_time(good, datetime(2025, 4, 4, 9))
    before = read_workbook(master)
    result = consolidate_folder(master, inbox, today=TODAY, now=NOW, report_dir=tmp_path / "报告")
    assert [f.name for f in result.accepted] == ["连州市.xlsx"]
    assert [(a.change.task_id, a.change.key, a.master_cell) for a in result.changes] == [("1-3", "progress", "D5")]
    after = read_workbook(master)
    # Staff columns of 任务清单 differ only in the one accepted cell.
    staff = len(before["任务清单"].rows[1]) - 4  # the four 【自动】 columns are the toolkit's
    diffs = [
        (i, j)
        for i, (r0, r1) in enumerate(zip(before["任务清单"].rows, after["任务清单"].rows))
        for j in range(staff)
        if r0[j] != r1[j]
    ]
    assert diffs == [(4, 3)]  # row 5, column D
    for name in ("基本信息", "问题清单", "责任清单", "通报正文"):
        assert after[name].rows == before[name].rows, name


@pytest.mark.parametrize(
    "name, as_name, code",
    [
        ("date.xls", "英德市.xls", "not-xlsx"),
        ("date.xls", "英德市.et", "not-xlsx"),
        ("date.ods", "英德市.ods", "not-xlsx"),
        ("date.xlsb", "英德市.xlsb", "not-xlsx"),
        ("vba.xlsm", "英德市.xlsm", "macro-file"),
        ("pass_protected.xlsx", "英德市.xlsx", "encrypted"),
    ],
)
def test_formats_counties_send_instead_of_xlsx(master, tmp_path, name, as_name, code):
    assert (CORPUS / name).exists(), name
    inbox = tmp_path / "收件"
    inbox.mkdir()
    shutil.copy(CORPUS / name, inbox / as_name)
    result = consolidate_folder(master, inbox, today=TODAY, now=NOW, dry_run=True)
    [f] = result.files
    assert (f.status, f.errors[0].code) == ("rejected", code)
    assert f.name_hint == "英德市" and f.county == ""


def test_copy_of_ledger_fixture_is_refused(master, tmp_path):
    """A county that mails back a whole ledger (not its template) gets told to use the template."""
    inbox = tmp_path / "收件"
    inbox.mkdir()
    other = copy.deepcopy(build_demo_ledger())
    api.new_ledger_workbook(inbox / "英德市台账.xlsx", other, today=TODAY)
    [f] = consolidate_folder(master, inbox, today=TODAY, now=NOW, dry_run=True).files
    assert f.errors[0].code == "missing-metadata"
