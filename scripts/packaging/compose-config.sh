#!/usr/bin/env bash
# Checks docker-compose.yml the way `docker compose config` does, without a Docker engine: builds
# scripts/packaging/compose-config (compose-go, from the Go module proxy) into .kmf/tools/ and runs it.
# Optional (needs Go 1.24+); the unit tests check the file with the Compose schema and dclint from npm instead.
#   bash scripts/packaging/compose-config.sh [FILE]     prints the resolved model; exit 1 if the file is invalid
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=.kmf/tools/compose-config
src=scripts/packaging/compose-config
if [ ! -x "$bin" ] || [ -n "$(find "$src" -newer "$bin" -print -quit)" ]; then
  mkdir -p .kmf/tools
  (cd "$src" && go build -o "../../../$bin" .)
fi
exec "$bin" "${1:-docker-compose.yml}"
