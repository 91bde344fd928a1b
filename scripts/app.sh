#!/usr/bin/env bash
# Set up (if needed) and start the Gradio app on http://127.0.0.1:7860 (GRADIO_SERVER_NAME / _PORT override).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python app/app.py "$@"
