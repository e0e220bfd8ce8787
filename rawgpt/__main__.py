"""``python -m rawgpt``: the same as the ``rawgpt`` command."""

import sys

from .cli import main

sys.exit(main())
