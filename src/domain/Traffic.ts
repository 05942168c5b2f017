import * as Schema from "effect/Schema"

const Milliseconds = Schema.NullOr(Schema.Number)

/** One minute of API traffic (`/v1/*` and `/billing/*`; probes, health, metrics and the dashboard's own polling are not counted) seen by this gateway process. */
export const TrafficMinute = Schema.Struct({
  /** The minute's start, RFC 3339. */
  start: Schema.String,
  requests: Schema.Int,
  /** Answered 5xx, or a stream that failed after it began: the gateway's or an upstream's fault. */
  errors: Schema.Int,
  /** Answered 4xx: refused requests (401, 402, 429, …). */
  client_errors: Schema.Int,
  /** Chat completions among the requests. */
  chat_requests: Schema.Int,
  /** Time spent in the gateway on chat requests, upstream excluded (null when none had one). */
  overhead_ms_avg: Milliseconds,
  overhead_ms_max: Milliseconds
})
export type TrafficMinute = typeof TrafficMinute.Type

/** One requested model's chat requests over the history, and its most recent upstream attempts. */
export const ModelTraffic = Schema.Struct({
  model: Schema.String,
  requests: Schema.Int,
  errors: Schema.Int,
  /** Mean length of the upstream phase (attempts, retries, fallbacks) of its requests. */
  upstream_ms_avg: Milliseconds,
  /** The last attempts against the model (at most 20) and how many failed, as `/health/detailed` judges them. */
  recent_attempts: Schema.Int,
  recent_failures: Schema.Int
})
export type ModelTraffic = typeof ModelTraffic.Type

export const Traffic = Schema.Struct({
  /** The last 60 minutes, oldest first, the current (partial) minute last; minutes without traffic are zeros. */
  minutes: Schema.Array(TrafficMinute),
  /** Models with chat requests during those minutes, by name. */
  models: Schema.Array(ModelTraffic)
}).annotate({ identifier: "Traffic" })
export type Traffic = typeof Traffic.Type
