"""`python -m dev.stack …`: the local stack's command line (dev/stack/cli.py)."""
import sys

from dev.stack.cli import main

sys.exit(main())
