#!/usr/bin/env bash
# Assembles kmf's Java runtime under .kmf/runtime/ from Maven Central, idempotently:
#   zookeeper/lib/           ZooKeeper standalone server jars (tests start ZooKeeperServerMain from them)
#   kafka-<v>/{bin,libs,config}  a Kafka (KRaft) distribution with our own small bin/ scripts
#   kafka-<v>.tgz            the same directory as a tarball: what the scheduler serves to Mesos tasks
#                            (CommandInfo.uris, extracted in the sandbox), so agents need only a JRE
#   manifest.json            versions and absolute paths, read by test/helpers/kafka-runtime.ts and kmf
# and builds the example Streams app (examples/wordcount). Each part is skipped when its stamp (pinned versions +
# hash of the inputs) matches, so a second run takes about a second.
# Needs java (17+) and mvn; ~/.m2 may be empty (MAVEN_OPTS=-Dmaven.repo.local=DIR picks another local repo).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

KAFKA_VERSION=4.4.0
ZOOKEEPER_VERSION=3.9.5
SCALA_VERSION=2.13

rt="$root/.kmf/runtime"
pom="$root/scripts/runtime/pom.xml"
kafka_home="$rt/kafka-$KAFKA_VERSION"
kafka_tgz="$rt/kafka-$KAFKA_VERSION.tgz"
zk_home="$rt/zookeeper"
app_dir="$root/examples/wordcount"
app_jar="$app_dir/target/wordcount-1.0.jar"
mkdir -p "$rt"
# One assembler at a time (two setups racing would share the .tmp directories).
exec 9>"$rt/.lock"
flock 9

log() { printf 'runtime: %s\n' "$*" >&2; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
# Maven 3.8 prints ANSI colour resets even in batch mode: strip them (pipefail keeps mvn's exit status).
mvn_q() { mvn -B -q "$@" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'; }

# ---- ZooKeeper ---------------------------------------------------------------------------------------------
zk_stamp="zookeeper=$ZOOKEEPER_VERSION pom=$(hash_of "$pom")"
if [ "$(cat "$zk_home/.stamp" 2>/dev/null)" != "$zk_stamp" ]; then
  log "assembling ZooKeeper $ZOOKEEPER_VERSION"
  tmp="$rt/.zookeeper.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  mvn_q -f "$pom" -P zookeeper -Dzookeeper.version="$ZOOKEEPER_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/lib"
  echo "$zk_stamp" >"$tmp/.stamp"
  rm -rf "$zk_home" && mv "$tmp" "$zk_home"
else
  log "ZooKeeper $ZOOKEEPER_VERSION up to date"
fi

# ---- Kafka distribution + tarball ------------------------------------------------------------------------------
kafka_stamp="kafka=$KAFKA_VERSION pom=$(hash_of "$pom") files=$(hash_of "$root"/scripts/runtime/kafka/bin/* "$root"/scripts/runtime/kafka/config/*)"
if [ "$(cat "$kafka_home/.stamp" 2>/dev/null)" != "$kafka_stamp" ] || [ ! -f "$kafka_tgz" ]; then
  log "assembling Kafka $KAFKA_VERSION"
  tmp="$rt/.kafka.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp/kafka-$KAFKA_VERSION"
  dist="$tmp/kafka-$KAFKA_VERSION"
  mvn_q -f "$pom" -P kafka -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dist/libs"
  cp -r "$root/scripts/runtime/kafka/bin" "$root/scripts/runtime/kafka/config" "$dist/"
  chmod +x "$dist"/bin/*
  echo "$KAFKA_VERSION" >"$dist/VERSION"
  # The tarball's top directory is kafka-<v>/, so a task runs ./kafka-<v>/bin/kafka-server-start after the fetch.
  # Jars are already compressed: gzip -1 costs little time and loses almost nothing.
  tar -C "$tmp" -cf - "kafka-$KAFKA_VERSION" | gzip -1 >"$tmp/kafka-$KAFKA_VERSION.tgz"
  echo "$kafka_stamp" >"$dist/.stamp"
  rm -rf "$kafka_home" "$kafka_tgz"
  mv "$dist" "$kafka_home"
  mv "$tmp/kafka-$KAFKA_VERSION.tgz" "$kafka_tgz"
  rm -rf "$tmp"
else
  log "Kafka $KAFKA_VERSION up to date"
fi

# ---- Example Streams app ----------------------------------------------------------------------------------------
if [ ! -f "$app_jar" ] || [ -n "$(find "$app_dir/pom.xml" "$app_dir/src" -newer "$app_jar" -print -quit)" ]; then
  log "building examples/wordcount"
  mvn_q -f "$app_dir/pom.xml" package -DskipTests
else
  log "examples/wordcount up to date"
fi

# ---- Manifest (always rewritten: cheap, and keeps absolute paths right if the tree moved) ----------------------
java_bin=$(command -v java)
cat >"$rt/manifest.json.tmp" <<EOF
{
  "kafka": {
    "version": "$KAFKA_VERSION",
    "scalaVersion": "$SCALA_VERSION",
    "home": "$kafka_home",
    "tarball": "$kafka_tgz",
    "tarballSha256": "$(sha256sum "$kafka_tgz" | cut -d' ' -f1)",
    "topDir": "kafka-$KAFKA_VERSION",
    "serverStart": "bin/kafka-server-start",
    "storageTool": "bin/kafka-storage"
  },
  "zookeeper": {
    "version": "$ZOOKEEPER_VERSION",
    "home": "$zk_home",
    "lib": "$zk_home/lib",
    "mainClass": "org.apache.zookeeper.server.ZooKeeperServerMain"
  },
  "wordcount": {
    "jar": "$app_jar",
    "mainClass": "io.kmf.examples.WordCount",
    "kafkaStreamsVersion": "$KAFKA_VERSION"
  },
  "javaBin": "$java_bin"
}
EOF
mv "$rt/manifest.json.tmp" "$rt/manifest.json"
log "manifest: $rt/manifest.json"
