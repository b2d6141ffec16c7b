"""`python -m tools.cli`: the command line without the installed script (tests, training)."""

import sys

from tools.cli import main

sys.exit(main())
