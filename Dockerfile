# The gateway runs the build of its sources (`npm run build`: dist/, one bundle and its chunks; why in
# scripts/build.ts), made in a first stage with the development dependencies.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
COPY scripts ./scripts
RUN node scripts/build.ts

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production ENVIRONMENT=production PORT=8000
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
# The sources too: the CLIs in scripts/ (token, migrate) run them, and the dashboard is served from src/.
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
USER node
EXPOSE 8000
STOPSIGNAL SIGTERM
# V8's heap sized as `npm start` sizes it: a young generation of 8 MB semi-spaces (V8 would size it for
# throughput from the machine's memory, up to 64 MB each), and an old generation that grows to twice what
# survived its last full collection instead of up to four times. BENCHMARKS.md shows what each costs and saves.
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=100", "dist/main.js"]
