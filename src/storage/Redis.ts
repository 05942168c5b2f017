/**
 * The Redis connection, when REDIS_URL is set. It is configured to fail fast: no
 * offline queue, a short command timeout (REDIS_COMMAND_TIMEOUT_MS), and background
 * reconnects, so a Redis that is down or frozen costs a request at most the command timeout.
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import { GatewayConfig } from "../Config.ts"

const connectTimeout = Duration.seconds(1)

const untilReady = (client: Redis): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (client.status === "ready") return resume(Effect.void)
    const onReady = () => resume(Effect.void)
    client.once("ready", onReady)
    return Effect.sync(() => client.off("ready", onReady))
  })

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
              commandTimeout: Duration.toMillis(config.rateLimit.redisCommandTimeout),
              connectTimeout: Duration.toMillis(connectTimeout),
              maxRetriesPerRequest: 0,
              // Keep trying in the background, never more than once a second.
              retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
              lazyConnect: false,
              // Commands issued in the same event-loop turn (concurrent requests) go out in one write.
              enableAutoPipelining: true
            })
        ),
        (client) => Effect.sync(() => client.disconnect())
      )
      // Connection errors are reported by health checks; without a listener ioredis would log each one.
      client.on("error", () => {})
      // Commands fail at once until the connection is ready (no offline queue): give it the connect timeout.
      yield* untilReady(client).pipe(Effect.timeoutOrElse({ duration: connectTimeout, orElse: () => Effect.void }))
      return { client }
    })
  )
}
