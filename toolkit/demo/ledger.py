"""The demo ledger: the reference notice (清远市公路事务中心, 2025) turned back into ledger data.

The notice text shipped in ``toolkit/data/reference_notice.txt`` is parsed into categories,
problems, measures (lead sentence + progress narrative) and the section 一/三 paragraphs;
deadlines, units, people and completion states are assigned here so that, as of the notice
date 2025-04-07, the ledger shows every status the toolkit knows. Pure data: no Excel.
"""

from __future__ import annotations

import re
from datetime import date
from importlib import resources

from toolkit.core.model import County, Deadline, Ledger, NoticeParagraph, Person, Problem, Settings, Task
from toolkit.core.schema import QINGYUAN_COUNTIES

ORDINALS = "一二三四五六七八九十"
_MEASURE_RE = re.compile(rf"^([{ORDINALS}]+)是(.*)$")
_CATEGORY_RE = re.compile(rf"^（([{ORDINALS}]+)）(.*)$")
_PROBLEM_RE = re.compile(r"^(\d+)\.(.*)$")
_INLINE_ITEM_RE = re.compile(rf"(?<=。)([{ORDINALS}])是")

DEMO_AS_OF = date(2025, 4, 7)


def reference_notice_text() -> str:
    """The published reference notice as plain text (one paragraph per line)."""
    return resources.files("toolkit.data").joinpath("reference_notice.txt").read_text("utf-8")


def split_lead(text: str) -> tuple[str, str]:
    """Split a measure paragraph into its lead sentence (up to the first 。 outside brackets) and the rest."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "《“（(":
            depth += 1
        elif ch in "》”）)" and depth:
            depth -= 1
        elif ch == "。" and depth == 0:
            return text[: i + 1], text[i + 1 :]
    return text, ""


def parse_reference_notice(text: str | None = None) -> dict:
    """Parse the reference notice into plain dicts: intro, section 一/二/三 content and contacts."""
    text = reference_notice_text() if text is None else text
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln.replace("[bookmark: _GoBack]", "") for ln in lines if ln.strip()]
    out: dict = {"title": lines[0] + lines[1], "categories": [], "problems": [], "measures": []}
    out["intro"] = lines[2]
    section = ""
    category = ""
    problem_no = 0
    for ln in lines[3:]:
        if ln.startswith("一、"):
            section = "一"
            continue
        if ln.startswith("二、"):
            section = "二"
            continue
        if ln.startswith("三、"):
            section = "三"
            continue
        if ln.startswith("欢迎广大干部群众"):
            out["closing"] = ln
            section = "closing"
            continue
        if section == "closing":
            if re.match(r"^\d{4}年\d+月\d+日$", ln):
                out["date_line"] = ln
            else:
                out["signature"] = ln
            continue
        if section == "一":
            pieces = _INLINE_ITEM_RE.split(ln)
            paras = [NoticeParagraph("一", 0, "", pieces[0])]
            for k in range(1, len(pieces), 2):
                lead, rest = split_lead(pieces[k + 1])
                paras.append(NoticeParagraph("一", len(paras), lead, rest))
            out["section1"] = paras
        elif section == "二":
            if m := _CATEGORY_RE.match(ln):
                category = m.group(2)
                out["categories"].append(category)
            elif m := _PROBLEM_RE.match(ln):
                problem_no = int(m.group(1))
                out["problems"].append({"no": problem_no, "category": category, "title": m.group(2)})
            elif m := _MEASURE_RE.match(ln):
                lead, rest = split_lead(m.group(2))
                out["measures"].append({"problem": problem_no, "lead": lead, "progress": rest})
            else:
                raise ValueError(f"unexpected line in section 二: {ln[:30]}")
        elif section == "三":
            paras = out.setdefault("section3", [])
            if m := _CATEGORY_RE.match(ln):
                lead, rest = split_lead(m.group(2))
                paras.append(NoticeParagraph("三", len(paras), lead, rest))
            else:
                paras.append(NoticeParagraph("三", len(paras), "", ln))
    return out


# Who answers for what: (leader, lead department) per problem, in the center's real structure.
_LEADERS = ["李国强", "陈建华", "黄志明", "刘晓东", "吴海燕"]
_DEPARTMENTS = {
    "办公室": "周丽",
    "党建工作部": "梁文",
    "财务审计部": "何敏",
    "人事科": "邓晓红",
    "建设管理科": "冯志强",
    "养护管理科": "谭伟",
    "安全应急科": "罗斌",
    "规划计划科": "朱明辉",
    "公路应急抢险中心": "郑卫东",
}
_PROBLEM_OWNERS: dict[int, tuple[int, str]] = {
    1: (0, "党建工作部"), 2: (1, "建设管理科"), 3: (1, "养护管理科"), 4: (0, "办公室"),
    5: (2, "财务审计部"), 6: (0, "党建工作部"), 7: (3, "安全应急科"), 8: (2, "财务审计部"),
    9: (2, "财务审计部"), 10: (4, "人事科"), 11: (0, "办公室"), 12: (4, "人事科"),
    13: (0, "党建工作部"), 14: (1, "规划计划科"), 15: (2, "财务审计部"), 16: (4, "人事科"),
}
_COUNTY_PEOPLE = {
    "清城区": "陈志勇", "清新区": "林少华", "英德市": "黄伟明", "连州市": "莫建国",
    "佛冈县": "朱国华", "阳山县": "欧阳平", "连山壮族瑶族自治县": "韦文辉", "连南瑶族自治县": "唐小林",
}

D = date
LONG = "长期坚持"
# Task-specific overrides: task id → (unit, deadline, extended, state, completed_on, signed_off_on).
# Everything not listed is done on time and signed off (most of the notice reports finished work).
_SPECIAL: dict[str, tuple] = {
    # 1-3: G234/G323/G358 road works — delegated to 连州市, still in progress, deadline far ahead.
    "1-3": ("连州市", D(2025, 12, 31), None, "推进中", None, None),
    "1-1": ("党建工作部", LONG, None, "长期坚持", None, None),
    # 2-1: 广清大道 — long programme, on schedule.
    "2-1": ("建设管理科", D(2025, 6, 30), None, "推进中", None, None),
    # 2-2: acceptance of G107 bridge — deadline extended, near the extended deadline.
    "2-2": ("英德市", D(2024, 12, 31), D(2025, 4, 15), "推进中", None, None),
    # 2-3: 7 road-surface projects: overdue (deadline 2025-03-31 passed).
    "2-3": ("清新区", D(2025, 3, 31), None, "推进中", None, None),
    "3-1": ("阳山县", D(2025, 4, 11), None, "推进中", None, None),  # near deadline
    "3-2": ("养护管理科", D(2024, 6, 30), None, "已完成", D(2024, 12, 31), None),  # done late
    "3-3": ("连州市", D(2024, 9, 30), None, "已完成", D(2024, 9, 20), None),  # done, not yet signed off
    "4-1": ("办公室", LONG, None, "长期坚持", None, None),
    "6-1": ("党建工作部", LONG, None, "长期坚持", None, None),
    "7-1": ("佛冈县", D(2025, 3, 20), None, "推进中", None, None),  # overdue
    "9-2": ("财务审计部", D(2024, 12, 31), None, "已完成", D(2025, 1, 10), D(2025, 2, 20)),  # late, signed off
    "13-1": ("党建工作部", LONG, None, "长期坚持", None, None),
    "13-2": ("阳山县", D(2025, 6, 30), None, "推进中", None, None),
    "13-4": ("清城区", D(2025, 6, 30), None, "未启动", None, None),
    "14-1": ("规划计划科", LONG, None, "长期坚持", None, None),
    "14-2": ("连南瑶族自治县", D(2025, 12, 31), None, "推进中", None, None),
    "16-1": ("人事科", D(2025, 4, 16), None, "推进中", None, None),  # near (working days)
}
_DONE_DEADLINES = [D(2024, 6, 30), D(2024, 9, 30), D(2024, 12, 31)]


def build_demo_ledger() -> Ledger:
    """The demo ledger as plain data (deterministic)."""
    ref = parse_reference_notice()
    phone = re.search(r"电话([\d-]+)", ref["closing"]).group(1)
    address = re.search(r"邮政地址：([^；;]+)", ref["closing"]).group(1)
    email = re.search(r"电子邮箱([\w.@-]+?)。?$", ref["closing"]).group(1)
    settings = Settings(
        unit_name="清远市公路事务中心",
        unit_short="市公路事务中心",
        party_group="中共清远市公路事务中心党组",
        deployer="市委",
        inspection_round="八届市委第四轮巡察",
        inspection_group="市委第二巡察组",
        inspection_start=D(2023, 9, 13),
        inspection_end=D(2023, 12, 27),
        feedback_date=D(2024, 4, 2),
        as_of=DEMO_AS_OF,
        warning_days=7,
        working_days=True,
        notice_date=D(2025, 4, 7),
        public_days=30,
        phone=phone,
        address=address,
        email=email,
        signature=ref["signature"],
    )
    ledger = Ledger(settings=settings, source="示例台账")
    for p in ref["problems"]:
        leader_idx, dept = _PROBLEM_OWNERS[p["no"]]
        ledger.problems.append(
            Problem(
                id=str(p["no"]),
                category=p["category"],
                title=p["title"],
                finding="",
                leader=_LEADERS[leader_idx],
                department=dept,
            )
        )
    problems = {p.id: p for p in ledger.problems}
    counter: dict[int, int] = {}
    for i, m in enumerate(ref["measures"]):
        n = counter[m["problem"]] = counter.get(m["problem"], 0) + 1
        tid = f"{m['problem']}-{n}"
        prob = problems[str(m["problem"])]
        unit, deadline, extended, state, done_on, signed = _SPECIAL.get(
            tid, (prob.department, _DONE_DEADLINES[i % 3], None, "已完成", None, None)
        )
        if tid not in _SPECIAL:
            done_on = D(_DONE_DEADLINES[i % 3].year, _DONE_DEADLINES[i % 3].month, 15)
            signed = D(done_on.year, done_on.month, 25)
        person = _COUNTY_PEOPLE.get(unit) or _DEPARTMENTS.get(unit, "")
        if deadline == LONG:
            dl = Deadline(None, "long_term", LONG)
        else:
            dl = Deadline(deadline, "date", deadline.isoformat())
        ledger.tasks.append(
            Task(
                id=tid,
                problem_id=prob.id,
                measure=m["lead"],
                progress=m["progress"],
                leader=prob.leader,
                unit=unit,
                person=person,
                deadline=dl,
                extended_deadline=extended,
                state=state,
                completed_on=done_on,
                evidence=f"{tid}佐证材料（文件、会议纪要、照片）" if state == "已完成" else "",
                signed_off_on=signed,
                signed_off_by="整改办 李国强" if signed else "",
            )
        )
    posts = ["党组书记、主任", "党组成员、副主任", "党组成员、副主任", "党组成员、副主任", "党组成员、纪检组长"]
    for name, post in zip(_LEADERS, posts):
        ledger.people.append(Person(name, post, "清远市公路事务中心", "0763-3363601"))
    for dept, name in _DEPARTMENTS.items():
        ledger.people.append(Person(name, "负责人", dept, "0763-3363601"))
    for county, name in _COUNTY_PEOPLE.items():
        ledger.people.append(Person(name, "公路事务中心负责人", county, ""))
    ledger.counties = [County(c, _COUNTY_PEOPLE[c], "") for c in QINGYUAN_COUNTIES]
    ledger.notice_text = [*ref["section1"], *ref["section3"]]
    return ledger


def demo_units() -> list[str]:
    """The center's departments (units that are not counties)."""
    return list(_DEPARTMENTS)
