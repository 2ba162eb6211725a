"""Frozen copies of the notice renderer's helpers before issue 15's fifth round (tests only).

``tests/test_notice_perf.py`` renders the same notices with these (and docxtpl's own listing pass) and
with the toolkit's current code, and compares every part of the documents.
"""

from __future__ import annotations

import dataclasses

from docx.document import Document as DocumentObject
from docx.oxml.ns import qn

from toolkit.notice.text import clean_text

_W_P, _W_PPR, _W_PSTYLE, _W_VAL = qn("w:p"), qn("w:pPr"), qn("w:pStyle"), qn("w:val")


def clean_value(value: object, *, keep_newlines: bool = False) -> object:
    """``value`` with every string inside (lists, dicts, dataclasses) cleaned for Word."""
    if isinstance(value, str):
        if keep_newlines:
            return "\n".join(clean_text(line) for line in value.split("\n"))
        return clean_text(value)
    if isinstance(value, list | tuple):
        return type(value)(clean_value(v) for v in value)
    if isinstance(value, dict):
        return {k: clean_value(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: clean_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value


def paragraphs_by_style(doc: DocumentObject) -> dict[str, list]:
    """Body paragraph elements (``w:p``) grouped by style name, in one pass over the body.

    python-docx's ``paragraph.style`` resolves the style through an XPath search per paragraph, which
    made a 1,000-measure notice spend a second in post-processing; here each style id is resolved once.
    """
    names = {}
    for el in doc.styles.element.findall(qn("w:style")):
        name = el.find(qn("w:name"))
        names[el.get(qn("w:styleId"))] = name.get(_W_VAL) if name is not None else ""
    out: dict[str, list] = {}
    for p in doc.element.body.iter(_W_P):
        ppr = p.find(_W_PPR)
        pstyle = ppr.find(_W_PSTYLE) if ppr is not None else None
        if pstyle is not None:
            out.setdefault(names.get(pstyle.get(_W_VAL), ""), []).append(p)
    return out


def styled_paragraphs(doc: DocumentObject) -> list[tuple[str, str]]:
    """(style name, text) of every body paragraph, styles resolved once for the document."""
    names = {}
    for el in doc.styles.element.findall(qn("w:style")):
        name = el.find(qn("w:name"))
        names[el.get(qn("w:styleId"))] = name.get(qn("w:val")) if name is not None else ""
    out = []
    for p in doc.element.body.iterchildren(qn("w:p")):
        ppr = p.find(_W_PPR)
        pstyle = ppr.find(_W_PSTYLE) if ppr is not None else None
        style = names.get(pstyle.get(_W_VAL), "") if pstyle is not None else ""
        text = "".join(
            (el.text or "") if el.tag == qn("w:t") else "\n" if el.tag == qn("w:br") else "\t"
            for el in p.iter(qn("w:t"), qn("w:br"), qn("w:tab"))
        )
        out.append((style, text))
    return out
