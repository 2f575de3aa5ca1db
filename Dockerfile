# mqgate: the gateway as a container. Build: docker build -t mqgate .
# Run:   docker run -p 127.0.0.1:8080:8080 -v mqgate-data:/data -e MQGATE_SERVER_INSECURE=true mqgate
# (inside a container the server binds 0.0.0.0, which mqgate refuses without API keys unless
# told it is fine: give auth.keys in a config file, or MQGATE_SERVER_INSECURE=true when only
# loopback is published). docker-compose.yml runs it beside the test-bed brokers.

# --- build: compile TypeScript with the dev dependencies
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY adapters ./adapters
RUN npm run build

# --- runtime: production dependencies and the compiled code only, as the non-root node user
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    MQGATE_SERVER_HOST=0.0.0.0 \
    MQGATE_SERVER_PORT=8080 \
    MQGATE_STORE_DATA_DIR=/data \
    MQGATE_LOG_PRETTY=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
RUN mkdir -p /data && chown 1000:1000 /data
# the image's node user (uid and gid 1000), numeric so hosts resolve it
USER 1000:1000
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.MQGATE_SERVER_PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=32", "dist/src/cli/main.js"]
CMD ["serve"]
