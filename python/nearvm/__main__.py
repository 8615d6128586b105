"""``python -m nearvm`` — the same as the ``nearvm`` command."""

import sys

from .cli import main

sys.exit(main())
