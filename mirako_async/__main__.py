"""Run the ``mirako-async`` command line: ``python -m mirako_async --help``."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
