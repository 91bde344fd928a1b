"""``python -m facemask``: see :mod:`facemask.cli`."""

from .cli import main

raise SystemExit(main())
