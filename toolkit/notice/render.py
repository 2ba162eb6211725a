"""Render Word documents from the templates with docxtpl, safely.

- ``autoescape=True``: ledger text with ``<``, ``&`` or quotes stays verbatim (docxtpl's
  default would write broken XML that Word "repairs" by dropping text).
- ``StrictUndefined``: a template variable the toolkit does not provide is an error, not an
  empty string.
- Every string is cleaned (:func:`toolkit.notice.text.clean_text`) before rendering:
  docxtpl ≥ 0.20 turns ``\\n`` into a line break and ``\\a`` into a new paragraph, and Excel
  leaves ``_x000D_`` behind.
- The template is linted first; a broken template raises :class:`TemplateInvalid` listing
  each problem with its paragraph.
"""

from __future__ import annotations

import dataclasses
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO

import jinja2
from docx.document import Document as DocumentObject
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docxtpl import DocxTemplate

from toolkit.notice import layout as L
from toolkit.notice.context import NOTICE_ITEM_FIELDS, NOTICE_VARIABLES, build_notice_context
from toolkit.notice.errors import NoticeError, PdfConversionFailed, PdfUnavailable, TemplateInvalid
from toolkit.notice.lint import lint_document
from toolkit.notice.template_build import KIND_NOTICE, NOTICE_TEMPLATE_NAME, REPO_TEMPLATES, template_bytes
from toolkit.notice.text import clean_text, condense_to_avoid_lone_character, text_width


@dataclass
class NoticeResult:
    """What :func:`render_notice` produced."""

    docx: Path
    pdf: Path | None = None
    paragraphs: int = 0  # paragraphs in the document body
    pdf_skipped: str | None = None  # why no PDF was made although one was asked for
    warnings: list[str] = field(default_factory=list)
    number_problems: list = field(default_factory=list)  # consistency lint (toolkit.notice.consistency)


def jinja_env() -> jinja2.Environment:
    """The Jinja environment for every render: autoescape on, undefined variables are errors."""
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def clean_value(value: object, *, keep_newlines: bool = False) -> object:
    """``value`` with every string inside (lists, dicts, dataclasses) cleaned for Word.

    A frozen dataclass none of whose fields changed is returned as it is (a notice has about a
    thousand body items, nearly all clean): equal to the copy ``dataclasses.replace`` would make.
    """
    if isinstance(value, str):
        if keep_newlines:
            return "\n".join(clean_text(line) for line in value.split("\n"))
        return clean_text(value)
    if isinstance(value, list | tuple):
        return type(value)([clean_value(v) for v in value])
    if isinstance(value, dict):
        return {k: clean_value(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names, frozen = _dataclass_fields(type(value))
        changes = {}
        same = frozen
        for name in names:
            old = getattr(value, name)
            new = changes[name] = clean_value(old)
            if new is not old:
                same = False
        return value if same else dataclasses.replace(value, **changes)
    return value


_FIELDS: dict[type, tuple[tuple[str, ...], bool]] = {}


def _dataclass_fields(cls: type) -> tuple[tuple[str, ...], bool]:
    """The field names of a dataclass type and whether it is frozen (looked up once per type)."""
    known = _FIELDS.get(cls)
    if known is None:
        params = getattr(cls, "__dataclass_params__", None)
        known = _FIELDS[cls] = (tuple(f.name for f in dataclasses.fields(cls)), bool(getattr(params, "frozen", False)))
    return known


def template_source(template_path: Path | str | None, default_name: str, kind: str) -> Path | IO[bytes]:
    """The template to use: the given path, the repository's file, or one built in memory."""
    if template_path is not None:
        path = Path(template_path)
        if not path.exists():
            raise NoticeError(f"找不到模板文件：{path}。请检查路径，或不指定模板以使用内置模板。")
        return path
    default = REPO_TEMPLATES / default_name
    if default.exists():
        return default
    return io.BytesIO(template_bytes(kind))


_W_P, _W_PPR, _W_PSTYLE, _W_VAL = qn("w:p"), qn("w:pPr"), qn("w:pStyle"), qn("w:val")
_W_T, _W_BR, _W_TAB = qn("w:t"), qn("w:br"), qn("w:tab")
_NO_STYLE = object()  # a paragraph without a style (styled_paragraphs)


def _style_ids(body) -> dict:
    """Each paragraph of ``body`` (nested ones too) that has a style → its style id (the first ``w:pStyle`` of
    its first ``w:pPr``, as python-docx resolves it), in document order.

    Found from the ``w:pStyle`` elements up (lxml walks the tree in C; asking each paragraph for its ``w:pPr``
    and that for its ``w:pStyle`` costs two path lookups per paragraph), where they stand in the usual places:
    ``w:pPr`` first in its paragraph, ``w:pStyle`` first in it. Anything else (a tracked change of properties,
    properties after the text) and every paragraph is asked in turn, as before.
    """
    ids = {}
    for ps in body.iter(_W_PSTYLE):
        ppr = ps.getparent()
        p = ppr.getparent() if ppr is not None else None
        if (
            ppr.tag != _W_PPR
            or p is None
            or p.tag != _W_P
            or ps.getprevious() is not None
            or ppr.getprevious() is not None
        ):
            break
        ids[p] = ps.get(_W_VAL)
    else:
        return ids
    ids = {}
    for p in body.iter(_W_P):
        ppr = p.find(_W_PPR)
        pstyle = ppr.find(_W_PSTYLE) if ppr is not None else None
        if pstyle is not None:
            ids[p] = pstyle.get(_W_VAL)
    return ids


def _style_names(doc: DocumentObject) -> dict:
    """Style id → style name, for every style of the document."""
    names = {}
    for el in doc.styles.element.findall(qn("w:style")):
        name = el.find(qn("w:name"))
        names[el.get(qn("w:styleId"))] = name.get(_W_VAL) if name is not None else ""
    return names


def paragraphs_by_style(doc: DocumentObject) -> dict[str, list]:
    """Body paragraph elements (``w:p``) grouped by style name, in one pass over the body.

    python-docx's ``paragraph.style`` resolves the style through an XPath search per paragraph, which
    made a 1,000-measure notice spend a second in post-processing; here each style id is resolved once.
    """
    names = _style_names(doc)
    out: dict[str, list] = {}
    for p, sid in _style_ids(doc.element.body).items():
        out.setdefault(names.get(sid, ""), []).append(p)
    return out


def paragraphs_in_style(doc: DocumentObject, style_name: str) -> list:
    """Body paragraph elements in ``style_name`` (see :func:`paragraphs_by_style`)."""
    return paragraphs_by_style(doc).get(style_name, [])


def styled_paragraphs(doc: DocumentObject) -> list[tuple[str, str]]:
    """(style name, text) of every body paragraph, styles resolved once for the document."""
    names = _style_names(doc)
    out = []
    w_t = _W_T
    body = doc.element.body
    ids = _style_ids(body)
    for p in body.iterchildren(_W_P):
        sid = ids.get(p, _NO_STYLE)
        style = "" if sid is _NO_STYLE else names.get(sid, "")
        text = "".join(
            [
                (el.text or "") if el.tag == w_t else "\n" if el.tag == _W_BR else "\t"
                for el in p.iter(w_t, _W_BR, _W_TAB)
            ]
        )
        out.append((style, text))
    return out


def _set_right_indent(paragraphs: list, chars: float) -> None:
    """Right indent of ``paragraphs``, in characters and twips."""
    for p in paragraphs:
        ppr = p.get_or_add_pPr()
        for old in ppr.findall(qn("w:ind")):
            ppr.remove(old)
        ind = parse_xml(
            f'<w:ind {nsdecls("w")} w:right="{round(chars * L.CHAR_TWIPS)}" w:rightChars="{round(chars * 100)}"/>'
        )
        # w:ind goes before w:jc/w:outlineLvl/w:rPr in CT_PPr.
        successor = next(
            (c for c in ppr if c.tag in (qn("w:contextualSpacing"), qn("w:jc"), qn("w:outlineLvl"), qn("w:rPr"))),
            None,
        )
        if successor is not None:
            successor.addprevious(ind)
        else:
            ppr.append(ind)


HEADING_STYLES = (L.STYLE_H1, L.STYLE_H2, L.STYLE_H3)


def _paragraph_text(p) -> str:
    return "".join(t.text or "" for t in p.iter(qn("w:t")))


def avoid_lone_characters(by_style: dict[str, list], first_line_chars: float = 2) -> int:
    """Headings whose last line would hold a single character are condensed to take one line fewer.

    Widths count body characters (half for ASCII, with the CJK/Latin gap); the type width is
    28 characters and headings keep the 2-character first-line indent. Returns how many were changed.
    """
    changed = 0
    full = L.CHARS_PER_LINE
    char_pt = L.BODY_SIZE_PT + L.CHAR_CONDENSE / 20
    for style in HEADING_STYLES:
        for p in by_style.get(style, ()):
            width = text_width(_paragraph_text(p), autospace=True)
            extra = condense_to_avoid_lone_character(width, first=full - first_line_chars, full=full, char_pt=char_pt)
            if not extra:
                continue
            for run in p.iter(qn("w:r")):
                rpr = run.get_or_add_rPr()
                for old in rpr.findall(qn("w:spacing")):
                    rpr.remove(old)
                spacing = parse_xml(f'<w:spacing {nsdecls("w")} w:val="{L.CHAR_CONDENSE + extra}"/>')
                # CT_RPr order: w:spacing comes after the font, bold and colour elements and before w:sz.
                successor = next((c for c in rpr if c.tag in (qn("w:w"), qn("w:kern"), qn("w:position"),
                                                              qn("w:sz"), qn("w:szCs"), qn("w:highlight"),
                                                              qn("w:u"), qn("w:effect"), qn("w:vertAlign"),
                                                              qn("w:lang"), qn("w:eastAsianLayout"))), None)
                if successor is not None:
                    successor.addprevious(spacing)
                else:
                    rpr.append(spacing)
            changed += 1
    return changed


# Characters docxtpl's resolve_listing turns into Word markup (tab, paragraph, line and page breaks).
_LISTING = re.compile("[\t\a\n\f]")
_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", re.DOTALL)  # docxtpl's own paragraph pattern


class _Template(DocxTemplate):
    """docxtpl's template, its listing pass skipped where it has nothing to do.

    ``resolve_listing`` rewrites every run of every paragraph with nested regex substitutions,
    which only ever change a tab, ``\\a``, line or page break inside a paragraph. A paragraph without
    any of these comes out as it went in, so only the paragraphs that have one are passed to
    docxtpl (each on its own: docxtpl's pattern matches it whole); the XML is the same.
    """

    def resolve_listing(self, xml: str) -> str:
        if _LISTING.search(xml) is None:
            return xml
        resolve = super().resolve_listing
        return _PARAGRAPH.sub(lambda m: resolve(m[0]) if _LISTING.search(m[0]) else m[0], xml)


def render_document(
    source: Path | IO[bytes],
    variables: dict,
    *,
    allowed: frozenset[str],
    item_fields: dict[str, frozenset[str]],
    signature_indent: float | None = None,
    date_indent: float | None = None,
    title: str = "",
) -> DocxTemplate:
    """Lint, render and post-process one template; returns the rendered (unsaved) DocxTemplate."""
    tpl = _Template(source)
    problems = [p for p in lint_document(tpl.get_docx(), variables=allowed, item_fields=item_fields) if p.is_error]
    if problems:
        listing = "\n".join(p.describe() for p in problems)
        raise TemplateInvalid(f"模板有{len(problems)}处问题，请修改后再生成：\n{listing}", problems)
    try:
        tpl.render(variables, jinja_env=jinja_env(), autoescape=True)
    except jinja2.UndefinedError as exc:
        raise TemplateInvalid(f"模板使用了工具不提供的数据（{exc.message}），请检查模板中的变量名。") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateInvalid(f"模板标签写法有误（{exc.message}），请用模板检查功能查看具体段落。") from exc
    doc = tpl.docx
    by_style = paragraphs_by_style(doc)
    avoid_lone_characters(by_style)
    if signature_indent is not None:
        _set_right_indent(by_style.get(L.STYLE_SIGNATURE, []), signature_indent)
    if date_indent is not None:
        _set_right_indent(by_style.get(L.STYLE_DATE, []), date_indent)
    props = doc.core_properties
    props.title = title
    props.keywords = ""
    props.subject = ""
    return tpl


def stamp_dates(doc: DocumentObject, day: date) -> None:
    """Created/modified properties set to ``day`` (documents do not carry the render time)."""
    moment = datetime(day.year, day.month, day.day)
    doc.core_properties.created = moment
    doc.core_properties.modified = moment


def render_notice(
    ledger,
    *,
    today: date,
    out_path: Path | str,
    template_path: Path | str | None = None,
    pdf: bool = False,
    profile: str | None = None,
    check: bool = True,
    edition: str | None = None,
) -> NoticeResult:
    """Write the progress notice (通报) for ``ledger`` as .docx (and .pdf when asked).

    ``today`` is the date the statuses and the statistics sentence are computed for. The PDF
    needs LibreOffice; without it the result says why in ``pdf_skipped`` instead of failing.
    Raises :class:`NoticeDataError` for missing settings and :class:`TemplateInvalid` for a
    broken template. ``profile`` chooses the house style (通报样式) instead of 基本信息's; with
    ``check`` every number of the rendered text is derived again from the ledger
    (:mod:`toolkit.notice.consistency`) and each disagreement becomes a warning. ``edition``
    (公开版/public or 党内版/internal) overrides 基本信息's 通报版本.
    """
    from toolkit.core.status import evaluate_ledger
    from toolkit.notice.consistency import check_figures
    from toolkit.notice.profiles import apply_profile

    status = evaluate_ledger(ledger, today=today)
    ctx = build_notice_context(ledger, status, today=today, profile=profile, edition=edition)
    variables = {k: clean_value(v, keep_newlines=(k == "title")) for k, v in ctx.variables.items()}
    source = template_source(template_path, NOTICE_TEMPLATE_NAME, KIND_NOTICE)
    tpl = render_document(
        source,
        variables,
        allowed=NOTICE_VARIABLES,
        item_fields=NOTICE_ITEM_FIELDS,
        signature_indent=ctx.signature_indent,
        date_indent=ctx.date_indent,
        title=variables["title"].replace("\n", ""),
    )
    stamp_dates(tpl.docx, ledger.settings.notice_date or today)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tpl.save(str(out))
    paragraphs = styled_paragraphs(tpl.docx)
    result = NoticeResult(docx=out, paragraphs=len(paragraphs), warnings=list(ctx.warnings))
    if check:
        settings = apply_profile(ledger.settings, profile)
        result.number_problems = check_figures(paragraphs, ledger, settings, status, today=today)
        result.warnings += [f"数字核对：{p.describe()}" for p in result.number_problems]
    if pdf:
        from toolkit.notice.pdf import convert_to_pdf

        try:
            result.pdf = convert_to_pdf(out)
        except (PdfUnavailable, PdfConversionFailed) as exc:
            result.pdf_skipped = str(exc)
    return result
