/**
 * Logging: one JSON object per line (LOG_FORMAT=json, the production default) or readable
 * lines (pretty); the level from LOG_LEVEL. JSON lines are flat — a log message's object
 * argument and the log annotations become top-level fields — so that log pipelines can
 * index `request_id`, `status` or `cost_usd` without unwrapping.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as References from "effect/References"
import { GatewayConfig } from "./Config.ts"

const isFields = (part: unknown): part is Record<string, unknown> =>
  typeof part === "object" && part !== null && !Array.isArray(part) && !(part instanceof Error)

/** `{"timestamp", "level", "message", ...fields, ...annotations, "cause"?}` on one line. */
export const jsonLine = Logger.make<unknown, string>(({ message, logLevel, date, cause, fiber }) => {
  const parts = Array.isArray(message) ? message : [message]
  const texts: Array<string> = []
  const fields: Array<Record<string, unknown>> = []
  for (const part of parts) {
    if (isFields(part)) fields.push(part)
    else texts.push(typeof part === "string" ? part : String(part))
  }
  const entry: Record<string, unknown> = {
    timestamp: date.toISOString(),
    level: logLevel.toLowerCase(),
    message: texts.join(" ")
  }
  for (const part of fields) Object.assign(entry, part)
  Object.assign(entry, fiber.getRef(References.CurrentLogAnnotations))
  if (cause.reasons.length > 0) entry.cause = Cause.pretty(cause)
  return JSON.stringify(entry)
})

export const layer = Layer.unwrap(
  Effect.gen(function* () {
    const { server, observability } = yield* GatewayConfig
    return Layer.mergeAll(
      Logger.layer([observability.logFormat === "json" ? Logger.withConsoleLog(jsonLine) : Logger.consolePretty()]),
      Layer.succeed(References.MinimumLogLevel, server.logLevel)
    )
  })
)
