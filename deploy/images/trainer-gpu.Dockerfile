# Kiln trainer image, CUDA: tfjs-node-gpu built against the GPU `tensorflow` wheel's libraries on a
# CUDA base image. TensorFlow 2.18 is built for CUDA 12.5 and cuDNN 9.3; the base image supplies them
# (libcudart, cuBLAS, cuFFT, cuSPARSE, cuSOLVER, cuRAND, cuDNN), the node's driver supplies libcuda.
#   docker build -f deploy/images/trainer-gpu.Dockerfile -t registry.example/kiln-trainer-gpu:0.1 .
#   docker run --gpus all registry.example/kiln-trainer-gpu:0.1 \
#     node scripts/tensorflow/verify-gpu.ts        # device placement log + GPU vs CPU throughput
# UNVERIFIED: no Docker engine and no GPU on the development machines; see bench/RESULTS.md.
ARG CUDA_IMAGE=nvidia/cuda:12.5.1-cudnn-runtime-ubuntu22.04
FROM node:20.20.2-bookworm-slim AS node

FROM ${CUDA_IMAGE} AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
# Build stage only (nothing of it ships but /kiln): Debian's current toolchain packages, unpinned.
# hadolint ignore=DL3008
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && apt-get update && apt-get install -y --no-install-recommends \
      build-essential python3 python3-pip unzip binutils ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /kiln
ENV KILN_CACHE=/opt/kiln-cache
COPY package.json package-lock.json ./
COPY libs ./libs
COPY apps ./apps
COPY deploy/local-cluster/package.json ./deploy/local-cluster/package.json
RUN npm ci --no-audit --no-fund --loglevel=error \
    && npm install --no-save --ignore-scripts --no-audit --no-fund @tensorflow/tfjs-node-gpu@4.22.0
COPY scripts ./scripts
COPY examples ./examples
COPY tsconfig.json tsconfig.base.json ./
# Kiln's own code runs compiled (dist/, NODE_ENV=production below); only a job's TypeScript script is
# compiled at start, by the kiln command's loader.
RUN node scripts/build.mjs --no-types
# Node's headers come from node-gyp's download here (no /usr/include/node in this image).
RUN KILN_TF_COPY=1 bash scripts/tensorflow/install.sh --gpu && rm -rf /opt/kiln-cache/tensorflow/*/wheel \
      /opt/kiln-cache/tensorflow/*/include node_modules/@tensorflow/tfjs-node-gpu/deps/include

FROM ${CUDA_IMAGE}
COPY --from=node /usr/local/bin/node /usr/local/bin/node
# Non-root, as in the CPU image: uid 1000 (the CUDA base has no such user).
RUN groupadd --gid 1000 kiln && useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin kiln
WORKDIR /kiln
COPY --from=build /kiln /kiln
ENV NODE_ENV=production \
    TF_CPP_MIN_LOG_LEVEL=1 \
    PATH="/kiln/apps/cli/bin:${PATH}"
USER 1000:1000
ENTRYPOINT []
CMD ["node", "--import", "@swc-node/register/esm-register", "scripts/tensorflow/verify-gpu.ts"]
