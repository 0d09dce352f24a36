# syntax=docker/dockerfile:1
# clusterwire: the daemon bundled with esbuild, on Node 24, with the tools it
# drives (ip, wg) and wireguard-go for nodes whose kernel has no WireGuard.
# The bundle needs no node_modules at run time: the image has none.
# test/deploy/image.test.ts checks this file; test/e2e/image.test.ts builds
# it with podman and runs the image.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency's install script downloads a
# Node binary from outside the lockfile (the build runs on this image's
# Node). esbuild needs no script: its JS API runs the binary of its platform
# package (@esbuild/linux-x64), which the lockfile pins.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/ scripts/
COPY bin/ bin/
COPY src/ src/
# Source maps stay out of the image: --enable-source-maps costs ~48 MB of
# RSS (the parsed map is kept), and the bundle is not minified, so a stack
# trace is readable without one. `npm run build` on the same commit makes it.
RUN npm run build \
 && find dist -name '*.map' -delete \
 && node scripts/third-party-licenses.ts > THIRD-PARTY-LICENSES

FROM ${NODE_IMAGE}
# --no-install-recommends: wireguard-tools recommends a kernel image.
# npm and corepack are not needed at run time: less to patch in the image.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wireguard-tools iproute2 wireguard-go \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
WORKDIR /app
ENV NODE_ENV=production
COPY package.json LICENSE ./
COPY --from=build /src/THIRD-PARTY-LICENSES ./
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
# (docs/install.md, "Memory sizing"). No memory reducer: in the daemon it
# never collected anything, and its timer woke the process every 8 s;
# instead gc() is exposed, and the daemon collects once after start-up
# (docs/design.md, "The idle floor").
ENTRYPOINT ["node", "--max-semi-space-size=2", "--no-memory-reducer", "--expose-gc", "/app/bin/clusterwire.js"]
CMD ["run"]
