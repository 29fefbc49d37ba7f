"""``python -m netreg.cli``: the ``netreg`` command."""

import sys

from netreg.cli import main

sys.exit(main())
