"""`python -m presence_sync` runs the command line."""

try:
    from presence_sync.cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line is still loading: stop quietly
    raise SystemExit(130) from None

raise SystemExit(main())
