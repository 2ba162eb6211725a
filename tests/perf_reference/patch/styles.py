"""The style sheet (``xl/styles.xml``): append-only numFmts, fonts, fills and cellXfs."""

from __future__ import annotations

import re
from datetime import date, datetime

from perf_reference.patch.errors import refuse
from perf_reference.patch.xmltree import Node, escape_attr, parse_attrs, parse_tree, qualify, set_attr, splice
from toolkit.core.plan import CellStyle, CellValue

BUILTIN_FORMATS = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 11: "0.00E+00",
    12: "# ?/?", 13: "# ??/??", 14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy",
    18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "m/d/yy h:mm",
    45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0", 48: "##0.0E+0", 49: "@",
}  # fmt: skip
# Builtin ids a plan's num_format may map to (14 and friends display per locale: avoid).
_REUSABLE_BUILTINS = {v: k for k, v in BUILTIN_FORMATS.items() if k in (0, 1, 2, 3, 4, 9, 10, 11, 49)}
_DATE_BUILTINS = set(range(14, 23)) | set(range(27, 37)) | {45, 46, 47} | set(range(50, 59))
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def is_date_format(num_fmt_id: int, code: str | None) -> bool:
    if num_fmt_id in _DATE_BUILTINS:
        return True
    if code is None or num_fmt_id in BUILTIN_FORMATS:
        return False
    stripped = re.sub(r'"[^"]*"|\\.|\[(?![hms]\])[^\]]*\]', "", code.split(";")[0])
    return code.lower() != "general" and bool(re.search(r"[ymdhs]", stripped, re.I))


def _child_key(node: Node) -> tuple:
    return (node.local, tuple(sorted(node.attrs().items())), tuple(_child_key(c) for c in node.children))


class Styles:
    """Append-only editor of styles.xml (numFmts, fonts, fills, cellXfs)."""

    def __init__(self, xml: bytes | None, part: str | None) -> None:
        self.xml = xml
        self.part = part
        self.added: dict[bytes, list[bytes]] = {b"numFmts": [], b"fonts": [], b"fills": [], b"cellXfs": []}
        self._cache: dict[tuple, int] = {}
        if xml is None:
            return
        self.root = parse_tree(xml, part or "styles.xml")
        self.p = self.root.prefix
        self.containers = {c.local: c for c in self.root.children}
        self.num_fmts: dict[int, str] = {}
        nf = self.containers.get(b"numFmts")
        for n in nf.children if nf else []:
            if n.get(b"numFmtId") is not None:
                self.num_fmts[int(n.get(b"numFmtId") or 0)] = n.get(b"formatCode") or ""
        self.fonts = [c for c in self.containers[b"fonts"].children] if b"fonts" in self.containers else []
        self.fills = [c for c in self.containers[b"fills"].children] if b"fills" in self.containers else []
        self.xfs = [c for c in self.containers[b"cellXfs"].children] if b"cellXfs" in self.containers else []
        self.font_keys = {
            self._font_key([(ch.local, ch.raw_attrs) for ch in f.children]): i for i, f in enumerate(self.fonts)
        }
        self.fill_keys: dict[tuple, int] = {}
        for i, f in enumerate(self.fills):
            self.fill_keys.setdefault(_child_key(f), i)
        self.xf_keys: dict[tuple, int] = {}
        for i, x in enumerate(self.xfs):
            self.xf_keys.setdefault(self._xf_key_from_node(x), i)
        self.next_fmt_id = max([163, *self.num_fmts]) + 1

    @property
    def available(self) -> bool:
        return self.xml is not None and all(k in self.containers for k in (b"fonts", b"fills", b"cellXfs"))

    # --- lookups
    def num_fmt_of(self, xf: int) -> tuple[int, str | None]:
        if self.xml is None or not (0 <= xf < len(self.xfs)):
            return 0, "General"
        fid = int(self.xfs[xf].get(b"numFmtId") or 0)
        return fid, self.num_fmts.get(fid, BUILTIN_FORMATS.get(fid))

    def is_date_xf(self, xf: int) -> bool:
        return is_date_format(*self.num_fmt_of(xf))

    # --- keys
    @staticmethod
    def _font_key(children: list[tuple[bytes, bytes]]) -> tuple:
        return tuple((local, tuple(sorted(parse_attrs(raw).items()))) for local, raw in children)

    @staticmethod
    def _xf_key(attrs: dict[bytes, bytes], children: list[tuple[bytes, bytes]]) -> tuple:
        norm = {k: v for k, v in attrs.items() if not k.startswith(b"xmlns")}
        return (
            tuple(sorted(norm.items())),
            tuple((loc, tuple(sorted(parse_attrs(raw).items()))) for loc, raw in children),
        )

    def _xf_key_from_node(self, node: Node) -> tuple:
        return self._xf_key(node.attrs(), [(c.local, c.raw_attrs) for c in node.children if not c.children])

    # --- builders
    def _num_fmt_id(self, code: str) -> int:
        if code in _REUSABLE_BUILTINS:
            return _REUSABLE_BUILTINS[code]
        for fid, c in self.num_fmts.items():
            if c == code:
                return fid
        fid = self.next_fmt_id
        self.next_fmt_id += 1
        self.num_fmts[fid] = code
        self.added[b"numFmts"].append(
            b"<"
            + qualify(self.p, b"numFmt")
            + b' numFmtId="'
            + str(fid).encode()
            + b'" formatCode="'
            + escape_attr(code)
            + b'"/>'
        )
        return fid

    def _font_id(self, base: int, style: CellStyle) -> int:
        children = [(c.local, c.raw_attrs) for c in self.fonts[base].children] if 0 <= base < len(self.fonts) else []
        out: list[tuple[bytes, bytes]] = [(b"b", b"")] if style.bold else []
        color_done = False
        for local, raw in children:
            if local == b"b":
                continue
            if local == b"color" and style.font_color:
                out.append((b"color", b' rgb="FF' + style.font_color.upper().encode() + b'"'))
                color_done = True
                continue
            out.append((local, raw))
        if style.font_color and not color_done:
            pos = next((i + 1 for i, (loc, _) in enumerate(out) if loc == b"sz"), len(out))
            out.insert(pos, (b"color", b' rgb="FF' + style.font_color.upper().encode() + b'"'))
        key = self._font_key(out)
        if key in self.font_keys:
            return self.font_keys[key]
        fid = len(self.fonts) + len(self.added[b"fonts"])
        self.font_keys[key] = fid
        self.added[b"fonts"].append(
            b"<" + qualify(self.p, b"font") + b">"
            + b"".join(b"<" + qualify(self.p, loc) + raw + b"/>" for loc, raw in out)
            + b"</" + qualify(self.p, b"font") + b">"
        )  # fmt: skip
        return fid

    def _fill_id(self, rgb: str | None) -> int:
        p = self.p
        if rgb is None:
            xml = (
                b"<"
                + qualify(p, b"fill")
                + b"><"
                + qualify(p, b"patternFill")
                + b' patternType="none"/></'
                + qualify(p, b"fill")
                + b">"
            )
        else:
            xml = (
                b"<" + qualify(p, b"fill") + b"><" + qualify(p, b"patternFill") + b' patternType="solid"><'
                + qualify(p, b"fgColor") + b' rgb="FF' + rgb.upper().encode() + b'"/><' + qualify(p, b"bgColor")
                + b' indexed="64"/></' + qualify(p, b"patternFill") + b"></" + qualify(p, b"fill") + b">"
            )  # fmt: skip
        key = _child_key(parse_tree(xml, "fill"))
        if key in self.fill_keys:
            return self.fill_keys[key]
        fid = len(self.fills) + len(self.added[b"fills"])
        self.fill_keys[key] = fid
        self.added[b"fills"].append(xml)
        return fid

    def resolve(self, base: int, style: CellStyle | None, value: CellValue) -> int:
        """The xf index for a cell currently styled ``base`` written with ``style``/``value``."""
        is_date = isinstance(value, date)
        key = (base, style, type(value) if is_date else None)
        if key in self._cache:
            return self._cache[key]
        if style is None and (not is_date or self.is_date_xf(base)):
            result = base
        else:
            result = self._derive(base, normalise_style(style), value)
        self._cache[key] = result
        return result

    def _derive(self, base: int, style: CellStyle | None, value: CellValue) -> int:
        if not self.available:
            raise refuse("工作簿缺少完整的样式表，无法写入带格式的单元格。请用 Excel 打开并另存一次后再试。")
        base = base if 0 <= base < len(self.xfs) else 0
        bnode = self.xfs[base] if self.xfs else None
        attrs = (
            dict(bnode.attrs())
            if bnode
            else {b"numFmtId": b"0", b"fontId": b"0", b"fillId": b"0", b"borderId": b"0", b"xfId": b"0"}
        )
        children = [(c.local, c.raw_attrs) for c in bnode.children if not c.children] if bnode else []
        # Number format.
        fmt_id = int(attrs.get(b"numFmtId", b"0"))
        if style is not None and style.num_format:
            fmt_id = self._num_fmt_id(style.num_format)
        if isinstance(value, date) and not is_date_format(
            fmt_id, self.num_fmts.get(fmt_id, BUILTIN_FORMATS.get(fmt_id))
        ):
            fmt_id = self._num_fmt_id(DATETIME_FORMAT if isinstance(value, datetime) else DATE_FORMAT)
        attrs[b"numFmtId"] = str(fmt_id).encode()
        if fmt_id:
            attrs[b"applyNumberFormat"] = b"1"
        if style is not None:
            attrs[b"fontId"] = str(self._font_id(int(attrs.get(b"fontId", b"0")), style)).encode()
            attrs[b"applyFont"] = b"1"
            attrs[b"fillId"] = str(self._fill_id(style.fill)).encode()
            attrs[b"applyFill"] = b"1"
            align = next((parse_attrs(raw) for loc, raw in children if loc == b"alignment"), {})
            align.pop(b"horizontal", None)
            align.pop(b"wrapText", None)
            if style.align:
                align[b"horizontal"] = style.align.encode()
            if style.wrap:
                align[b"wrapText"] = b"1"
            children = [(loc, raw) for loc, raw in children if loc != b"alignment"]
            if align:
                raw = b"".join(b" " + k + b'="' + v + b'"' for k, v in align.items())
                children.insert(0, (b"alignment", raw))
                attrs[b"applyAlignment"] = b"1"
        key = self._xf_key(attrs, children)
        if key in self.xf_keys:
            return self.xf_keys[key]
        xid = len(self.xfs) + len(self.added[b"cellXfs"])
        self.xf_keys[key] = xid
        head = b"<" + qualify(self.p, b"xf") + b"".join(b" " + k + b'="' + v + b'"' for k, v in attrs.items())
        if children:
            body = b"".join(b"<" + qualify(self.p, loc) + raw + b"/>" for loc, raw in children)
            self.added[b"cellXfs"].append(head + b">" + body + b"</" + qualify(self.p, b"xf") + b">")
        else:
            self.added[b"cellXfs"].append(head + b"/>")
        return xid

    def render(self) -> bytes | None:
        if self.xml is None or not any(self.added.values()):
            return None
        edits: list[tuple[int, int, bytes]] = []
        for local in (b"numFmts", b"fonts", b"fills", b"cellXfs"):
            new = self.added[local]
            if not new:
                continue
            node = self.containers.get(local)
            if node is None:  # only numFmts can be missing here: it goes first
                assert local == b"numFmts"
                pos = self.root.children[0].start if self.root.children else self.root.close_pos()
                q = qualify(self.p, local)
                edits.append(
                    (
                        pos,
                        pos,
                        b"<" + q + b' count="' + str(len(new)).encode() + b'">' + b"".join(new) + b"</" + q + b">",
                    )
                )
                continue
            total = len(node.children) + len(new)
            head = set_attr(self.xml[node.start : node.head_end], b"count", str(total).encode())
            if node.self_closing:
                head = head[:-2].rstrip() + b">"
                edits.append((node.start, node.end, head + b"".join(new) + b"</" + node.qname + b">"))
            else:
                edits.append((node.start, node.head_end, head))
                edits.append((node.close_pos(), node.close_pos(), b"".join(new)))
        return splice(self.xml, edits)

    @property
    def xfs_added(self) -> int:
        return len(self.added[b"cellXfs"])


def normalise_style(style: CellStyle | None) -> CellStyle | None:
    if style is None:
        return None
    return CellStyle(
        fill=style.fill.lstrip("#").upper() if style.fill else None,
        font_color=style.font_color.lstrip("#").upper() if style.font_color else None,
        bold=style.bold,
        num_format=style.num_format,
        wrap=style.wrap,
        align=style.align,
    )
