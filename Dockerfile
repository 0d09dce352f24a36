# syntax=docker/dockerfile:1
# clusterwire: the daemon bundled with esbuild, on Node 24, with the tools it
# drives (ip, wg) and wireguard-go for nodes whose kernel has no WireGuard.
# test/deploy/image.test.ts runs this file's npm steps outside Docker.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/ scripts/
COPY bin/ bin/
COPY src/ src/
RUN npm run build

# Production dependencies alone: no esbuild, no typescript, and no install
# scripts (none of them needs one; this keeps the image reproducible).
FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
# --no-install-recommends: wireguard-tools recommends a kernel image.
# npm and corepack are not needed at run time: less to patch in the image.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wireguard-tools iproute2 wireguard-go \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
WORKDIR /app
ENV NODE_ENV=production
COPY package.json ./
COPY --from=production-dependencies /app/node_modules/ node_modules/
COPY --from=build /src/dist/ dist/
COPY --from=build /src/bin/ bin/
LABEL org.opencontainers.image.title="clusterwire" \
      org.opencontainers.image.description="Peers the nodes of Kubernetes clusters over WireGuard" \
      org.opencontainers.image.licenses="Apache-2.0"
# Root with NET_ADMIN (granted by the DaemonSet): it manages links, routes
# and the key directory on the node.
USER 0
# A young generation of at most 2 MiB per semi-space (V8 otherwise grows each
# to 32 MiB while a large list is parsed or events pour in, and RSS does not
# come back): at 5,000 remote nodes, RSS ~180 → ~160 MB after a cold start
# and ~250 → ~175 MB after churn, for no measurable churn CPU
# (docs/install.md, "Memory sizing").
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/bin/clusterwire.js"]
CMD ["run"]
