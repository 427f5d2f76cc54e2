#!/usr/bin/env bash
# The test command (README): type-check, lint, then every unit and integration test.
# Idempotent setup first, so that `npm test` on a fresh clone installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.json --noEmit
npx eslint .
shopt -s nullglob
files=(test/unit/*.test.ts test/integration/*.test.ts)
exec node --import tsx --test --test-reporter=spec --test-timeout=600000 --test-force-exit "${files[@]}"
