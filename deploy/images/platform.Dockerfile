# Kiln's platform images from one build: the operator, the API, the sweep worker and the dashboard are
# final stages (targets) of this file, sharing one dependency install and one compile.
#   docker build -f deploy/images/platform.Dockerfile --target operator  -t <registry>/kiln-operator:0.1.0 .
#   docker build -f deploy/images/platform.Dockerfile --target api       -t <registry>/kiln-api:0.1.0 .
#   docker build -f deploy/images/platform.Dockerfile --target worker    -t <registry>/kiln-worker:0.1.0 .
#   docker build -f deploy/images/platform.Dockerfile --target dashboard -t <registry>/kiln-web:0.1.0 .
# (deploy/kind/up.sh builds all four.) Each runs as the unprivileged user `node` (1000) from a read-only
# /kiln; processes start from the compiled dist/ (NODE_ENV=production makes each app's bin/ refuse to
# compile TypeScript at start). The chart (charts/kiln) runs these images by their ENTRYPOINT; the local
# cluster's node agent plays them from the checkout with the WORKDIR, ENV and ENTRYPOINT read from here.
# Bases are pinned by version tag; pin by digest in your registry mirror.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /kiln
ENV NEXT_TELEMETRY_DISABLED=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1
COPY package.json package-lock.json ./
COPY libs ./libs
COPY apps ./apps
COPY deploy/local-cluster/package.json ./deploy/local-cluster/package.json
# No dependency install scripts: nothing the platform runs needs one (the Trainer's native TensorFlow
# lives in the trainer images), and Prisma's would download engines the pg driver adapter makes unneeded.
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY prisma ./prisma
COPY scripts/build.mjs ./scripts/build.mjs
COPY tsconfig.json tsconfig.base.json ./
RUN bash libs/db/scripts/setup.sh --no-migrate \
    && node scripts/build.mjs --no-types \
    && node apps/web/scripts/build.mjs \
    && rm -rf apps/web/.next/cache

FROM ${NODE_IMAGE} AS runtime
WORKDIR /kiln
# Owned by root, read by `node`: the processes cannot change their own code.
COPY --from=build /kiln /kiln
ENV NODE_ENV=production
USER 1000:1000

FROM runtime AS operator
EXPOSE 8081
ENTRYPOINT ["node", "apps/operator/bin/kiln-operator.mjs"]

FROM runtime AS api
EXPOSE 8080
ENV HOST=0.0.0.0
ENTRYPOINT ["node", "apps/api/bin/kiln-api.mjs"]

FROM runtime AS worker
ENTRYPOINT ["node", "apps/worker/bin/kiln-worker.mjs"]

FROM runtime AS dashboard
WORKDIR /kiln/apps/web
EXPOSE 3000
ENV NEXT_TELEMETRY_DISABLED=1
ENTRYPOINT ["node", "../../node_modules/next/dist/bin/next"]
CMD ["start", "-p", "3000"]
