"""``python -m headless.bench``: the bench command, or one child process (``--child``)."""

import sys

from headless.bench.cli import main

sys.exit(main())
