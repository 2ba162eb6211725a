"""Property-based invariants of the published figures, on generated ledgers.

Every task row has one status; every tally equals a recount from the rows and adds up; problem
statuses follow their tasks by one rule and 统计 counts them with the same labels; the layout of
the sheets (row order, blank rows, column order, header synonyms) changes no figure; and the
统计 sheet, 问题清单, ``--json`` and the notice's statistics sentence agree.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from conftest import PEOPLE_ROWS, PROBLEM_ROWS, SETTINGS_ROWS, TASK_HEADER, tables_from_rows
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.cli.render import result_json
from toolkit.core.check import check_ledger, check_tables
from toolkit.core.model import County, Deadline, Ledger, Problem, Settings, Task
from toolkit.core.schema import (
    BASIC_DONE_AS_DONE,
    BASIC_DONE_SEPARATE,
    LONG_TERM_AS_DONE,
    LONG_TERM_AS_OPEN,
    LONG_TERM_EXCLUDED,
    TASK_COLUMNS,
)
from toolkit.core.status import (
    NO_UNIT,
    PROBLEM_LABELS,
    UNLINKED_CATEGORY,
    Counts,
    problem_count_code,
    problem_status,
)
from toolkit.notice.context import stats_sentence

FAST = settings(derandomize=True, max_examples=60, deadline=None)
FEEDBACK = date(2024, 4, 2)
CATEGORIES = ("关于贯彻落实方面", "关于作风建设方面", "关于选人用人方面")
UNITS = ("办公室", "人事科", "英德市", "清城区", "连州市", "")
COUNTIES = ("清城区", "英德市")
STATES = ("未启动", "推进中", "已完成", "长期坚持", "基本完成", "")
DEADLINE_WORDS = ("长期", "尽快", "6月底", "2024年9月前", None)

days = st.integers(min_value=0, max_value=600).map(lambda n: FEEDBACK + timedelta(days=n))

problem_st = st.tuples(st.integers(0, 5), st.sampled_from(CATEGORIES))  # (id number, category)
task_st = st.fixed_dictionaries({
    "id": st.integers(0, 9),  # small pool: repeated ids happen
    "problem": st.integers(0, 6),  # 6: a problem that may not exist
    "unit": st.sampled_from(UNITS),
    "state": st.sampled_from(STATES),
    "deadline": st.one_of(days, st.sampled_from(DEADLINE_WORDS)),
    "extended": st.one_of(st.none(), days),
    "done": st.one_of(st.none(), days),
    "signed": st.booleans(),
})
ledger_st = st.fixed_dictionaries({
    "problems": st.lists(problem_st, min_size=1, max_size=5),
    "tasks": st.lists(task_st, min_size=0, max_size=12),
    "today": days,
    "working_days": st.booleans(),
    "rule": st.sampled_from((LONG_TERM_AS_DONE, LONG_TERM_EXCLUDED, LONG_TERM_AS_OPEN)),
    "basic_rule": st.sampled_from((BASIC_DONE_SEPARATE, BASIC_DONE_AS_DONE)),
})


def settings_rows(spec) -> list[list]:
    rows = [[k, v] for k, v in SETTINGS_ROWS if k != "预警按工作日计算"]
    return [*rows, ["预警按工作日计算", "是" if spec["working_days"] else "否"], ["长期坚持计入方式", spec["rule"]],
            ["统计截止日期", spec["today"]], ["基本完成计入方式", spec["basic_rule"]]]


def task_cells(t: dict) -> list:
    done = t["done"] if t["state"] == "已完成" else None
    signed = done + timedelta(days=3) if done and t["signed"] else None
    return [f"T{t['id']}", f"P{t['problem']}", "措施。", "", "李国强", t["unit"], "周丽", t["deadline"],
            t["extended"], t["state"], done, "佐证" if done else "", signed, "审核人" if signed else ""]


def sheets_of(spec) -> dict[str, list[list]]:
    problems = [PROBLEM_ROWS[0]] + [[f"P{n}", cat, f"问题{n}", "李国强", "办公室"] for n, cat in spec["problems"]]
    return {
        "基本信息": settings_rows(spec),
        "问题清单": problems,
        "任务清单": [TASK_HEADER] + [task_cells(t) for t in spec["tasks"]],
        "责任清单": [list(r) for r in PEOPLE_ROWS],
        "县区": [["县区名称"], *([c] for c in COUNTIES)],
    }


def check_spec(spec, sheets=None):
    return check_tables(tables_from_rows(sheets or sheets_of(spec)))


def recount(codes) -> Counts:
    c = Counts()
    for code in codes:
        c.add(code)
    return c


def figures(result) -> dict:
    """Every published figure, independent of row order and sheet layout."""
    s = result.status.stats
    return {
        "overall": s.overall, "problems": s.problems_overall, "by_category": s.by_category, "by_unit": s.by_unit,
        "by_county": s.by_county,
        "tasks": sorted((t.id, t.problem_id, t.unit, st.label) for t, st in zip(result.ledger.tasks, result.status.rows)),
        "problem_labels": sorted((p.id, ps.label) for p, ps in zip(result.ledger.problems, result.status.problem_rows)),
    }


# --- one status per row; tallies equal a recount and add up -----------------------------------------


@FAST
@given(ledger_st)
def test_every_task_row_has_one_status_and_tallies_equal_a_recount(spec):
    result = check_spec(spec)
    ledger, status = result.ledger, result.status
    assert len(status.rows) == len(ledger.tasks) == len(spec["tasks"])
    assert len({s.key for s in status.rows}) == len(status.rows)
    assert all(status.of(t) is s for t, s in zip(ledger.tasks, status.rows))
    category_of: dict[str, str] = {}
    for p in ledger.problems:
        category_of.setdefault(p.id, p.category)
    groups: dict[tuple[str, str], list[str]] = {}
    for t, s in zip(ledger.tasks, status.rows):
        groups.setdefault(("category", category_of.get(t.problem_id, UNLINKED_CATEGORY)), []).append(s.code)
        groups.setdefault(("unit", t.unit or NO_UNIT), []).append(s.code)
        if t.unit in COUNTIES:
            groups.setdefault(("county", t.unit), []).append(s.code)
    stats = status.stats
    rule = (ledger.settings.long_term_rule, ledger.settings.basic_done_rule)
    assert stats.overall == recount(s.code for s in status.rows).finish(*rule)
    for (kind, name), codes in groups.items():
        table = {"category": stats.by_category, "unit": stats.by_unit, "county": stats.by_county}[kind]
        assert table[name] == recount(codes).finish(*rule), (kind, name)
    for name, counts in stats.by_category.items():
        assert counts.total == len(groups.get(("category", name), []))
    all_counts = [stats.overall, stats.problems_overall, *stats.by_category.values(), *stats.by_unit.values(),
                  *stats.by_county.values()]
    assert all(c.parts_add_up() for c in all_counts)
    assert sum(c.total for c in stats.by_category.values()) == stats.overall.total
    assert sum(c.total for c in stats.by_unit.values()) == stats.overall.total
    assert stats.problems_overall.total == len(ledger.problems)


@FAST
@given(ledger_st)
def test_problem_statuses_follow_their_tasks_and_stats_count_the_same_labels(spec):
    result = check_spec(spec)
    ledger, status = result.ledger, result.status
    for p, ps in zip(ledger.problems, status.problem_rows):
        own = [s for t, s in zip(ledger.tasks, status.rows) if t.problem_id == p.id]
        assert ps == problem_status(p.id, own)
    labels = [ps.label for ps in status.problem_rows]
    p = status.stats.problems_overall
    label_of = {problem_count_code(ps): ps.label for ps in status.problem_rows}
    assert recount(problem_count_code(ps) for ps in status.problem_rows).finish(ledger.settings.long_term_rule,
                                                                                 ledger.settings.basic_done_rule) == p
    assert (p.done, p.overdue, p.due_soon, p.unclear, p.long_term, p.on_track) == tuple(
        labels.count(PROBLEM_LABELS[k]) for k in ("done", "overdue", "due_soon", "deadline_unclear", "long_term",
                                                  "open"))
    assert all(PROBLEM_LABELS[ps.code] == label_of[problem_count_code(ps)] for ps in status.problem_rows)


# --- layout changes no figure ------------------------------------------------------------------------


SYNONYM = {c.header: c.synonyms[0] for c in TASK_COLUMNS if c.synonyms}


NOTES = ("注：以上任务由办公室汇总。", "说明：时限以党组会议确定为准", "制表人：张三", "填表说明：请按月更新")


@FAST
@given(ledger_st, st.randoms(use_true_random=False), st.booleans(), st.booleans(), st.integers(0, 3),
       st.sampled_from((None, *NOTES)))
def test_row_order_blank_rows_column_order_and_synonyms_change_no_figure(spec, rnd, reorder, synonyms, blanks, note):
    sheets = sheets_of(spec)
    base = figures(check_spec(spec, sheets))
    header, *rows = sheets["任务清单"]
    rows = rows[:]
    rnd.shuffle(rows)
    for _ in range(blanks):
        rows.insert(rnd.randint(0, len(rows)), [None] * len(header))
    if note is not None:  # a footer note under the table: never a task, never counted
        rows.append([note] + [None] * (len(header) - 1))
    order = list(range(len(header)))
    if reorder:
        rnd.shuffle(order)
    if synonyms:
        header = [SYNONYM.get(h, h) for h in header]
    sheets["任务清单"] = [[r[j] for j in order] for r in [header, *rows]]
    assert figures(check_spec(spec, sheets)) == base


# --- the 统计 sheet, 问题清单, --json and the notice agree -----------------------------------------------


def stats_blocks(result) -> dict[str, dict[str, list]]:
    """统计 sheet plan → {block title: {name: [B…K values]}}."""
    grid = result.plan.as_grid()["统计"]
    rows: dict[int, dict[str, object]] = {}
    for (r, col), (v, _) in grid.items():
        rows.setdefault(r, {})[col] = v
    blocks: dict[str, dict[str, list]] = {}
    current = None
    for r in sorted(rows):
        cells = rows[r]
        a = cells.get("A")
        if a in ("总体情况", "按问题方面", "按责任单位", "按县（市、区）"):
            current = blocks.setdefault(a, {})
        elif isinstance(a, str) and a.startswith("逾期任务清单"):
            current = None
        elif current is not None and not isinstance(cells.get("B"), str):
            current[a] = [cells.get(c) for c in "BCDEFGHIJKL"]
    return blocks


def as_row(c: Counts, basic: bool = False) -> list:
    """A 统计 row B…L; L (基本完成) is written only in ledgers that use 基本完成."""
    return [c.total, c.done, c.done_late, c.signed_off, c.open, c.due_soon, c.overdue, c.long_term, c.rate, c.unclear,
            c.basic_done if basic else None]


def json_row(c: dict, basic: bool = False) -> list:
    return [c[k] for k in ("total", "done", "done_late", "signed_off", "open", "due_soon", "overdue", "long_term",
                           "rate", "unclear")] + [c["basic_done"] if basic else None]


@FAST
@given(ledger_st)
def test_stats_sheet_problem_column_json_and_notice_sentence_agree(spec):
    result = check_spec(spec)
    stats = result.status.stats
    blocks = stats_blocks(result)
    payload = result_json(result)["stats"]
    b = stats.overall.basic_done > 0
    assert blocks["总体情况"]["整改措施"] == as_row(stats.overall, b) == json_row(payload["overall"], b)
    assert blocks["总体情况"]["反馈问题"] == as_row(stats.problems_overall, b) == json_row(payload["problems"], b)
    for title, key, table in (("按问题方面", "by_category", stats.by_category), ("按责任单位", "by_unit", stats.by_unit),
                              ("按县（市、区）", "by_county", stats.by_county)):
        assert blocks[title] == {k: as_row(v, b) for k, v in table.items()}
        assert {k: json_row(v, b) for k, v in payload[key].items()} == blocks[title]
    # 问题清单's 【自动】整改状态 column, recounted by label.
    grid = result.plan.as_grid()["问题清单"]
    header_row = result.ledger.layout.header_rows["问题清单"]
    letter = next(col for (r, col), (v, _) in grid.items() if r == header_row and v == "【自动】整改状态")
    labels = [grid[(p.row, letter)][0] for p in result.ledger.problems]
    n = {label: labels.count(label) for label in PROBLEM_LABELS.values()}
    row = blocks["总体情况"]["反馈问题"]
    assert row[0] == len(labels)
    assert (row[1], row[5], row[6], row[7], row[9]) == (n["已完成"], n["临期"], n["逾期"], n["长期坚持"], n["时限待核"])
    assert row[4] == len(labels) - n["已完成"] - n["长期坚持"] - n["基本完成"]
    assert row[10] == (n["基本完成"] if b else None)
    # The notice's statistics sentence: total, done and open as 问题清单 shows them.
    s = result.ledger.settings
    sentence = stats_sentence(s, result.status, today=result.today)
    total = len(labels)
    assert f"反馈的{total}个问题中" in sentence
    basic = n["基本完成"]
    done, long_term, open_ = n["已完成"], n["长期坚持"], total - n["已完成"] - n["长期坚持"] - basic
    done += basic if s.basic_done_rule == BASIC_DONE_AS_DONE else 0
    shown_done = done + long_term if s.long_term_rule == LONG_TERM_AS_DONE else done
    shown_open = open_ + long_term if s.long_term_rule == LONG_TERM_AS_OPEN else open_
    assert re.search(rf"{s.word_done}{shown_done}个", sentence)
    assert re.search(rf"{s.word_open}{shown_open}个", sentence)


# --- the same invariants on ledgers built as model objects -------------------------------------------


@FAST
@given(ledger_st)
def test_model_built_ledgers_tally_rows(spec):
    ledger = Ledger(settings=Settings(feedback_date=FEEDBACK, working_days=spec["working_days"],
                                      long_term_rule=spec["rule"], basic_done_rule=spec["basic_rule"]))
    ledger.problems = [Problem(f"P{n}", cat, f"问题{n}") for n, cat in spec["problems"]]
    ledger.counties = [County(c) for c in COUNTIES]
    for t in spec["tasks"]:
        d = t["deadline"]
        deadline = Deadline(d) if isinstance(d, date) else Deadline(None, "long_term", "长期") if d == "长期" else \
            None if d is None else Deadline(None, "invalid", d)
        done = t["done"] if t["state"] == "已完成" else None
        ledger.tasks.append(Task(f"T{t['id']}", f"P{t['problem']}", "措施。", unit=t["unit"], deadline=deadline,
                                 extended_deadline=t["extended"], state=t["state"], completed_on=done))
    result = check_ledger(ledger, today=spec["today"])
    stats = result.status.stats
    assert len(result.status.rows) == len(ledger.tasks)
    assert stats.overall == recount(s.code for s in result.status.rows).finish(spec["rule"], spec["basic_rule"])
    assert sum(c.total for c in stats.by_category.values()) == stats.overall.total
    assert all(c.parts_add_up() for c in (stats.overall, stats.problems_overall, *stats.by_unit.values()))
    blocks = stats_blocks(result)
    assert blocks["总体情况"]["整改措施"] == as_row(stats.overall, stats.overall.basic_done > 0)
    assert set(blocks["按责任单位"]) == set(stats.by_unit)
