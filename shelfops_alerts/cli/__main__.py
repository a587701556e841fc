"""``python -m shelfops_alerts.cli`` runs the same as the ``shelfops-alerts`` script."""

import sys

from shelfops_alerts.cli import main

sys.exit(main())
