# One image for every spamgate service; the service is chosen by the container's command.
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY . .
# Runtime dependencies only; the `node` devDependency is not needed in an image that has Node 24.
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# The ops endpoints (/healthz, /readyz, /metrics) serve probes and scrapes from outside the container.
ENV SPAMGATE_HTTP_HOST=0.0.0.0
WORKDIR /app
COPY --from=deps --chown=node:node /app /app
USER node
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.SPAMGATE_HTTP_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "infra/local/check.ts"]
