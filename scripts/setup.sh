#!/usr/bin/env bash
# Create .venv in the repo and install what the project needs. Idempotent; fast when nothing changed.
#   scripts/setup.sh          runtime (app, CLI, training, Hub tools)
#   scripts/setup.sh --dev    plus tests and benchmarks (pytest, Playwright + Debian Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0; [ "${1:-}" = "--dev" ] && dev=1
req=requirements.txt; [ $dev = 1 ] && req=requirements-dev.txt

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do command -v "$candidate" >/dev/null && { python=$candidate; break; }; done
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv

stamp=.venv/.installed-$(cat requirements.txt "$req" | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$req"
  touch "$stamp"
fi

if [ $dev = 1 ] && [ ! -x /usr/bin/chromium ]; then
  # Browser tests drive Debian's Chromium through Playwright (never `playwright install`).
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "note: /usr/bin/chromium is missing (apt-get install chromium chromium-driver); browser tests will be skipped" >&2
  fi
fi
