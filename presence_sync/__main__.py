"""`python -m presence_sync` runs the command line."""

from presence_sync.cli import main

raise SystemExit(main())
