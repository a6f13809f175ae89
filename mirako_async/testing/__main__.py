"""Command line entry point: ``python -m mirako_async.testing --help``."""

from ._process import main

raise SystemExit(main())
