"""Training step and trace cost against plain torch.nn (same as `python -m rnnviz bench`)."""
import sys

from rnnviz.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
