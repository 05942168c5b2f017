/**
 * The Redis connection, when REDIS_URL is set. It is configured to fail fast: no
 * offline queue, a short command timeout, and background reconnects, so a Redis that is
 * down or frozen costs a request at most the command timeout.
 */
import { Context, Effect, Layer, Redacted } from "effect"
import { Redis } from "ioredis"
import { GatewayConfig } from "../Config.ts"

export const commandTimeoutMs = 150

export class RedisConnection extends Context.Service<RedisConnection, { readonly client: Redis | undefined }>()(
  "gateway/storage/Redis"
) {
  static readonly layer = Layer.effect(
    RedisConnection,
    Effect.gen(function* () {
      const config = yield* GatewayConfig
      const url = config.storage.redisUrl
      if (url === undefined) return { client: undefined }
      const client = yield* Effect.acquireRelease(
        Effect.sync(
          () =>
            new Redis(Redacted.value(url), {
              enableOfflineQueue: false,
              commandTimeout: commandTimeoutMs,
              connectTimeout: 1000,
              maxRetriesPerRequest: 0,
              // Keep trying in the background, never more than once a second.
              retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
              lazyConnect: false
            })
        ),
        (client) => Effect.sync(() => client.disconnect())
      )
      // Connection errors are reported by health checks; without a listener ioredis would log each one.
      client.on("error", () => {})
      return { client }
    })
  )
}
