#!/usr/bin/env bash
# The test command (README: `bash scripts/test.sh`; .ci/run execs it). On a fresh machine it installs what is
# missing (Python packages from requirements-dev.txt, Debian's chromium for the browser tests), then runs every
# test: unit, AppTest and browser (tests/e2e). Extra arguments go to pytest, e.g. `bash scripts/test.sh -x -k train`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python}"

if ! "$PYTHON" scripts/pins_met.py requirements-dev.txt; then  # every pin already installed: nothing to do
    PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
fi

if [ ! -x /usr/bin/chromium ]; then  # `playwright install` cannot download browsers here; Debian's chromium can
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
            echo "scripts/test.sh: /usr/bin/chromium is missing and this user cannot install it (not root, no sudo);" \
                 "the browser tests will fail. Install it with: apt-get install -y chromium" >&2
        fi
    fi
    if [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; then
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get install -y chromium || { $SUDO apt-get update && $SUDO apt-get install -y chromium; }
    fi
fi

export OMP_WAIT_POLICY=PASSIVE  # idle torch threads sleep instead of spinning on a loaded 2-core machine
# Two workers (pytest-xdist): the browser tests, which mostly wait on the server and Chromium, run in order on one
# (tests/e2e/conftest.py groups them) while the other takes the rest; RNNVIZ_TEST_WORKERS=0 runs in one process.
exec "$PYTHON" -m pytest -n "${RNNVIZ_TEST_WORKERS:-2}" --dist loadgroup -p no:benchmark "$@"  # (a plugin some machines have)
