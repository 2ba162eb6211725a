"""PDF preview with LibreOffice headless, the official font names mapped to free fonts.

Each conversion runs ``soffice`` with a private, throw-away profile
(``-env:UserInstallation=file:///…``, so a running LibreOffice or a broken user profile does
not interfere) and with ``FONTCONFIG_FILE`` pointing at a generated fontconfig file that maps
仿宋_GB2312/仿宋/宋体 → Noto Serif CJK SC, 方正小标宋简体 → Noto Serif CJK SC Bold,
黑体 → Noto Sans CJK SC and 楷体_GB2312/楷体 → AR PL UKai CN (Debian: fonts-noto-cjk,
fonts-arphic-ukai). Without the mapping LibreOffice falls back to DejaVu or a Japanese face.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from toolkit.notice.errors import PdfConversionFailed, PdfUnavailable

# Official font name → (free family, bold).
FONT_MAP: dict[str, tuple[str, bool]] = {
    "仿宋_GB2312": ("Noto Serif CJK SC", False),
    "仿宋": ("Noto Serif CJK SC", False),
    "FangSong": ("Noto Serif CJK SC", False),
    "FangSong_GB2312": ("Noto Serif CJK SC", False),
    "宋体": ("Noto Serif CJK SC", False),
    "SimSun": ("Noto Serif CJK SC", False),
    "方正小标宋简体": ("Noto Serif CJK SC", True),
    "方正小标宋_GBK": ("Noto Serif CJK SC", True),
    "小标宋": ("Noto Serif CJK SC", True),
    "黑体": ("Noto Sans CJK SC", False),
    "SimHei": ("Noto Sans CJK SC", False),
    "楷体_GB2312": ("AR PL UKai CN", False),
    "楷体": ("AR PL UKai CN", False),
    "KaiTi": ("AR PL UKai CN", False),
    "KaiTi_GB2312": ("AR PL UKai CN", False),
}

SOFFICE_NAMES = ("soffice", "libreoffice")
_MISSING = (
    "未找到 LibreOffice（soffice 命令），无法生成 PDF 预览；Word 文件已正常生成。"
    "如需 PDF，请安装 LibreOffice（Debian/Ubuntu：apt-get install libreoffice-writer），"
    "或设置环境变量 SOFFICE 指向 soffice 程序。"
)


def find_soffice() -> str | None:
    """Path of the LibreOffice binary: ``$SOFFICE`` when set, else ``soffice``/``libreoffice`` on PATH."""
    explicit = os.environ.get("SOFFICE")
    if explicit:
        return explicit if Path(explicit).exists() else shutil.which(explicit)
    for name in SOFFICE_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def fontconfig_xml() -> str:
    """A fontconfig file: the system configuration plus one strong substitution per official name."""
    rules = []
    for name, (family, bold) in FONT_MAP.items():
        weight = '<edit name="weight" mode="assign" binding="strong"><const>bold</const></edit>' if bold else ""
        rules.append(
            '  <match target="pattern">'
            f'<test qual="any" name="family"><string>{escape(name)}</string></test>'
            f'<edit name="family" mode="assign" binding="strong"><string>{escape(family)}</string></edit>'
            f"{weight}</match>"
        )
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        + "\n".join(rules)
        + '\n  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n</fontconfig>\n'
    )


def write_fontconfig(directory: Path) -> Path:
    """Write ``fonts.conf`` (see :func:`fontconfig_xml`) into ``directory`` and return its path."""
    path = directory / "fonts.conf"
    path.write_text(fontconfig_xml(), encoding="utf-8")
    return path


_OVERFLOW_RE = re.compile(rb'<w:overflowPunct(?: w:val="([^"]*)")?\s*/>')
_LO_FIXED_PARTS = ("word/document.xml", "word/styles.xml")


def _flip_overflow(match: re.Match[bytes]) -> bytes:
    allowed = match.group(1) not in (b"0", b"false", b"off")
    return b'<w:overflowPunct w:val="%s"/>' % (b"0" if allowed else b"1")


def libreoffice_copy(source: Path, target: Path) -> Path:
    """Copy a .docx for LibreOffice, working around its inverted ``w:overflowPunct``.

    Word reads ``<w:overflowPunct w:val="0"/>`` as "no hanging punctuation" (the
    ECMA-376 meaning); LibreOffice's importer sets hanging punctuation when the value is 0
    (``PROP_PARA_IS_HANGING_PUNCTUATION = nIntValue == 0`` in writerfilter), so a 29th
    character such as 。 would stick into the right margin of the PDF. The copy carries the
    inverted value; the .docx given to staff keeps the standard one.
    """
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename in _LO_FIXED_PARTS:
                data = _OVERFLOW_RE.sub(_flip_overflow, data)
            zout.writestr(item, data)
    return target


def convert_to_pdf(docx_path: Path | str, *, out_dir: Path | str | None = None, timeout: float = 180) -> Path:
    """Convert a .docx to PDF next to it (or into ``out_dir``); returns the PDF path.

    Raises :class:`PdfUnavailable` when LibreOffice is not installed and
    :class:`PdfConversionFailed` when it runs but no PDF appears.
    """
    soffice = find_soffice()
    if soffice is None:
        raise PdfUnavailable(_MISSING)
    source = Path(docx_path).resolve()
    target_dir = Path(out_dir).resolve() if out_dir else source.parent
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / (source.stem + ".pdf")
    with tempfile.TemporaryDirectory(prefix="toolkit-lo-") as tmp:
        tmp_path = Path(tmp)
        profile = tmp_path / "profile"
        work = tmp_path / "in"
        work.mkdir()
        lo_input = libreoffice_copy(source, work / source.name)
        env = dict(os.environ)
        env["FONTCONFIG_FILE"] = str(write_fontconfig(tmp_path))
        cmd = [
            soffice,
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(tmp_path),
            str(lo_input),
        ]
        if target.exists():
            target.unlink()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PdfConversionFailed(
                f"LibreOffice 转换超时（超过{int(timeout)}秒），未生成 PDF：{source.name}"
            ) from exc
        produced = tmp_path / (source.stem + ".pdf")
        if proc.returncode != 0 or not produced.exists():
            detail = (proc.stderr or proc.stdout or "").strip()[-300:]
            raise PdfConversionFailed(
                f"LibreOffice 未能把 {source.name} 转成 PDF（返回码 {proc.returncode}）。{detail}"
            )
        shutil.move(str(produced), target)
    return target
