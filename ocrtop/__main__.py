"""``python -m ocrtop``: the same as the ``ocrtop`` console command."""

import sys

from ocrtop.cli import main

sys.exit(main())
