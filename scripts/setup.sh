#!/usr/bin/env bash
# Installs what kmf's tests and sandbox need, idempotently: npm packages now; the Kafka and ZooKeeper
# runtime (Maven Central) and the example Streams app are added by scripts/runtime.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
if [ -f scripts/runtime.sh ]; then
  bash scripts/runtime.sh
fi
# Third-party Mesos scheduler libraries (PyPI) that the compatibility tests run against kmf mesos-sim.
bash scripts/compat/setup.sh
