"""Jobs pause Python's cyclic collector while they run and always switch it back on (issue 15)."""

from __future__ import annotations

import gc

import pytest

from toolkit.core.errors import ToolkitError
from toolkit.jobs.gcpause import bulk_job, collector_paused
from toolkit.jobs.ledger import check_file


def test_collector_paused_inside_and_restored_after_nested_blocks():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block leaves it to the outermost
    assert gc.isenabled()


def test_collector_left_off_when_it_was_off_before():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failing_job_switches_the_collector_back_on(tmp_path):
    seen = []

    @bulk_job
    def job():
        seen.append(gc.isenabled())
        raise ToolkitError("坏")

    with pytest.raises(ToolkitError):
        job()
    assert seen == [False] and gc.isenabled()
    with pytest.raises(ToolkitError):
        check_file(tmp_path / "没有这个文件.xlsx")
    assert gc.isenabled()


def test_check_file_runs_with_the_collector_paused(tmp_path, monkeypatch):
    from toolkit.demo.ledger import build_demo_ledger
    from toolkit.jobs import sources

    path = tmp_path / "台账.xlsx"
    from toolkit.jobs.ledger import new_ledger_workbook

    new_ledger_workbook(path, build_demo_ledger())
    states = []
    real = sources.FileLedger.check

    def spy(self, today=None):
        states.append(gc.isenabled())
        return real(self, today)

    monkeypatch.setattr(sources.FileLedger, "check", spy)
    result = check_file(path)
    assert states == [False] and gc.isenabled()
    assert result.ledger.tasks


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_job_objects_join_the_oldest_generation_and_cycles_are_still_collected():
    import weakref

    kept = []
    with collector_paused():
        survivor = [object()]  # a tracked container that outlives the job
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a reference cycle the job leaves behind
        gone = weakref.ref(a)
        kept.append(survivor)
        del a, b
    assert gc.isenabled()
    assert any(o is survivor for o in gc.get_objects(generation=2))  # aged without a young collection
    assert gone() is not None  # nothing walked the job's objects when it ended
    gc.collect()
    assert gone() is None  # the next full collection clears the cycle


def test_objects_frozen_by_someone_else_stay_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_paused():
            _ = [[] for _ in range(10)]
        assert gc.get_freeze_count() >= frozen > 0
    finally:
        gc.unfreeze()
