"""`python -m rnnviz`: the command line (see rnnviz/cli)."""
import sys

from rnnviz.cli import main

sys.exit(main())
