"""Template lint: find tag problems in a Word template before docxtpl silently mangles them.

What is checked, each reported at the paragraph where it sits (1-based, counted in document
order through the part, paragraphs inside table cells included):

- ``broken-tag``      a tag's braces are separated (``{ {``, ``% }``) or a closer has no opener;
- ``unclosed-tag``    ``{{``/``{%`` with no closer before the next tag or the end;
- ``tag-across-paragraphs``  a tag that starts in one paragraph and ends in another (docxtpl
  would silently merge the paragraphs);
- ``split-tag``       a tag cut by a hyperlink, tracked change, field or content control —
  docxtpl joins runs but not those, and the result is broken XML that loses text;
- ``deleted-text``    other text in a ``{%p %}`` paragraph, ``{%tr %}`` row or ``{%tc %}`` cell,
  which docxtpl deletes together with the tag;
- ``several-paragraph-tags``  two ``{%p %}`` tags in one paragraph (only the first survives);
- ``syntax-error``    unbalanced ``for``/``if`` blocks and other Jinja syntax errors;
- ``unknown-variable`` / ``unknown-field``  names the toolkit does not provide;
- ``hard-coded-number`` (warning) a digit in the template's fixed wording: a count, rate or date
  written into the template goes stale with the next ledger; figures must come from ``{{ … }}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2
from docx import Document
from docx.document import Document as DocumentObject
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from jinja2 import meta, nodes

from toolkit.notice.context import NOTICE_ITEM_FIELDS, NOTICE_VARIABLES, REMINDER_ITEM_FIELDS, REMINDER_VARIABLES
from toolkit.notice.template_build import KIND_NOTICE, KIND_REMINDER

ERROR = "error"
WARNING = "warning"

_OPENERS = {"{{": "}}", "{%": "%}", "{#": "#}"}
_OPEN_RE = re.compile(r"\{\{|\{%|\{#")
_CLOSE_RE = re.compile(r"\}\}|%\}|#\}")
_SPACED_RE = re.compile(r"\{\s+[{%#]|[%#}]\s+\}")
_PREFIX_RE = re.compile(r"^([{][{%#])(p|tr|tc|r)\s")
_W_T = qn("w:t")
_W_R = qn("w:r")
_W_P = qn("w:p")
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_CONTAINER_NAMES = {
    "hyperlink": "超链接",
    "ins": "修订（插入）",
    "del": "修订（删除）",
    "fldSimple": "域",
    "smartTag": "智能标记",
    "sdtContent": "内容控件",
}


@dataclass(frozen=True)
class TemplateProblem:
    """One problem in a template: stable code, Chinese message, where it sits."""

    code: str
    message: str
    paragraph: int  # 1-based, in document order within ``part``
    excerpt: str
    part: str = "正文"
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def describe(self) -> str:
        """``正文第5段（“{{ titel }}”）：…`` — one line for a report."""
        return f"{self.part}第{self.paragraph}段（“{self.excerpt}”）：{self.message}"


@dataclass
class _Para:
    number: int
    element: object
    text: str
    parents: list  # parent of that run per character


@dataclass
class _Tag:
    start_para: int  # index into paragraphs
    end_para: int
    text: str  # full tag text, e.g. "{%p for x in y %}"
    prefix: str  # "", "p", "tr", "tc", "r"
    span: tuple[int, int] | None  # character span inside the paragraph (same-paragraph tags)


def _excerpt(text: str, limit: int = 40) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "…"


def _paragraphs(part_element) -> list[_Para]:
    out = []
    for number, p in enumerate(part_element.iter(_W_P), start=1):
        chars: list[str] = []
        parents: list = []
        for t in p.iter(_W_T):
            if any(a.tag == _MC_FALLBACK for a in t.iterancestors()):
                continue
            # Only text directly in this paragraph (not in a nested text-box paragraph).
            if next(t.iterancestors(_W_P)) is not p:
                continue
            run = t.getparent()
            parent = run.getparent() if run is not None else None
            for ch in t.text or "":
                chars.append(ch)
                parents.append(parent)
        out.append(_Para(number, p, "".join(chars), parents))
    return out


def _normalise_tag(tag: str) -> str:
    """What docxtpl hands to Jinja: prefix removed, Word's curly quotes made straight."""
    m = _PREFIX_RE.match(tag)
    if m:
        tag = m.group(1) + " " + tag[m.end() :]
    return tag.replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'")


def _container_name(element) -> str:
    local = element.tag.rsplit("}", 1)[-1]
    return _CONTAINER_NAMES.get(local, local)


def _scan(paras: list[_Para], problems: list[TemplateProblem], part: str) -> list[_Tag]:
    tags: list[_Tag] = []

    def report(code: str, i: int, message: str, severity: str = ERROR) -> None:
        problems.append(TemplateProblem(code, message, paras[i].number, _excerpt(paras[i].text), part, severity))

    broken_paras = set()
    for i, para in enumerate(paras):
        for m in _SPACED_RE.finditer(para.text):
            broken_paras.add(i)
            report(
                "broken-tag",
                i,
                f"标签的括号被拆开了（“{m.group(0)}”）：“{{{{”“{{%”“%}}”“}}}}”中间不能有空格或其他字符，请改为连写。",
            )

    i, pos = 0, 0
    while i < len(paras):
        text = paras[i].text
        m_open = _OPEN_RE.search(text, pos)
        m_close = _CLOSE_RE.search(text, pos)
        if m_close and (not m_open or m_close.start() < m_open.start()):
            if i not in broken_paras:
                report(
                    "broken-tag",
                    i,
                    f"有结束符“{m_close.group(0)}”却没有对应的开始符，标签可能写错或被拆开了。",
                )
            pos = m_close.end()
            continue
        if not m_open:
            i, pos = i + 1, 0
            continue
        closer = _OPENERS[m_open.group(0)]
        start = m_open.start()
        # Look for the closer, first here, then in the following paragraphs.
        j, search_from = i, m_open.end()
        found = None
        while j < len(paras):
            t = paras[j].text
            end = t.find(closer, search_from)
            nxt = _OPEN_RE.search(t, search_from)
            if nxt and (end < 0 or nxt.start() < end):
                break  # another tag starts first: this one is not closed
            if end >= 0:
                found = (j, end + len(closer))
                break
            j, search_from = j + 1, 0
        if found is None:
            report(
                "unclosed-tag",
                i,
                f"标签“{_excerpt(text[start:], 20)}”没有结束符“{closer}”，请补全或删除。",
            )
            pos = m_open.end()
            continue
        j, end = found
        if j == i:
            tag_text = text[start:end]
            span = (start, end)
        else:
            pieces = [text[start:]] + [paras[k].text for k in range(i + 1, j)] + [paras[j].text[:end]]
            tag_text = " ".join(pieces)
            span = None
            report(
                "tag-across-paragraphs",
                i,
                f"标签“{_excerpt(tag_text, 30)}”从第{paras[i].number}段开始，到第{paras[j].number}段才结束。"
                "标签不能跨段落（生成时会把这些段落合并），请把整个标签写在同一段内。",
            )
        prefix_m = _PREFIX_RE.match(tag_text)
        tags.append(_Tag(i, j, tag_text, prefix_m.group(2) if prefix_m else "", span))
        if j == i:
            pos = end
        else:
            i, pos = j, end
    return tags


def _check_containers(paras: list[_Para], tags: list[_Tag], problems: list[TemplateProblem], part: str) -> None:
    for tag in tags:
        if tag.span is None:
            continue
        para = paras[tag.start_para]
        a, b = tag.span
        parents = []
        for parent in para.parents[a:b]:
            if parent not in parents:
                parents.append(parent)
        if len(parents) > 1:
            names = "、".join(sorted({_container_name(p) for p in parents if p is not para.element}))
            problems.append(
                TemplateProblem(
                    "split-tag",
                    f"标签“{_excerpt(tag.text, 30)}”被{names or '其他元素'}拆开了，生成时会损坏文档、丢失文字。"
                    "请删除这个标签后整体重新输入（不要在修订模式下编辑标签，也不要给标签加超链接）。",
                    para.number,
                    _excerpt(para.text),
                    part,
                )
            )


def _check_structural(paras: list[_Para], tags: list[_Tag], problems: list[TemplateProblem], part: str) -> None:
    by_para: dict[int, list[_Tag]] = {}
    for tag in tags:
        by_para.setdefault(tag.start_para, []).append(tag)
    for i, ptags in by_para.items():
        para = paras[i]
        p_tags = [t for t in ptags if t.prefix == "p"]
        if len(p_tags) > 1:
            problems.append(
                TemplateProblem(
                    "several-paragraph-tags",
                    "一个段落里只能有一个 {%p … %} 标签（其余的会被丢掉），请把它们分到不同段落。",
                    para.number,
                    _excerpt(para.text),
                    part,
                )
            )
        for tag in ptags:
            if tag.prefix not in ("p", "tr", "tc") or tag.span is None:
                continue
            a, b = tag.span
            if tag.prefix == "p":
                others = [t.span for t in ptags if t.span]
                rest = "".join(ch for k, ch in enumerate(para.text) if not any(x <= k < y for x, y in others))
                scope = "段落"
            else:
                # {%tr %} removes its table row, {%tc %} its cell, with everything in them.
                container = next(para.element.iterancestors(qn("w:" + tag.prefix)), None)
                if container is None:
                    continue
                texts = []
                for p in container.iter(_W_P):
                    if p is para.element:
                        texts.append(para.text[:a] + para.text[b:])
                    else:
                        texts.append("".join(t.text or "" for t in p.iter(_W_T)))
                rest = "".join(texts)
                scope = "表格行" if tag.prefix == "tr" else "单元格"
            if rest.strip():
                problems.append(
                    TemplateProblem(
                        "deleted-text",
                        f"{{%{tag.prefix} … %}} 标签会连同所在{scope}一起删除，其中的文字“{_excerpt(rest, 20)}”"
                        "不会出现在生成的文件中。请把这些文字移到单独的段落。",
                        para.number,
                        _excerpt(para.text),
                        part,
                    )
                )


_DIGITS_RE = re.compile(r"[0-9０-９]+(?:[.．][0-9０-９]+)?[%％]?")


def _check_hard_coded_numbers(paras: list[_Para], tags: list[_Tag], problems: list[TemplateProblem], part: str) -> None:
    """Digits in the fixed wording (outside every tag) of a template's body."""
    spans: dict[int, list[tuple[int, int]]] = {}
    skip: set[int] = set()
    for tag in tags:
        if tag.span is None:
            skip.update(range(tag.start_para, tag.end_para + 1))
        else:
            spans.setdefault(tag.start_para, []).append(tag.span)
    for i, para in enumerate(paras):
        if i in skip:
            continue
        text = "".join(ch if not any(a <= k < b for a, b in spans.get(i, ())) else " " for k, ch in enumerate(para.text))
        found = _DIGITS_RE.findall(text)
        if found:
            shown = "、".join(f"“{x}”" for x in dict.fromkeys(found))
            problems.append(
                TemplateProblem(
                    "hard-coded-number",
                    f"模板的固定文字中写有数字{shown}：数字（个数、完成率、日期等）会随台账变化，写死在模板里会与台账不一致。"
                    "请删去，或改用 {{ … }} 变量（如 {{ stats_sentence }}、{{ public_period }}、{{ date_text }}）。",
                    para.number,
                    _excerpt(para.text),
                    part,
                    WARNING,
                )
            )


def _jinja_source(paras: list[_Para], tags: list[_Tag]) -> str:
    lines = [""] * len(paras)
    for tag in tags:
        if tag.span is not None:  # tags across paragraphs are reported already
            lines[tag.start_para] += _normalise_tag(tag.text)
    return "\n".join(lines)


def _check_jinja(
    paras: list[_Para],
    tags: list[_Tag],
    problems: list[TemplateProblem],
    part: str,
    variables: frozenset[str],
    item_fields: dict[str, frozenset[str]],
) -> None:
    env = jinja2.Environment(autoescape=True)
    source = _jinja_source(paras, tags)
    try:
        ast = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        k = min(max((exc.lineno or 1) - 1, 0), len(paras) - 1)
        problems.append(
            TemplateProblem(
                "syntax-error",
                f"模板标签写法有误或 for/if 没有配对结束（{exc.message}）。",
                paras[k].number,
                _excerpt(paras[k].text),
                part,
            )
        )
        return

    def para_at(lineno: int) -> _Para:
        return paras[min(max(lineno - 1, 0), len(paras) - 1)]

    unknown = meta.find_undeclared_variables(ast) - variables
    for name in sorted(unknown):
        line = min((n.lineno for n in ast.find_all(nodes.Name) if n.name == name), default=1)
        para = para_at(line)
        allowed = "、".join(sorted(variables))
        problems.append(
            TemplateProblem(
                "unknown-variable",
                f"未知变量“{name}”：工具不提供这个数据，生成时会出错。可用的变量有：{allowed}。",
                para.number,
                _excerpt(para.text),
                part,
            )
        )
    for loop in ast.find_all(nodes.For):
        if not (isinstance(loop.target, nodes.Name) and isinstance(loop.iter, nodes.Name)):
            continue
        fields = item_fields.get(loop.iter.name)
        if fields is None:
            continue
        for node in loop.find_all(nodes.Getattr):
            if isinstance(node.node, nodes.Name) and node.node.name == loop.target.name and node.attr not in fields:
                para = para_at(node.lineno)
                problems.append(
                    TemplateProblem(
                        "unknown-field",
                        f"未知字段“{loop.target.name}.{node.attr}”：{loop.iter.name} 中的每一项只有 "
                        f"{'、'.join(sorted(fields))}。",
                        para.number,
                        _excerpt(para.text),
                        part,
                    )
                )


def _parts(doc: DocumentObject) -> Iterable[tuple[str, object]]:
    yield "正文", doc.element.body
    counters = {RT.HEADER: 0, RT.FOOTER: 0}
    for rel in doc.part.rels.values():
        if rel.reltype in counters and not rel.is_external:
            counters[rel.reltype] += 1
            name = "页眉" if rel.reltype == RT.HEADER else "页脚"
            yield f"{name}{counters[rel.reltype]}", rel.target_part.element


def _pick_variables(doc: DocumentObject) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    keywords = doc.core_properties.keywords or ""
    if KIND_REMINDER in keywords:
        return REMINDER_VARIABLES, REMINDER_ITEM_FIELDS
    if KIND_NOTICE in keywords:
        return NOTICE_VARIABLES, NOTICE_ITEM_FIELDS
    # A template made elsewhere: take the variable set it fits best.
    text = "\n".join(p.text for p in _paragraphs(doc.element.body))
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", " ".join(re.findall(r"\{[{%].*?[%}]\}", text))))
    if len(names & REMINDER_VARIABLES) > len(names & NOTICE_VARIABLES):
        return REMINDER_VARIABLES, REMINDER_ITEM_FIELDS
    return NOTICE_VARIABLES, NOTICE_ITEM_FIELDS


def lint_document(
    doc: DocumentObject,
    *,
    variables: Iterable[str] | None = None,
    item_fields: dict[str, Iterable[str]] | None = None,
) -> list[TemplateProblem]:
    """Lint an opened python-docx document (see :func:`lint_template`)."""
    if variables is None:
        known, fields = _pick_variables(doc)
    else:
        known = frozenset(variables)
        fields = {k: frozenset(v) for k, v in (item_fields or {}).items()}
    problems: list[TemplateProblem] = []
    for part, element in _parts(doc):
        paras = _paragraphs(element)
        if not paras:
            continue
        found: list[TemplateProblem] = []
        tags = _scan(paras, found, part)
        _check_containers(paras, tags, found, part)
        _check_structural(paras, tags, found, part)
        if part == "正文":
            _check_hard_coded_numbers(paras, tags, found, part)
        if not any(p.code in ("unclosed-tag", "broken-tag") for p in found):
            _check_jinja(paras, tags, found, part, known, fields)
        problems += sorted(found, key=lambda p: p.paragraph)
    return problems


def lint_template(
    path: Path | str,
    *,
    variables: Iterable[str] | None = None,
    item_fields: dict[str, Iterable[str]] | None = None,
) -> list[TemplateProblem]:
    """Problems in the Word template at ``path``; an empty list means it is safe to render.

    ``variables`` is the set of names the template may use; by default the notice's or the
    reminder's (the toolkit's templates say which in their properties; for other templates
    the set that fits best is taken).
    """
    return lint_document(Document(str(path)), variables=variables, item_fields=item_fields)
