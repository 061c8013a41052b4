"""``python -m analyzer``: the ``hfexplain`` command where the scripts folder is not on PATH (or on Windows)."""

import sys

from .cli import main

sys.exit(main())
