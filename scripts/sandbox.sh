#!/usr/bin/env bash
# The quick start's first command, for a fresh clone: installs the npm packages when they are missing (or older
# than package-lock.json), then runs `kmf sandbox` with the arguments given (--dir, --fresh, …). `kmf sandbox`
# itself checks Java and installs the Kafka/ZooKeeper runtime with Maven when it is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "error: Node.js 20.18+ with npm is needed: install it (https://nodejs.org, or your package manager) and run this again" >&2
  exit 1
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=18)?0:1)'; then
  echo "error: Node.js $(node --version) is too old: kmf needs 20.18 or newer" >&2
  exit 1
fi
if [ ! -d "$root/node_modules" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
  echo "installing npm packages (npm ci)…" >&2
  (cd "$root" && npm ci --no-audit --no-fund)
fi
# Not `cd`: a relative --dir stays relative to where this was run.
exec node --max-semi-space-size=16 --heap-growing-percent=50 "$root/bin/kmf.js" sandbox "$@"
