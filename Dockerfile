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
CMD ["node", "src/main.ts"]
