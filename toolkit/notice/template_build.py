"""Build the two Word templates (通报, 提醒函) to GB/T 9704-2012 with python-docx and lxml.

The committed files in ``word_templates/`` are produced by this module; rebuild them with::

    python -m toolkit.notice            # writes word_templates/*.docx

Staff may open and edit the templates in Word or WPS: every paragraph uses a named style
(公文正文, 公文一级标题 …) so restyling the style changes the whole document, and the fixed
wording around the ``{{ … }}`` tags can be edited freely (``toolkit.notice.lint`` checks the
tags afterwards).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm
from lxml import etree

from toolkit.notice import layout as L

REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "word_templates"
NOTICE_TEMPLATE_NAME = "notice_template.docx"
REMINDER_TEMPLATE_NAME = "reminder_template.docx"

# Core properties carry the template kind, so lint and render know which variables apply.
KIND_NOTICE = "toolkit:notice"
KIND_REMINDER = "toolkit:reminder"
_FIXED_TIME = datetime(2025, 1, 1)


@dataclass(frozen=True)
class StyleSpec:
    """One paragraph style. ``None`` means "inherit from the based-on style"."""

    style_id: str
    name: str
    based_on: str | None = None
    next_style: str | None = None
    font: str | None = None
    size_pt: float | None = None
    bold: bool | None = None
    condense: int | None = None  # w:spacing in twentieths of a point
    align: str | None = None  # both / center / left / right
    first_line_chars: float | None = None
    left_chars: float | None = None
    right_chars: float | None = None
    char_twips: int = L.CHAR_TWIPS  # twips per character for the *_chars indents
    line: int | None = None  # exact line spacing (twips)
    snap_to_grid: bool | None = None
    keep_next: bool = False
    outline_level: int | None = None


BODY_ID = "gwBody"
STYLES: tuple[StyleSpec, ...] = (
    StyleSpec(
        BODY_ID,
        L.STYLE_BODY,
        font=L.FONT_BODY,
        size_pt=L.BODY_SIZE_PT,
        bold=False,
        condense=L.CHAR_CONDENSE,
        align="both",
        first_line_chars=2,
        left_chars=0,
        right_chars=0,
        line=L.LINE_PITCH,
        snap_to_grid=True,
    ),
    StyleSpec(
        "gwTitle",
        L.STYLE_TITLE,
        BODY_ID,
        BODY_ID,
        font=L.FONT_TITLE,
        size_pt=L.TITLE_SIZE_PT,
        condense=0,
        align="center",
        first_line_chars=0,
        char_twips=L.TITLE_SIZE_PT * 20,
        line=L.TITLE_LINE,
        snap_to_grid=False,
    ),
    StyleSpec("gwH1", L.STYLE_H1, BODY_ID, BODY_ID, font=L.FONT_HEITI, keep_next=True, outline_level=0),
    StyleSpec("gwH2", L.STYLE_H2, BODY_ID, BODY_ID, font=L.FONT_KAITI, keep_next=True, outline_level=1),
    StyleSpec("gwH3", L.STYLE_H3, BODY_ID, BODY_ID, font=L.FONT_BODY, keep_next=True, outline_level=2),
    StyleSpec("gwAddressee", L.STYLE_ADDRESSEE, BODY_ID, BODY_ID, align="left", first_line_chars=0),
    StyleSpec("gwSignature", L.STYLE_SIGNATURE, BODY_ID, "gwDate", align="right", first_line_chars=0, right_chars=2),
    # Right indent of the date is recomputed per document (GB/T 9704 7.3.5.2), see render.py.
    StyleSpec("gwDate", L.STYLE_DATE, BODY_ID, BODY_ID, align="right", first_line_chars=0, right_chars=4),
    StyleSpec(
        "gwPageNumber",
        L.STYLE_PAGE_NUMBER,
        font=L.FONT_SONG,
        size_pt=L.PAGE_NUMBER_SIZE_PT,
        bold=False,
        condense=0,
        align="right",
        first_line_chars=0,
        left_chars=0,
        right_chars=1,
        char_twips=L.PAGE_NUMBER_SIZE_PT * 20,
        snap_to_grid=False,
    ),
    StyleSpec(
        "gwTable",
        L.STYLE_TABLE,
        BODY_ID,
        size_pt=L.TABLE_SIZE_PT,
        condense=0,
        align="left",
        first_line_chars=0,
        char_twips=L.TABLE_SIZE_PT * 20,
        line=L.TABLE_LINE,
        snap_to_grid=False,
    ),
    StyleSpec("gwTableHead", L.STYLE_TABLE_HEAD, "gwTable", font=L.FONT_HEITI, align="center"),
)


def _ind_attrs(first: float | None, left: float | None, right: float | None, char_twips: int) -> str:
    """w:ind attributes in both character units (Word shows "2 字符") and twips (LibreOffice)."""
    parts = []
    for name, chars in (("firstLine", first), ("left", left), ("right", right)):
        if chars is None:
            continue
        parts.append(f'w:{name}="{round(chars * char_twips)}" w:{name}Chars="{round(chars * 100)}"')
    return " ".join(parts)


def _fonts_xml(font: str) -> str:
    # Every slot names the same face: digits and Latin text stay in the official font, and the
    # PDF fontconfig mapping then covers every character (no Latin fallback face).
    return f'<w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:eastAsia="{font}" w:cs="{font}" w:hint="eastAsia"/>'


def _rpr_xml(font: str | None, size_pt: float | None, bold: bool | None, condense: int | None) -> str:
    out = []
    if font:
        out.append(_fonts_xml(font))
    if bold is not None:
        out.append(f'<w:b w:val="{int(bold)}"/><w:bCs w:val="{int(bold)}"/>')
    if condense is not None:
        out.append(f'<w:spacing w:val="{condense}"/>')
    if size_pt is not None:
        half = round(size_pt * 2)
        out.append(f'<w:sz w:val="{half}"/><w:szCs w:val="{half}"/>')
    return f"<w:rPr>{''.join(out)}</w:rPr>" if out else ""


def _style_xml(spec: StyleSpec) -> str:
    ppr = []
    if spec.keep_next:
        ppr.append("<w:keepNext/>")
    if spec.style_id == BODY_ID:
        ppr.append('<w:widowControl w:val="0"/>')
        # No hanging punctuation: a 29th character (even 。) must not stick into the margin.
        ppr.append('<w:overflowPunct w:val="0"/>')
    if spec.snap_to_grid is not None:
        ppr.append(f'<w:snapToGrid w:val="{int(spec.snap_to_grid)}"/>')
    if spec.line is not None:
        ppr.append(f'<w:spacing w:before="0" w:after="0" w:line="{spec.line}" w:lineRule="exact"/>')
    elif spec.based_on is None:
        ppr.append('<w:spacing w:before="0" w:after="0" w:line="240" w:lineRule="auto"/>')
    ind = _ind_attrs(spec.first_line_chars, spec.left_chars, spec.right_chars, spec.char_twips)
    if ind:
        ppr.append(f"<w:ind {ind}/>")
    if spec.align:
        ppr.append(f'<w:jc w:val="{spec.align}"/>')
    if spec.outline_level is not None:
        ppr.append(f'<w:outlineLvl w:val="{spec.outline_level}"/>')
    parts = [f'<w:name w:val="{spec.name}"/>']
    if spec.based_on:
        parts.append(f'<w:basedOn w:val="{spec.based_on}"/>')
    if spec.next_style:
        parts.append(f'<w:next w:val="{spec.next_style}"/>')
    parts.append('<w:uiPriority w:val="1"/><w:qFormat/>')
    parts.append(f"<w:pPr>{''.join(ppr)}</w:pPr>")
    parts.append(_rpr_xml(spec.font, spec.size_pt, spec.bold, spec.condense))
    return (
        f'<w:style {nsdecls("w")} w:type="paragraph" w:customStyle="1" w:styleId="{spec.style_id}">'
        f"{''.join(parts)}</w:style>"
    )


LEAD_CHAR_ID = "gwLeadChar"


def _char_style_xml() -> str:
    """The 楷体 character style of run-in lead sentences (section 三's （一）…)."""
    return (
        f'<w:style {nsdecls("w")} w:type="character" w:customStyle="1" w:styleId="{LEAD_CHAR_ID}">'
        f'<w:name w:val="{L.STYLE_LEAD_CHAR}"/><w:uiPriority w:val="1"/><w:qFormat/>'
        f"{_rpr_xml(L.FONT_KAITI, None, None, None)}</w:style>"
    )


def _set_styles(doc: DocumentObject) -> None:
    styles = doc.styles.element
    # Document defaults: explicit official font, no theme fonts (a theme font attribute wins
    # over an explicit one in the same w:rFonts), Chinese language.
    defaults = styles.find(qn("w:docDefaults"))
    defaults.getparent().remove(defaults)
    styles.insert(
        0,
        parse_xml(
            f"<w:docDefaults {nsdecls('w')}><w:rPrDefault><w:rPr>{_fonts_xml(L.FONT_BODY)}"
            f'<w:sz w:val="{L.BODY_SIZE_PT * 2}"/><w:szCs w:val="{L.BODY_SIZE_PT * 2}"/>'
            '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>'
            '<w:pPrDefault><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
            "</w:pPrDefault></w:docDefaults>"
        ),
    )
    # Normal (what a pasted or stray paragraph gets) looks like the body text too.
    normal = doc.styles["Normal"].element
    for child in list(normal):
        if child.tag in (qn("w:pPr"), qn("w:rPr")):
            normal.remove(child)
    normal.append(parse_xml(f'<w:pPr {nsdecls("w")}><w:spacing w:line="{L.LINE_PITCH}" w:lineRule="exact"/></w:pPr>'))
    normal.append(
        parse_xml(f'<w:rPr {nsdecls("w")}>{_fonts_xml(L.FONT_BODY)}<w:sz w:val="{L.BODY_SIZE_PT * 2}"/></w:rPr>')
    )
    for spec in STYLES:
        for old in styles.findall(qn("w:style")):
            if old.get(qn("w:styleId")) == spec.style_id:
                styles.remove(old)
        styles.append(parse_xml(_style_xml(spec)))
    styles.append(parse_xml(_char_style_xml()))


def _set_section(doc: DocumentObject) -> None:
    section = doc.sections[0]
    section.page_width = Mm(L.PAGE_WIDTH_MM)
    section.page_height = Mm(L.PAGE_HEIGHT_MM)
    section.top_margin = Mm(L.MARGIN_TOP_MM)
    section.bottom_margin = Mm(L.MARGIN_BOTTOM_MM)
    section.left_margin = Mm(L.MARGIN_LEFT_MM)
    section.right_margin = Mm(L.MARGIN_RIGHT_MM)
    section.header_distance = Mm(L.HEADER_DISTANCE_MM)
    section.footer_distance = Mm(L.FOOTER_DISTANCE_MM)
    sect = section._sectPr
    for grid in sect.findall(qn("w:docGrid")):
        sect.remove(grid)
    # Line grid only: 22 lines. Characters are fitted by the condensed body font instead of
    # Word's character grid, which LibreOffice renders as 14 characters a line.
    sect.append(parse_xml(f'<w:docGrid {nsdecls("w")} w:type="lines" w:linePitch="{L.LINE_PITCH}"/>'))


def _page_number_paragraph(paragraph, *, odd: bool) -> None:
    """Page number "— n —" with a PAGE field; odd pages right (右空一字), even pages left (左空一字)."""
    paragraph.style = L.STYLE_PAGE_NUMBER
    p = paragraph._p
    ppr = p.get_or_add_pPr()
    one = L.PAGE_NUMBER_SIZE_PT * 20
    if odd:
        ppr.append(parse_xml(f'<w:ind {nsdecls("w")} w:right="{one}" w:rightChars="100"/>'))
        ppr.append(parse_xml(f'<w:jc {nsdecls("w")} w:val="right"/>'))
    else:
        ppr.append(parse_xml(f'<w:ind {nsdecls("w")} w:left="{one}" w:leftChars="100" w:right="0" w:rightChars="0"/>'))
        ppr.append(parse_xml(f'<w:jc {nsdecls("w")} w:val="left"/>'))
    runs = [
        '<w:r><w:t xml:space="preserve">— </w:t></w:r>',
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
        '<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>',
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>',
        "<w:r><w:t>1</w:t></w:r>",
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
        '<w:r><w:t xml:space="preserve"> —</w:t></w:r>',
    ]
    for run in runs:
        p.append(parse_xml(run.replace("<w:r>", f"<w:r {nsdecls('w')}>", 1)))


def _set_footers(doc: DocumentObject) -> None:
    doc.settings.odd_and_even_pages_header_footer = True  # w:evenAndOddHeaders
    section = doc.sections[0]
    for footer, odd in ((section.footer, True), (section.even_page_footer, False)):
        footer.is_linked_to_previous = False
        para = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
        _page_number_paragraph(para, odd=odd)


# Font table entries: GB2312 charset, and for the *_GB2312 names the face Windows ships under
# another name, so Word substitutes 仿宋/楷体 instead of a default font where they are missing.
_FONT_TABLE: tuple[tuple[str, str | None, str], ...] = (
    (L.FONT_BODY, "仿宋", "modern"),
    (L.FONT_TITLE, None, "roman"),
    (L.FONT_HEITI, None, "modern"),
    (L.FONT_KAITI, "楷体", "modern"),
    (L.FONT_SONG, None, "auto"),
)


def _set_font_table(doc: DocumentObject) -> None:
    part = next(r.target_part for r in doc.part.rels.values() if r.reltype.endswith("/fontTable"))
    fonts = parse_xml(part.blob)
    for name, alt, family in _FONT_TABLE:
        for old in fonts.findall(qn("w:font")):
            if old.get(qn("w:name")) == name:
                fonts.remove(old)
        alt_xml = f'<w:altName w:val="{alt}"/>' if alt else ""
        fonts.append(
            parse_xml(
                f'<w:font {nsdecls("w")} w:name="{name}">{alt_xml}<w:charset w:val="86"/>'
                f'<w:family w:val="{family}"/><w:pitch w:val="variable"/></w:font>'
            )
        )
    part._blob = etree.tostring(fonts, xml_declaration=True, encoding="UTF-8", standalone=True)


def _set_settings(doc: DocumentObject) -> None:
    settings = doc.settings.element
    lang = settings.find(qn("w:themeFontLang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")


def _new_document(kind: str, title: str) -> DocumentObject:
    doc = Document()
    body = doc.element.body
    for p in body.findall(qn("w:p")):
        body.remove(p)
    _set_styles(doc)
    _set_section(doc)
    _set_footers(doc)
    _set_settings(doc)
    _set_font_table(doc)
    props = doc.core_properties
    props.title = title
    props.subject = "巡察整改台账工具生成的模板，可在 Word/WPS 中修改文字和样式"
    props.author = "巡察整改台账工具"
    props.last_modified_by = "巡察整改台账工具"
    props.keywords = kind
    props.created = _FIXED_TIME
    props.modified = _FIXED_TIME
    props.revision = 1
    return doc


def _para(doc: DocumentObject, text: str, style: str) -> None:
    doc.add_paragraph(text, style=style)


def build_notice_document() -> DocumentObject:
    """The notice template as a python-docx Document (not saved)."""
    doc = _new_document(KIND_NOTICE, "巡察整改进展情况通报模板")
    p = _para
    p(doc, "{{ title }}", L.STYLE_TITLE)  # the computed line break arrives as "\n" → <w:br/>
    p(doc, "", L.STYLE_BODY)
    p(doc, "{{ intro }}", L.STYLE_BODY)
    p(doc, "一、{{ party_group }}履行巡察整改主体责任情况", L.STYLE_H1)
    p(doc, "{%p for text in section1 %}", L.STYLE_BODY)
    p(doc, "{{ text }}", L.STYLE_BODY)
    p(doc, "{%p endfor %}", L.STYLE_BODY)
    p(doc, "二、巡察整改任务落实情况", L.STYLE_H1)
    p(doc, "{%p if stats_sentence %}", L.STYLE_BODY)
    p(doc, "{{ stats_sentence }}", L.STYLE_BODY)
    p(doc, "{%p endif %}", L.STYLE_BODY)
    p(doc, "{%p for item in body %}", L.STYLE_BODY)
    p(doc, '{%p if item.kind == "heading2" %}', L.STYLE_BODY)
    p(doc, "{{ item.text }}", L.STYLE_H2)
    p(doc, '{%p elif item.kind == "heading3" %}', L.STYLE_BODY)
    p(doc, "{{ item.text }}", L.STYLE_H3)
    p(doc, "{%p else %}", L.STYLE_BODY)
    p(doc, "{{ item.text }}", L.STYLE_BODY)
    p(doc, "{%p endif %}", L.STYLE_BODY)
    p(doc, "{%p endfor %}", L.STYLE_BODY)
    p(doc, "三、下一步工作安排", L.STYLE_H1)
    p(doc, "{%p for item in section3 %}", L.STYLE_BODY)
    para = doc.add_paragraph(style=L.STYLE_BODY)
    para.add_run("{{ item.lead }}", style=L.STYLE_LEAD_CHAR)
    para.add_run("{{ item.text }}")
    p(doc, "{%p endfor %}", L.STYLE_BODY)
    p(
        doc,
        "欢迎广大干部群众对巡察整改落实情况进行监督。如有意见建议，请及时向我们反映。"
        "公开期限：{{ public_period }}。{{ contact_sentence }}",
        L.STYLE_BODY,
    )
    p(doc, "", L.STYLE_BODY)  # one blank line between the body and the signature
    p(doc, "{{ signature }}", L.STYLE_SIGNATURE)
    p(doc, "{{ date_text }}", L.STYLE_DATE)
    return doc


# Reminder table: (header, width in mm, cell text, alignment); widths add up to the 156 mm type width.
REMINDER_COLUMNS: tuple[tuple[str, float, str, str], ...] = (
    ("编号", 13, "{{ row.id }}", "center"),
    ("整改措施", 55, "{{ row.measure }}", "left"),
    ("责任人", 16, "{{ row.person }}", "center"),
    ("完成时限", 30, "{{ row.deadline }}", "center"),
    ("状态", 24, "{{ row.status }}", "center"),
    ("逾期天数", 18, "{{ row.days_overdue }}", "center"),
)
CELL_MARGIN = 57  # twips (1 mm) left and right inside reminder table cells


def _cell_borders_table(table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    tbl_pr.append(parse_xml(f"<w:tblBorders {nsdecls('w')}>{borders}</w:tblBorders>"))
    tbl_pr.append(parse_xml(f'<w:tblLayout {nsdecls("w")} w:type="fixed"/>'))
    tbl_pr.append(
        parse_xml(
            f'<w:tblCellMar {nsdecls("w")}><w:left w:w="{CELL_MARGIN}" w:type="dxa"/>'
            f'<w:right w:w="{CELL_MARGIN}" w:type="dxa"/></w:tblCellMar>'
        )
    )


def build_reminder_document() -> DocumentObject:
    """The reminder-letter template (提醒函) as a python-docx Document (not saved)."""
    doc = _new_document(KIND_REMINDER, "巡察整改督办函件模板（提醒函、督办函、告诫函）")
    p = _para
    number = doc.add_paragraph("{{ number }}", style=L.STYLE_BODY)
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER  # 文号 centred under the (absent) letterhead
    jc = number._p.pPr.find(qn("w:jc"))
    jc.addprevious(parse_xml(f'<w:ind {nsdecls("w")} w:firstLine="0" w:firstLineChars="0"/>'))
    p(doc, "", L.STYLE_BODY)
    p(doc, "{{ title }}", L.STYLE_TITLE)
    p(doc, "", L.STYLE_BODY)
    p(doc, "{{ addressee }}：", L.STYLE_ADDRESSEE)
    p(doc, "{{ opening }}", L.STYLE_BODY)
    table = doc.add_table(rows=4, cols=len(REMINDER_COLUMNS))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _cell_borders_table(table)
    header, loop_start, body_row, loop_end = table.rows
    header._tr.get_or_add_trPr().append(parse_xml(f"<w:tblHeader {nsdecls('w')}/>"))
    for i, (label, width, text, align) in enumerate(REMINDER_COLUMNS):
        for row in table.rows:
            row.cells[i].width = Mm(width)
        cells = (
            (header, label, L.STYLE_TABLE_HEAD),
            (loop_start, "{%tr for row in rows %}" if i == 0 else "", L.STYLE_TABLE),
            (body_row, text, L.STYLE_TABLE),
            (loop_end, "{%tr endfor %}" if i == 0 else "", L.STYLE_TABLE),
        )
        for row, value, style in cells:
            para = row.cells[i].paragraphs[0]
            para.style = style
            if value:
                para.add_run(value)
        body_row.cells[i].paragraphs[0]._p.get_or_add_pPr().append(parse_xml(f'<w:jc {nsdecls("w")} w:val="{align}"/>'))
        for row in table.rows:
            row.cells[i]._tc.get_or_add_tcPr().append(parse_xml(f'<w:vAlign {nsdecls("w")} w:val="center"/>'))
    for width_col, (_, width, _, _) in zip(table.columns, REMINDER_COLUMNS, strict=True):
        width_col.width = Mm(width)
    p(doc, "{%p for text in requests %}", L.STYLE_BODY)
    p(doc, "{{ text }}", L.STYLE_BODY)
    p(doc, "{%p endfor %}", L.STYLE_BODY)
    p(doc, "{%p if reply_sentence %}", L.STYLE_BODY)
    p(doc, "{{ reply_sentence }}", L.STYLE_BODY)
    p(doc, "{%p endif %}", L.STYLE_BODY)
    p(doc, "{%p if contact_sentence %}", L.STYLE_BODY)
    p(doc, "{{ contact_sentence }}", L.STYLE_BODY)
    p(doc, "{%p endif %}", L.STYLE_BODY)
    p(doc, "", L.STYLE_BODY)
    p(doc, "{{ signature }}", L.STYLE_SIGNATURE)
    p(doc, "{{ date_text }}", L.STYLE_DATE)
    return doc


def template_bytes(kind: str) -> bytes:
    """A freshly built template (``KIND_NOTICE`` or ``KIND_REMINDER``) as .docx bytes."""
    doc = build_notice_document() if kind == KIND_NOTICE else build_reminder_document()
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def build_templates(out_dir: Path | str = REPO_TEMPLATES) -> list[Path]:
    """Write ``notice_template.docx`` and ``reminder_template.docx`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, kind in ((NOTICE_TEMPLATE_NAME, KIND_NOTICE), (REMINDER_TEMPLATE_NAME, KIND_REMINDER)):
        path = out / name
        path.write_bytes(template_bytes(kind))
        paths.append(path)
    return paths
