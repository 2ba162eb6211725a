"""XML helpers shared by every part editor: a tokeniser, a small tree with byte positions, escapes.

No part is re-serialised: editors locate elements by byte offset and splice new bytes in, so
everything they do not touch stays byte-identical. DTDs and entity declarations are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from perf_reference.patch.errors import refuse

_NAME = rb"[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?"
ATTRS = rb"(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*"
TOKEN_RE = re.compile(
    rb"(<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!DOCTYPE|<!ENTITY)|<(/?)(" + _NAME + rb")(" + ATTRS + rb")\s*(/?)>",
    re.S,
)
SPECIAL_RE = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.S)
_ATTR_RE = re.compile(rb"([^\s=/>]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_ENTITY_RE = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
X_ESC_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# Every "_" that starts an _xHHHH_ pattern (overlaps included) is itself escaped as _x005F_.
_X_LITERAL_RE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
_BAD_XML_CHARS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def unescape(raw: bytes) -> str:
    text = raw.decode("utf-8")
    if "&" in text:
        text = _ENTITY_RE.sub(
            lambda m: (
                _ENTITIES.get(m.group(1))
                or chr(int(m.group(1)[2:], 16) if m.group(1)[1] in "xX" else int(m.group(1)[1:]))
            ),
            text,
        )
    return text


def decode_ooxml_text(raw: bytes) -> str:
    """XML text → Python string, decoding ``_xHHHH_`` escapes (ST_Xstring)."""
    text = unescape(raw)
    if "_x" in text:
        text = X_ESC_RE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


def encode_ooxml_text(text: str) -> bytes:
    """Python string → XML text: ``_xHHHH_`` literals protected, XML-illegal characters escaped."""
    if "_x" in text:
        text = _X_LITERAL_RE.sub("_x005F_", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A raw CR would be normalised to LF by every XML parser; a character reference keeps it.
    text = text.replace("\r", "&#13;")
    if _BAD_XML_CHARS_RE.search(text):
        text = _BAD_XML_CHARS_RE.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    return text.encode("utf-8")


def escape_attr(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").encode("utf-8")


def parse_attrs(raw: bytes) -> dict[bytes, bytes]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR_RE.finditer(raw)}


def set_attr(head: bytes, name: bytes, value: bytes) -> bytes:
    """Set ``name="value"`` in a start tag (replacing an existing value, else appending)."""
    pat = re.compile(rb"(\s" + re.escape(name) + rb"\s*=\s*)(\"[^\"]*\"|'[^']*')")
    if pat.search(head):
        return pat.sub(lambda m: m.group(1) + b'"' + value + b'"', head, count=1)
    m = re.search(rb"\s*/?>$", head)
    assert m is not None
    return head[: m.start()] + b" " + name + b'="' + value + b'"' + head[m.start() :]


@dataclass
class Node:
    """A tag of a small XML part with its byte positions (for splicing)."""

    qname: bytes
    raw_attrs: bytes
    start: int
    head_end: int
    end: int = -1
    self_closing: bool = False
    children: list[Node] = field(default_factory=list)

    @property
    def prefix(self) -> bytes:
        return self.qname.rpartition(b":")[0]

    @property
    def local(self) -> bytes:
        return self.qname.rpartition(b":")[2]

    def attrs(self) -> dict[bytes, bytes]:
        return parse_attrs(self.raw_attrs)

    def get(self, name: bytes) -> str | None:
        raw = self.attrs().get(name)
        return None if raw is None else unescape(raw)

    def find(self, local: bytes) -> Node | None:
        return next((c for c in self.children if c.local == local), None)

    def findall(self, local: bytes) -> list[Node]:
        return [c for c in self.children if c.local == local]

    def close_pos(self) -> int:
        """Position of the end tag (where new children are inserted)."""
        return self.end - len(b"</" + self.qname + b">") if not self.self_closing else self.head_end


def parse_tree(xml: bytes, part: str) -> Node:
    """Tokenise a small XML part into a tree of :class:`Node` (no DTDs, no entity expansion)."""
    if xml[:2] in (b"\xff\xfe", b"\xfe\xff") or re.match(rb"<\?xml[^>]*encoding=[\"']utf-16", xml[:100], re.I):
        raise refuse(f"工作簿部件 {part} 使用 UTF-16 编码，无法安全写回。请用 Excel 打开并另存为 .xlsx 后再试。")
    root: Node | None = None
    stack: list[Node] = []
    for m in TOKEN_RE.finditer(xml):
        special, closing, qname, raw_attrs, selfc = m.groups()
        if special is not None:
            if special in (b"<!DOCTYPE", b"<!ENTITY"):
                raise refuse(f"工作簿部件 {part} 含有 DTD 声明，可能是恶意文件，已拒绝写回。")
            continue
        if closing:
            if not stack or stack[-1].qname != qname:
                raise refuse(f"工作簿部件 {part} 的 XML 结构异常。请用 Excel 打开并另存为 .xlsx 后再试。")
            stack.pop().end = m.end()
            continue
        node = Node(qname, raw_attrs, m.start(), m.end(), self_closing=bool(selfc))
        if stack:
            stack[-1].children.append(node)
        elif root is None:
            root = node
        if selfc:
            node.end = m.end()
        else:
            stack.append(node)
    if root is None or stack:
        raise refuse(f"工作簿部件 {part} 的 XML 结构异常。请用 Excel 打开并另存为 .xlsx 后再试。")
    return root


def ns_prefix(root: Node, uri: bytes) -> bytes | None:
    """Prefix bound to ``uri`` on the root element (b"" for the default namespace)."""
    for name, value in root.attrs().items():
        if value == uri:
            if name == b"xmlns":
                return b""
            if name.startswith(b"xmlns:"):
                return name[6:]
    return None


def qualify(prefix: bytes, local: bytes) -> bytes:
    return prefix + b":" + local if prefix else local


def splice(xml: bytes, edits: Iterable[tuple[int, int, bytes]]) -> bytes:
    """Apply non-overlapping (start, end, replacement) edits."""
    out: list[bytes] = []
    pos = 0
    for start, end, rep in sorted(edits, key=lambda e: (e[0], e[1])):
        out.append(xml[pos:start])
        out.append(rep)
        pos = end
    out.append(xml[pos:])
    return b"".join(out)
