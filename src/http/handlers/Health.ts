import * as Effect from "effect/Effect"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import { Health } from "../../services/health/Health.ts"
import { Api } from "../Api.ts"

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
      .handle("detailed", () =>
        Effect.map(health.detailed, (body) =>
          HttpServerResponse.jsonUnsafe(body, { status: body.status === "unhealthy" ? 503 : 200 })
        )
      )
      .handle("circuitBreakers", () => health.circuitBreakers)
      .handle("monitoring", () => health.monitoring)
      .handle("system", () => health.system)
      .handle("history", () => health.history)
  })
)
