import { Effect } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { NotImplemented } from "../../domain/errors.ts"
import { Health } from "../../services/health/Health.ts"
import { Api } from "../Api.ts"

const notYet = (what: string) => Effect.fail(new NotImplemented({ message: `${what} is not implemented yet` }))

export const HealthHandlers = HttpApiBuilder.group(
  Api,
  "health",
  Effect.fnUntraced(function* (handlers) {
    const health = yield* Health
    return handlers
      .handle("health", () =>
        Effect.map(health.summary, (body) =>
          HttpServerResponse.jsonUnsafe(body, { status: body.status === "unhealthy" ? 503 : 200 })
        )
      )
      .handle("ready", () =>
        Effect.map(health.readiness, (body) => HttpServerResponse.jsonUnsafe(body, { status: body.ready ? 200 : 503 }))
      )
      .handle("live", () =>
        Effect.map(
          Effect.clockWith((clock) => clock.currentTimeMillis),
          (now) => ({
            alive: true,
            timestamp: new Date(now).toISOString()
          })
        )
      )
      .handle("detailed", () => notYet("/health/detailed"))
      .handle("circuitBreakers", () => health.circuitBreakers)
      .handle("monitoring", () => notYet("/health/monitoring"))
      .handle("system", () => notYet("/health/system"))
      .handle("history", () => notYet("/health/history"))
  })
)
