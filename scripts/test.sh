#!/usr/bin/env bash
# Set up and run the test suite on a fresh Debian machine (Python 3.11+, pip, apt).
# LibreOffice, CJK fonts and poppler are installed with apt when we are root and they are missing,
# so the PDF and LibreOffice tests run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v soffice >/dev/null 2>&1 || ! command -v pdffonts >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -q "Noto Serif CJK"; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing LibreOffice, CJK fonts and poppler (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
      libreoffice-writer-nogui libreoffice-calc-nogui fonts-noto-cjk fonts-arphic-ukai poppler-utils >/dev/null
  else
    echo "== LibreOffice/fonts/poppler missing and not root: those tests will be skipped"
  fi
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
