import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { NotImplemented } from "../../domain/errors.ts"
import { Api } from "../Api.ts"

export const MetricsHandlers = HttpApiBuilder.group(Api, "metrics", (handlers) =>
  Effect.succeed(
    handlers.handle("metrics", () => Effect.fail(new NotImplemented({ message: "Metrics are not implemented yet" })))
  )
)
