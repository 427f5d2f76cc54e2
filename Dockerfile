# syntax=docker/dockerfile:1.7
# The kmf scheduler image: `docker build -t kmf:0.1.0 .`
#
#   build    node + JDK 17 + Maven: `npm ci`, `npm run build` (tsc -> dist/), scripts/runtime.sh (the Kafka
#            distribution tarball kmf serves to Mesos tasks, assembled from Maven Central)
#   deps     production node_modules only (`npm ci --omit=dev`)
#   runtime  node slim, non-root: dist/src, proto/, bin/, node_modules and the Kafka tarball + manifest.
#            No JDK: kmf itself never runs Java; Mesos agents run Kafka from the tarball with their own JRE.
#
# Checked without a Docker engine by test/unit/packaging-dockerfile.test.ts (see docs/docker-compose.md).

ARG NODE_VERSION=20.20

# ---- build ---------------------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm AS build
# Debian's versions are not pinned: within bookworm these two only ever get security fixes.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app

COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

# The runtime assembly (Maven) changes rarely: keep it in its own layers, before the sources.
# scripts/runtime.sh also builds the example Streams app (examples/wordcount); the image does not ship it.
COPY scripts/runtime.sh scripts/runtime.sh
COPY scripts/runtime scripts/runtime
COPY examples/wordcount/pom.xml examples/wordcount/pom.xml
COPY examples/wordcount/src examples/wordcount/src
RUN --mount=type=cache,target=/root/.m2 bash scripts/runtime.sh

COPY tsconfig.json ./
COPY proto proto
COPY src src
COPY bin bin
RUN npm run build

# ---- production dependencies ---------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# tsx stays: it is a runtime dependency (bin/kmf.js falls back to it without dist/), unused when dist/ is there.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

# ---- runtime -------------------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="kmf" \
      org.opencontainers.image.description="Kafka and Kafka Streams on Apache Mesos: the kmf scheduler" \
      org.opencontainers.image.licenses="Apache-2.0"
# KMF_API: the admin API (and artifact server) listens on every interface of the container.
ENV NODE_ENV=production \
    KMF_API=0.0.0.0:8080
WORKDIR /app
# Everything is owned by root and read-only for the `node` user (uid 1000) that runs kmf: the process cannot
# change its own code. kmf keeps its state in ZooKeeper and needs no writable directory of its own.
COPY package.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist/src dist/src
COPY proto proto
COPY bin bin
# The manifest names absolute paths under /app/.kmf/runtime: build and runtime use the same WORKDIR so the
# tarball path in it stays true. The unpacked distribution, ZooKeeper and the example app are left behind.
COPY --from=build /app/.kmf/runtime/manifest.json .kmf/runtime/manifest.json
COPY --from=build /app/.kmf/runtime/kafka-*.tgz .kmf/runtime/
USER node
EXPOSE 8080
# GET /health is public and answers 200 on the leader and on a hot standby alike (GET /ready is leader-only).
# The address comes from KMF_API (a wildcard host means loopback), so overriding KMF_API keeps the check right.
# node-slim has no curl; node's fetch does the request.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const a=process.env.KMF_API||'0.0.0.0:8080',i=a.lastIndexOf(':'),h=a.slice(0,i);fetch('http://'+(['','0.0.0.0','::','[::]'].includes(h)?'127.0.0.1':h)+':'+a.slice(i+1)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The V8 heap flags of bin/kmf.js (its shebang does not apply when node is named here): see its comment.
ENTRYPOINT ["node", "--max-semi-space-size=16", "--heap-growing-percent=50", "bin/kmf.js"]
CMD ["scheduler"]
