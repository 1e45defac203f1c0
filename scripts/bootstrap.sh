#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian machine (Python >= 3.11):
# system packages (CJK fonts and the Pango libraries WeasyPrint renders PDF reports with),
# a virtual environment in .venv, and the project with its test dependencies.
# Safe to run again: every step is idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

# libharfbuzz-subset0: WeasyPrint subsets the embedded CJK font with it (without it fontTools takes
# ~15 s per PDF on Noto CJK); poppler-utils: pdftotext/pdftoppm for the PDF report tests.
APT_PACKAGES=(fonts-noto-cjk fontconfig libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b shared-mime-info
              libharfbuzz-subset0 poppler-utils)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing system packages: ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: please install these system packages (as root): ${missing[*]}" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
echo "bootstrap: ready (.venv/bin/conformance)"
