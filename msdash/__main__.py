"""``python -m msdash …``: the command-line interface (see :mod:`msdash.cli`)."""

import sys

from msdash.cli import main

if __name__ == "__main__":
    sys.exit(main())
