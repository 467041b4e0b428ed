# Kiln trainer image, CPU: Node 20 + the repo + native TensorFlow (tfjs-node built against the
# tensorflow-cpu wheel's libraries by scripts/tensorflow/install.sh). Worker pods run
# `kiln fit <script>` in it (see the TrainingJob `image` field).
#   docker build -f deploy/images/trainer.Dockerfile -t registry.example/kiln-trainer:0.1 .
# Not built on the development machines (no Docker engine there); the same install script runs in CI.
# Bases pinned by version tag; the runtime runs as the unprivileged user `node` (1000).
ARG NODE_VERSION=20.20.2
FROM node:${NODE_VERSION}-bookworm AS build
# Build stage only (nothing of it ships but /kiln): Debian's current toolchain packages, unpinned.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential python3 python3-pip unzip binutils ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /kiln
ENV KILN_CACHE=/opt/kiln-cache
COPY package.json package-lock.json ./
COPY libs ./libs
COPY apps ./apps
COPY deploy/local-cluster/package.json ./deploy/local-cluster/package.json
RUN npm ci --no-audit --no-fund --loglevel=error
COPY scripts ./scripts
COPY examples ./examples
COPY tsconfig.json tsconfig.base.json ./
# Kiln's own code runs compiled (dist/, NODE_ENV=production below); only a job's TypeScript script is
# compiled at start, by the kiln command's loader.
RUN node scripts/build.mjs --no-types
# KILN_TF_COPY=1: the libraries go into the package itself, so the runtime stage needs no cache.
RUN KILN_TF_COPY=1 bash scripts/tensorflow/install.sh && rm -rf /opt/kiln-cache/tensorflow/*/wheel \
      /opt/kiln-cache/tensorflow/*/include node_modules/@tensorflow/tfjs-node/deps/include

FROM node:${NODE_VERSION}-bookworm-slim
WORKDIR /kiln
COPY --from=build /kiln /kiln
ENV NODE_ENV=production \
    TF_CPP_MIN_LOG_LEVEL=1 \
    PATH="/kiln/apps/cli/bin:${PATH}"
# Fail the build, not the first job, if the native backend does not load in the runtime image.
RUN node -e "const tf=require('@tensorflow/tfjs-node'); if (tf.getBackend()!=='tensorflow') process.exit(1)"
USER 1000:1000
ENTRYPOINT []
CMD ["kiln", "--help"]
