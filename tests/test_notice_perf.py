"""The notice and the reminder letters come out the same as before issue 15's fifth round of speed work.

``tests/perf_reference/notice_render.py`` holds the renderer's helpers as they were (cleaning the
context, finding paragraphs by style, listing paragraphs with their text); docxtpl's own listing pass is
the reference for the template's shortcut. The same ledgers are rendered both ways and every part of
the .docx files must be equal, as must the paragraph count and the warnings.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import zipfile
from datetime import date
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docxtpl import DocxTemplate
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit.notice.render as R
from toolkit.demo.ledger import DEMO_AS_OF, build_demo_ledger
from toolkit.notice import render_notice
from toolkit.notice.reminders import render_reminders

ref = importlib.import_module("perf_reference.notice_render")

FAST = settings(derandomize=True, max_examples=150, deadline=None)


def _messy_ledger(copies: int = 3):
    """The demo ledger repeated, with the line breaks, tabs and Excel escapes staff leave in cells."""
    demo = build_demo_ledger()
    ledger = dataclasses.replace(demo, problems=[], tasks=[])
    odd = ("第一行\n第二行", "措施_x000D_\n续", "\t缩进的文字 ", "Ａ\aＢ", "ok\r\nok", "　全角空格　")
    for k in range(copies):
        for problem in demo.problems:
            pid = f"{k + 1}{problem.id}"
            ledger.problems.append(dataclasses.replace(problem, id=pid))
        for n, task in enumerate(demo.tasks):
            measure = task.measure + odd[n % len(odd)] if n % 3 == 0 else task.measure
            ledger.tasks.append(
                dataclasses.replace(task, id=f"{k + 1}{task.id}", problem_id=f"{k + 1}{task.problem_id}", measure=measure)
            )
    return ledger


def _frozen(monkeypatch) -> None:
    monkeypatch.setattr(R, "clean_value", ref.clean_value)
    monkeypatch.setattr(R, "paragraphs_by_style", ref.paragraphs_by_style)
    monkeypatch.setattr(R, "styled_paragraphs", ref.styled_paragraphs)
    monkeypatch.setattr(R, "_Template", DocxTemplate)


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


@pytest.mark.parametrize("copies", [1, 4])
@pytest.mark.parametrize("level", [None, 3])
def test_notice_equals_the_frozen_renderer(tmp_path, monkeypatch, copies, level):
    ledger = _messy_ledger(copies)
    if level is not None:
        ledger.settings = dataclasses.replace(ledger.settings, notice_levels=level)
    new = render_notice(ledger, today=DEMO_AS_OF, out_path=tmp_path / "new.docx")
    with monkeypatch.context() as m:
        _frozen(m)
        old = render_notice(ledger, today=DEMO_AS_OF, out_path=tmp_path / "old.docx")
    assert _parts(tmp_path / "new.docx") == _parts(tmp_path / "old.docx")
    assert (new.paragraphs, new.warnings) == (old.paragraphs, old.warnings)
    # The title's line break is the listing pass's work: it must be there.
    title = docx.Document(str(tmp_path / "new.docx")).paragraphs[0]._p
    assert title.findall(".//" + qn("w:br"))


def test_reminders_equal_the_frozen_renderer(tmp_path, monkeypatch):
    ledger = _messy_ledger(2)
    today = date(DEMO_AS_OF.year + 1, 1, 15)  # late enough for overdue letters
    new = render_reminders(ledger, today=today, out_dir=tmp_path / "new")
    with monkeypatch.context() as m:
        _frozen(m)
        old = render_reminders(ledger, today=today, out_dir=tmp_path / "old")
    new_files = sorted(p.name for p in (tmp_path / "new").glob("*.docx"))
    assert new_files and new_files == sorted(p.name for p in (tmp_path / "old").glob("*.docx"))
    for name in new_files:
        assert _parts(tmp_path / "new" / name) == _parts(tmp_path / "old" / name), name
    assert len(new) == len(old)


def test_listing_pass_matches_docxtpl_on_every_kind_of_break():
    """Tabs, ``\\a``, line and page breaks, in one paragraph, several, or none; paragraphs with attributes."""
    tpl = R._Template.__new__(R._Template)
    plain = DocxTemplate.__new__(DocxTemplate)
    texts = ["无", "一\t二", "甲\a乙", "上\n下", "前\f后", "混\t合\n排\a列\f", "<&>"]
    for k in range(len(texts)):
        for attrs in ("", ' w:rsidR="00AB"'):
            runs = "".join(
                f'<w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">{t}</w:t></w:r>' for t in texts[k:] + texts[:k]
            )
            xml = (
                f"<w:body><w:p{attrs}><w:pPr><w:jc w:val=\"center\"/></w:pPr>{runs}</w:p>"
                f"<w:p><w:r><w:t>干净</w:t></w:r></w:p><w:p/><w:sectPr/></w:body>"
            )
            assert tpl.resolve_listing(xml) == plain.resolve_listing(xml)
    clean = "<w:body><w:p><w:r><w:t>干净</w:t></w:r></w:p></w:body>"
    assert tpl.resolve_listing(clean) == clean


# --------------------------------------------------------------------------------------------------
# Paragraph styles found from w:pStyle up, and the paragraph-by-paragraph fallback


_SHAPES = (
    '<w:p><w:pPr><w:pStyle w:val="{s}"/></w:pPr><w:r><w:t>正文{n}</w:t></w:r></w:p>',
    '<w:p><w:r><w:t>无样式{n}</w:t></w:r></w:p>',
    '<w:p><w:pPr><w:jc w:val="left"/></w:pPr><w:r><w:t>无样式{n}</w:t><w:br/><w:tab/></w:r></w:p>',
    # properties after the text (Word would not write it; the fallback must take over)
    '<w:p><w:r><w:t>后置{n}</w:t></w:r><w:pPr><w:pStyle w:val="{s}"/></w:pPr></w:p>',
    # a tracked change of the paragraph's properties: the old style is not the paragraph's
    '<w:p><w:pPr><w:pStyle w:val="{s}"/><w:pPrChange w:id="1" w:author="a"><w:pPr><w:pStyle w:val="Heading1"/>'
    "</w:pPr></w:pPrChange></w:pPr><w:r><w:t>修订{n}</w:t></w:r></w:p>",
    # two sets of properties (only the first counts), two styles in one (only the first counts)
    '<w:p><w:pPr><w:jc w:val="left"/></w:pPr><w:pPr><w:pStyle w:val="{s}"/></w:pPr><w:r><w:t>两组{n}</w:t></w:r></w:p>',
    '<w:p><w:pPr><w:pStyle w:val="Title"/><w:pStyle w:val="{s}"/></w:pPr><w:r><w:t>两个{n}</w:t></w:r></w:p>',
    # the style not first among the properties
    '<w:p><w:pPr><w:keepNext/><w:pStyle w:val="{s}"/></w:pPr><w:r><w:t>次序{n}</w:t></w:r></w:p>',
    # a paragraph in a table (found by paragraphs_by_style, not listed by styled_paragraphs)
    '<w:tbl><w:tr><w:tc><w:p><w:pPr><w:pStyle w:val="{s}"/></w:pPr><w:r><w:t>表格{n}</w:t></w:r></w:p>'
    "</w:tc></w:tr></w:tbl>",
    # an unknown style id, and a style element without its value
    '<w:p><w:pPr><w:pStyle w:val="NoSuchStyle"/></w:pPr><w:r><w:t>未知{n}</w:t></w:r></w:p>',
    "<w:p><w:pPr><w:pStyle/></w:pPr><w:r><w:t>空值{n}</w:t></w:r></w:p>",
)


@FAST
@given(st.lists(st.tuples(st.integers(0, len(_SHAPES) - 1), st.sampled_from(["Heading1", "Heading2", "Title"])),
                max_size=12))
def test_paragraph_styles_equal_the_frozen_lookup(picks):
    doc = docx.Document()
    body = doc.element.body
    sect = body.find(qn("w:sectPr"))
    for n, (shape, style) in enumerate(picks):
        el = parse_xml(_with_ns(_SHAPES[shape].format(s=style, n=n)))
        sect.addprevious(el)
    paras = list(body.iter(qn("w:p")))  # held, so that each element keeps its Python object (and id)
    order = {id(p): k for k, p in enumerate(paras)}

    def shown(groups):
        return {name: [order[id(p)] for p in ps] for name, ps in groups.items()}

    assert shown(R.paragraphs_by_style(doc)) == shown(ref.paragraphs_by_style(doc))
    assert R.styled_paragraphs(doc) == ref.styled_paragraphs(doc)


def _with_ns(xml: str) -> str:
    """The element with the w: namespace declared on its root."""
    end = re.match(r"<w:\w+", xml).end()
    return f"{xml[:end]} {nsdecls('w')}{xml[end:]}"


# --------------------------------------------------------------------------------------------------
# Cleaning the context


@dataclasses.dataclass(frozen=True)
class _Item:
    kind: str
    text: str
    n: int = 0


@dataclasses.dataclass
class _Mutable:
    text: str
    items: list


_STRINGS = st.sampled_from(["干净的文字", "行一\n行二", "_x000D_尾", " 两端 ", "\t", "", "a\r\nb", "　全角"])
_VALUES = st.recursive(
    st.one_of(_STRINGS, st.integers(), st.none()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
        st.builds(_Item, _STRINGS, _STRINGS, st.integers()),
        st.builds(_Mutable, _STRINGS, st.lists(inner, max_size=3)),
    ),
    max_leaves=12,
)


@FAST
@given(_VALUES, st.booleans())
def test_clean_value_equals_the_frozen_one(value, keep_newlines):
    new = R.clean_value(value, keep_newlines=keep_newlines)
    old = ref.clean_value(value, keep_newlines=keep_newlines)
    assert new == old
    assert type(new) is type(old)
    if isinstance(value, _Mutable):
        assert new is not value  # a mutable dataclass is always a copy, as before


def test_an_unchanged_frozen_item_is_returned_itself_and_a_changed_one_copied():
    clean = _Item("body", "干净的文字")
    assert R.clean_value(clean) is clean
    dirty = _Item("body", "行一\n行二")
    assert R.clean_value(dirty) == _Item("body", "行一行二")
    mutable = _MutableText("干净的文字")
    copied = R.clean_value(mutable)
    assert copied == mutable and copied is not mutable  # never shared: the caller may change either


@dataclasses.dataclass
class _MutableText:
    text: str
