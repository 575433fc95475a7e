"""`python -m sandbox`: the command-line interface (see :mod:`sandbox.cli`)."""

from .cli import main

raise SystemExit(main())
