#!/usr/bin/env bash
# Set up and run the test suite on a fresh Debian machine (Python 3.11+, pip, apt).
# The PDF/LibreOffice tests need LibreOffice, poppler-utils, fontconfig and the CJK fonts the notice
# is mapped to (toolkit/notice/pdf.py FONT_MAP); the board tests need Chromium; the corpus tests need
# ../shared beside the repository.
# Missing tools are installed with apt when we are root. Whatever is still missing then makes the
# run FAIL under CI=true (as the tests themselves do, tests/conftest.py require()); locally those
# tests are skipped with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."

in_ci() {
  case "${CI:-}" in "" | 0 | false | False | FALSE | no | No | NO) return 1 ;; *) return 0 ;; esac
}

# One line per missing tool or font, nothing when all are there.
missing_tools() {
  command -v soffice >/dev/null 2>&1 || echo "soffice (apt: libreoffice-writer-nogui libreoffice-calc-nogui)"
  for tool in pdfinfo pdffonts pdftotext; do
    command -v "$tool" >/dev/null 2>&1 || echo "$tool (apt: poppler-utils)"
  done
  command -v chromium >/dev/null 2>&1 || echo "chromium (apt: chromium)"
  for tool in fc-list fc-match; do
    command -v "$tool" >/dev/null 2>&1 || echo "$tool (apt: fontconfig)"
  done
  if command -v fc-list >/dev/null 2>&1; then
    local families
    families="$(fc-list : family style)"
    for family in "Noto Serif CJK SC" "Noto Sans CJK SC"; do
      grep -F "$family" <<<"$families" | grep -q "Regular" || echo "font $family Regular (apt: fonts-noto-cjk)"
    done
    grep -F "Noto Serif CJK SC" <<<"$families" | grep -q "Bold" || echo "font Noto Serif CJK SC Bold (apt: fonts-noto-cjk)"
    grep -qF "AR PL UKai CN" <<<"$families" || echo "font AR PL UKai CN (apt: fonts-arphic-ukai)"
  fi
}

missing="$(missing_tools)"
if [ -n "$missing" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing LibreOffice, poppler-utils, fontconfig, CJK fonts and Chromium (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils fontconfig fonts-noto-cjk fonts-arphic-ukai chromium >/dev/null
  fc-cache -f >/dev/null 2>&1 || true
  missing="$(missing_tools)"
fi
for part in ../shared/corpus/calamine-tests ../shared/reference/qingyuan-highway-notice-2025.txt; do
  [ -e "$part" ] || missing="${missing:+$missing
}$part (the shared corpus/reference folder beside the repository)"
done
if [ -n "$missing" ]; then
  if in_ci; then
    echo "== CI=true but these are missing, so the LibreOffice/PDF/font/corpus tests cannot run:" >&2
    echo "$missing" | sed 's/^/   - /' >&2
    echo "   Run this script as root on Debian (it installs them with apt) or install them first." >&2
    exit 1
  fi
  echo "== missing (the tests that need them are SKIPPED here and FAIL under CI=true):"
  echo "$missing" | sed 's/^/   - /'
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv; then
    # Debian's own python3 ships venv separately.
    rm -rf .venv
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    fi
    "$PY" -m venv .venv
  fi
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
exec .venv/bin/python -m pytest "$@"
