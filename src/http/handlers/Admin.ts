import * as Effect from "effect/Effect"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import { PermissionDenied } from "../../domain/errors.ts"
import { UpstreamOutcomes } from "../../services/health/UpstreamOutcomes.ts"
import { Traffic } from "../../services/telemetry/TrafficHistory.ts"
import { Api, CurrentUser } from "../Api.ts"

export const AdminHandlers = HttpApiBuilder.group(
  Api,
  "admin",
  Effect.fnUntraced(function* (handlers) {
    const traffic = yield* Traffic
    const outcomes = yield* UpstreamOutcomes

    const report = Effect.fn("AdminHandlers.traffic")(function* () {
      const user = yield* CurrentUser
      if (user.role !== "admin")
        return yield* new PermissionDenied({ message: "Only an admin token may read the traffic" })
      const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
      return {
        minutes: traffic.minutes(now),
        models: traffic.models(now).map((model) => {
          const recent = outcomes.recent(model.model)
          return { ...model, recent_attempts: recent.attempts, recent_failures: recent.failures }
        })
      }
    })

    return handlers.handle("traffic", report)
  })
)
