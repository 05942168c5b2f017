# The gateway runs its TypeScript sources directly on Node 24 (type stripping); no build step.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production ENVIRONMENT=production PORT=8000
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
USER node
EXPOSE 8000
STOPSIGNAL SIGTERM
# A young generation of 8 MB semi-spaces, as `npm start` runs it: V8 would size it for throughput from the
# machine's memory (up to 64 MB each); BENCHMARKS.md shows what the smaller one costs and saves.
CMD ["node", "--max-semi-space-size=8", "src/main.ts"]
