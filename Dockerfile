# kaizen-proxy: the egress sidecar image.
#   docker build -t kaizen-proxy .                          # the proxy (the default, last stage)
#   docker build --target iptables-init -t kaizen-proxy-init .   # transparent mode's init container
# test/integration/image/image-steps.test.ts replays the runtime stage's COPY, RUN npm ci and
# CMD outside a container, so a runtime file or dependency missing here fails CI.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: dev dependencies, TypeScript, the bundled preload ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- iptables-init: installs transparent-mode redirect rules, then exits (needs NET_ADMIN, NET_RAW) ----
FROM debian:bookworm-slim AS iptables-init
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables \
 && rm -rf /var/lib/apt/lists/*
COPY config/iptables/kaizen-redirect.sh /usr/local/bin/kaizen-redirect
ENTRYPOINT ["/usr/local/bin/kaizen-redirect"]
CMD ["apply"]

# ---- runtime: production dependencies, dist and the default config; no compiler ----
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# GLIBC_TUNABLES: without them glibc trims and regrows its heap around every 64 KiB socket read
# (bench/: ~190,000 page faults per tunnelled GiB, ~1,800 with them). The spool and the observed
# record live in KAIZEN_PROXY_DATA_DIR, a volume the non-root user can write (Kubernetes mounts an
# emptyDir there; the root filesystem may be read-only).
ENV NODE_ENV=production \
    KAIZEN_PROXY_DATA_DIR=/var/lib/kaizen-proxy \
    GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456:glibc.malloc.top_pad=67108864
RUN mkdir -p /var/lib/kaizen-proxy && chown 1337:1337 /var/lib/kaizen-proxy
VOLUME /var/lib/kaizen-proxy
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY config/kaizen-proxy.yaml ./config/kaizen-proxy.yaml
# A fixed non-root UID: transparent mode's iptables rules exclude it (--uid-owner 1337) so the
# proxy's own connections are never redirected back to itself.
USER 1337:1337
EXPOSE 8080 9901
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9901/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# tini is PID 1: it forwards SIGTERM to node (which drains) and reaps zombies. --no-memory-reducer:
# V8's idle-time shrinking of the heap made the first burst after a quiet spell cost 35-50% more
# CPU per new tunnel on Node 20 (neutral on 24) and gave back no RSS; it can only be set at start
# (README, design notes). npm start sets it too.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--no-memory-reducer", "dist/cli.js"]
# Sidecar defaults: the proxy on loopback (containers of one pod, or `docker run --network
# container:<proxy>`, share this network namespace), the admin port on every interface so the
# kubelet's probes and Prometheus reach it (it serves /healthz, /readyz and /metrics, nothing else).
CMD ["serve", "--listen", "127.0.0.1:8080", "--admin", "0.0.0.0:9901"]
