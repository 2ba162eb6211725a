"""The shared-string table (``xl/sharedStrings.xml``): append only, existing entries never move."""

from __future__ import annotations

import re

from toolkit.excel.patch.xmltree import (
    SPECIAL_RE,
    TOKEN_RE,
    X_ESC_RE,
    Node,
    decode_ooxml_text,
    encode_ooxml_text,
    parse_attrs,
    parse_tree,
    qualify,
    set_attr,
)


class SharedStrings:
    """Append-only view of the shared-string table.

    Entries are kept as their raw XML and decoded only when a touched cell refers to them;
    deduplication looks a new text up by its encoded form among the plain (single ``<t>``)
    entries, so loading a 100k-entry table costs one regex pass.
    """

    def __init__(self, xml: bytes | None, part: str | None) -> None:
        self.xml = xml
        self.part = part or "xl/sharedStrings.xml"
        self._raw: list[bytes] | None = None
        self._plain: dict[bytes, int] = {}
        self._decoded: dict[int, str] = {}
        self.appended: list[str] = []
        self.count_delta = 0

    def load(self) -> None:
        """Parse the table now (it is parsed when first needed otherwise)."""
        self._load()

    def _load(self) -> list[bytes]:
        if self._raw is None:
            self._raw = []
            if self.xml is not None:
                self._parse()
        return self._raw

    def _parse(self) -> None:
        assert self.xml is not None and self._raw is not None
        xml = self.xml
        root_m = next((m for m in TOKEN_RE.finditer(xml) if m.group(1) is None), None)
        specials = [m.group(0) for m in SPECIAL_RE.finditer(xml, root_m.end() if root_m else 0)]
        if root_m is None or specials or b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
            # Comments/CDATA/DTD: take the careful road (the tree tokeniser refuses DTDs).
            root = parse_tree(xml, self.part)
            for si in root.children:
                if si.local == b"si":
                    raw = xml[si.head_end : si.close_pos()] if not si.self_closing else b""
                    self._add(raw, xml, si)
            return
        p = re.escape(root_m.group(3).rpartition(b":")[0] + b":" if b":" in root_m.group(3) else b"")
        si_re = re.compile(rb"<" + p + rb"si(?:\s[^>]*)?(?:/>|>(.*?)</" + p + rb"si\s*>)", re.S)
        plain_re = re.compile(rb"<" + p + rb"t(\s+xml:space=\"preserve\")?>([^<]*)</" + p + rb"t>\Z")
        for m in si_re.finditer(xml, root_m.end()):
            raw = m.group(1) or b""
            pm = plain_re.match(raw)
            if pm is not None:
                self._plain.setdefault(_plain_key(pm.group(2), bool(pm.group(1))), len(self._raw))
            self._raw.append(raw)

    def _add(self, raw: bytes, xml: bytes, si: Node) -> None:
        assert self._raw is not None
        idx = len(self._raw)
        texts: list[str] = []
        _collect_text(si, xml, texts)
        self._decoded[idx] = "".join(texts)
        if len(si.children) == 1 and si.children[0].local == b"t":
            preserve = si.children[0].get(b"xml:space") == "preserve"
            self._plain.setdefault(_plain_key(encode_ooxml_text(self._decoded[idx]), preserve), idx)
        self._raw.append(raw)

    def text(self, index: int) -> str | None:
        raw = self._load()
        if not 0 <= index < len(raw):
            return None
        if index not in self._decoded:
            pm = _SI_PLAIN_RE.match(raw[index])
            if pm is not None:
                self._decoded[index] = decode_ooxml_text(pm.group(1))
                return self._decoded[index]
            node = parse_tree(b"<si>" + raw[index] + b"</si>", self.part)
            texts: list[str] = []
            _collect_text(node, b"<si>" + raw[index] + b"</si>", texts)
            self._decoded[index] = "".join(texts)
        return self._decoded[index]

    def index_for(self, text: str) -> int:
        raw = self._load()
        enc = encode_ooxml_text(text)
        # A text with edge whitespace may only reuse an entry marked xml:space="preserve".
        key = _plain_key(enc, True)
        idx = (
            self._plain.get(key)
            if needs_preserve(text)
            else self._plain.get(_plain_key(enc, False), self._plain.get(key))
        )
        if idx is None:
            idx = len(raw)
            raw.append(b"")
            self._decoded[idx] = text
            self._plain[_plain_key(enc, needs_preserve(text))] = idx
            self.appended.append(text)
        return idx

    def render(self) -> bytes | None:
        """New part bytes, or None when unchanged."""
        if self.xml is None or (not self.appended and not self.count_delta):
            return None
        xml = self.xml
        root_m = next(m for m in TOKEN_RE.finditer(xml) if m.group(1) is None)
        qname = root_m.group(3)
        prefix = qname.rpartition(b":")[0]
        si, t = qualify(prefix, b"si"), qualify(prefix, b"t")
        new = b"".join(
            b"<" + si + b"><" + t + (b' xml:space="preserve"' if needs_preserve(s) else b"") + b">"
            + encode_ooxml_text(s) + b"</" + t + b"></" + si + b">"
            for s in self.appended
        )  # fmt: skip
        head = xml[root_m.start() : root_m.end()]
        attrs = parse_attrs(root_m.group(4))
        if b"uniqueCount" in attrs and self.appended:
            head = set_attr(head, b"uniqueCount", str(int(attrs[b"uniqueCount"]) + len(self.appended)).encode())
        if b"count" in attrs and self.count_delta:
            head = set_attr(head, b"count", str(max(0, int(attrs[b"count"]) + self.count_delta)).encode())
        if root_m.group(5):  # <sst .../>
            head = head[:-2].rstrip() + b">"
            return xml[: root_m.start()] + head + new + b"</" + qname + b">" + xml[root_m.end() :]
        close = xml.rfind(b"</" + qname)
        return xml[: root_m.start()] + head + xml[root_m.end() : close] + new + xml[close:]


_SI_PLAIN_RE = re.compile(rb"<(?:[\w.\-]+:)?t(?:\s+xml:space=\"preserve\")?>([^<]*)</(?:[\w.\-]+:)?t>\Z")


def _plain_key(raw: bytes, preserve: bool) -> bytes:
    return b"\x00P" + raw if preserve else raw


def _collect_text(node: Node, xml: bytes, out: list[str]) -> None:
    """Text of an ``<si>``/``<is>``: its ``<t>`` and runs' ``<t>``, without phonetic ``<rPh>``."""
    for child in node.children:
        if child.local == b"t":
            if not child.self_closing:
                out.append(_text_of(xml, child))
        elif child.local == b"r":
            _collect_text(child, xml, out)


def _text_of(xml: bytes, node: Node) -> str:
    """Text content of a leaf element (CDATA sections included)."""
    return text_between(xml, node.head_end, node.close_pos())


def text_between(xml: bytes, start: int, end: int) -> str:
    inner = xml[start:end]
    if b"<![CDATA[" in inner:
        parts = re.split(rb"<!\[CDATA\[(.*?)\]\]>", inner, flags=re.S)
        return "".join(
            X_ESC_RE.sub(lambda m: chr(int(m.group(1), 16)), p.decode("utf-8")) if i % 2 else decode_ooxml_text(p)
            for i, p in enumerate(parts)
        )
    return decode_ooxml_text(inner)


def needs_preserve(text: str) -> bool:
    return text != text.strip() or "\n" in text or "\t" in text
