#!/usr/bin/env bash
# Run CI steps: `scripts/test.sh [STEP...]` is `scripts/ci.py [STEP...]` (the steps are nox
# sessions declared in noxfile.py; `scripts/ci.py --list` lists them). SANITY_ARGS, UNITS_ARGS
# and INTEGRATION_ARGS pass ansible-test options to those steps; KEEP_GOING=1 runs every step.
exec python3 "$(dirname "${BASH_SOURCE[0]}")/ci.py" "$@"
