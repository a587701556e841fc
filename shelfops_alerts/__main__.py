"""``python -m shelfops_alerts``: the same command line as ``shelfops-alerts``."""

import sys

from shelfops_alerts.cli import main

sys.exit(main())
