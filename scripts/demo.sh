#!/usr/bin/env bash
# Placeholder until the cairn tool lands: shows the build is in place.
set -euo pipefail
echo "demo: the cairn tool is not built yet (build dir: $1)"
