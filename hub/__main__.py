"""``python -m hub``: see :mod:`hub.cli`."""

from .cli import main

raise SystemExit(main())
