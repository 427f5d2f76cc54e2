#!/usr/bin/env bash
# Fuzzes the admin API from its own OpenAPI document with schemathesis (PyPI), against a real, throwaway
# kmf: ZooKeeper + `kmf mesos-sim --synthetic` + a `kmf scheduler` process (test/helpers/fuzz-target.ts).
# Every operation gets generated valid and invalid requests (schema examples, boundary "coverage" cases,
# random fuzzing) with the admin token. The run fails on any 5xx, on an answer whose status, content type
# or body the document does not describe, or if the scheduler process dies.
#
#   scripts/fuzz-api.sh                       # default: 25 examples per operation, random seed
#   KMF_FUZZ_MAX_EXAMPLES=100 KMF_FUZZ_SEED=1 scripts/fuzz-api.sh
#   KMF_FUZZ_MAX_TIME=600 scripts/fuzz-api.sh  # keep fuzzing (repeating) until 600 s are spent
#
# schemathesis is installed into .kmf/fuzz/venv, pinned by scripts/fuzz/constraints.txt. Reports (JUnit)
# go to .kmf/fuzz/report. Exit status: schemathesis' (0 = no failure), or 3 if the scheduler crashed.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.kmf/fuzz/venv
max_examples="${KMF_FUZZ_MAX_EXAMPLES:-25}"
max_time=()
if [ -n "${KMF_FUZZ_MAX_TIME:-}" ]; then max_time=(--max-time "$KMF_FUZZ_MAX_TIME"); fi
seed="${KMF_FUZZ_SEED:-$RANDOM}"

stamp="$(cat scripts/fuzz/constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$venv/.kmf-stamp" ] || [ "$(cat "$venv/.kmf-stamp")" != "$stamp" ] || [ ! -x "$venv/bin/schemathesis" ]; then
  echo "fuzz: installing schemathesis into $venv" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "${KMF_FUZZ_PYTHON:-python3}" -m venv "$venv"
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 "$venv/bin/python" -m pip --quiet install -c scripts/fuzz/constraints.txt schemathesis
  echo "$stamp" >"$venv/.kmf-stamp"
fi

work="$(mktemp -d)"
mkfifo "$work/stdin"
node --import tsx test/helpers/fuzz-target.ts <"$work/stdin" >"$work/target.out" 2>"$work/target.err" &
target=$!
# Holding the target's stdin open keeps it alive; closing it (here, or because this script died) stops it.
exec 3>"$work/stdin"
cleanup() {
  exec 3>&-
  local rc=0
  wait "$target" || rc=$?
  rm -rf "$work"
  return "$rc"
}
trap 'cleanup || true' EXIT

for _ in $(seq 1 240); do
  if grep -q '^ready ' "$work/target.out"; then break; fi
  if ! kill -0 "$target" 2>/dev/null; then
    echo "fuzz: the target did not start:" >&2
    cat "$work/target.err" >&2
    exit 1
  fi
  sleep 0.5
done
read -r _ url token_file logs < <(grep '^ready ' "$work/target.out")
echo "fuzz: kmf scheduler at $url (logs in $logs), seed $seed, $max_examples examples per operation" >&2

# The synthetic sim runs no real Kafka, so the operations that ask Kafka itself (the topics, and removing a
# broker, which first moves its partitions away by reassignment) answer 503 to a valid request
# (kafka_unavailable / kafka_unreachable: the cluster cannot be reached, retry later), which the fuzzer
# would count as server errors. They get their own pass with invalid input only: that must be refused
# (4xx) before Kafka is asked. (listTopics takes no input at all, so it has no invalid input to send.)
needs_kafka='^(createTopic|getTopic|deleteTopic|addTopicPartitions|updateTopicConfig|removeBroker)$'
common=(--header "Authorization: Bearer $(cat "$token_file")"
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
  --max-examples "$max_examples" --seed "$seed" --workers 1 --request-timeout 30 "${max_time[@]}")

# schemathesis and hypothesis keep caches in the working directory: keep them under .kmf/fuzz.
root="$PWD"
cd .kmf/fuzz
status=0
echo "fuzz: pass 1: every operation but those that need a live Kafka cluster, valid and invalid input" >&2
"$root/$venv/bin/schemathesis" run "$url/openapi.json" "${common[@]}" \
  --exclude-operation-id-regex "$needs_kafka" --exclude-operation-id listTopics \
  --phases examples,coverage,fuzzing \
  --report junit --report-dir "$root/.kmf/fuzz/report" \
  || status=$?
echo "fuzz: pass 2: operations that need a live Kafka cluster, invalid input only" >&2
"$root/$venv/bin/schemathesis" run "$url/openapi.json" "${common[@]}" \
  --include-operation-id-regex "$needs_kafka" \
  --mode negative --suppress-health-check filter_too_much \
  --phases coverage,fuzzing \
  --report junit --report-dir "$root/.kmf/fuzz/report" \
  || status=$?

exec 3>&-
target_rc=0
wait "$target" || target_rc=$?
trap - EXIT
rm -rf "$work"
if [ "$target_rc" -eq 3 ]; then
  echo "fuzz: the kmf scheduler process died during the run (see $logs/scheduler.log)" >&2
  exit 3
fi
if [ "$status" -eq 0 ]; then rm -rf "$logs"; else echo "fuzz: scheduler and sim logs kept in $logs" >&2; fi
exit "$status"
