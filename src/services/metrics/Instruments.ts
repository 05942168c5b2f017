/**
 * Every Prometheus series of the gateway, with its help text, labels and buckets. The spec's
 * series come first, with the spec's names and labels.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client"
import { balanceSeries } from "./ClusterMetrics.ts"

const latencyBuckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
const firstTokenBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const overheadBuckets = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
const httpBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

export const makeInstruments = (registry: Registry) => {
  const registers = [registry]
  return {
    // --- The spec's series ---
    requests: new Counter({
      name: "llm_requests_total",
      help: "Total number of LLM requests",
      labelNames: ["model", "status"],
      registers
    }),
    duration: new Histogram({
      name: "llm_requests_duration_seconds",
      help: "Duration of LLM requests",
      labelNames: ["model"],
      buckets: latencyBuckets,
      registers
    }),
    balance: new Gauge({
      ...balanceSeries,
      labelNames: ["user_id"],
      registers
    }),
    rateLimited: new Counter({
      name: "rate_limit_requests_total",
      help: "Total number of rate limit events",
      labelNames: ["type"],
      registers
    }),
    // --- Usage and cost, by the model that answered ---
    tokens: new Counter({
      name: "llm_tokens_total",
      help: "Tokens of answered LLM requests, by the model that answered",
      labelNames: ["model", "type"],
      registers
    }),
    cost: new Counter({
      name: "llm_cost_usd_total",
      help: "USD charged for LLM requests, by the model that answered",
      labelNames: ["model"],
      registers
    }),
    uncollected: new Counter({
      name: "gateway_uncollected_usd_total",
      help: "USD of usage charged beyond what the account had available (recorded on the charge, not collected), by the model that answered",
      labelNames: ["model"],
      registers
    }),
    unsettled: new Counter({
      name: "gateway_unsettled_usd_total",
      help: "USD of charges whose settle the gateway gave up (database unreachable); the sweeper still charges those whose hold recorded them",
      labelNames: ["model"],
      registers
    }),
    holdsSwept: new Counter({
      name: "gateway_holds_swept_total",
      help: "Expired holds the sweeper took (their process stopped renewing them): charged what they had metered, or released",
      labelNames: ["outcome"],
      registers
    }),
    // --- Upstream ---
    upstreamLatency: new Histogram({
      name: "llm_upstream_latency_seconds",
      help: "Upstream call of an answered attempt, until its whole answer (the last chunk of a stream)",
      labelNames: ["provider", "model"],
      buckets: latencyBuckets,
      registers
    }),
    timeToFirstToken: new Histogram({
      name: "llm_time_to_first_token_seconds",
      help: "Streams: from sending the upstream request to its first chunk",
      labelNames: ["provider", "model"],
      buckets: firstTokenBuckets,
      registers
    }),
    retries: new Counter({
      name: "llm_retries_total",
      help: "Upstream attempts retried, by model and the reason of the failed attempt",
      labelNames: ["model", "reason"],
      registers
    }),
    breakerState: new Gauge({
      name: "circuit_breaker_state",
      help: "Circuit breaker of each model: 0 closed, 1 half-open, 2 open",
      labelNames: ["model"],
      // Several workers: the worst state any of them is in.
      aggregator: "max",
      registers
    }),
    breakerTransitions: new Counter({
      name: "circuit_breaker_transitions_total",
      help: "Circuit breaker transitions, by model and phases",
      labelNames: ["model", "from", "to"],
      registers
    }),
    // --- The gateway itself ---
    overhead: new Histogram({
      name: "gateway_overhead_seconds",
      help: "Time a chat request spent in the gateway, excluding the upstream phase (attempts, retry waits, fallbacks)",
      buckets: overheadBuckets,
      registers
    }),
    inFlight: new Gauge({
      name: "http_requests_in_flight",
      help: "HTTP requests being served, open streams included",
      registers
    }),
    openStreams: new Gauge({ name: "llm_streams_open", help: "Chat streams being sent", registers }),
    httpRequests: new Counter({
      name: "http_requests_total",
      help: "HTTP requests, by route template, method and status",
      labelNames: ["route", "method", "status"],
      registers
    }),
    httpDuration: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP requests until their last byte, by route template and method",
      labelNames: ["route", "method"],
      buckets: httpBuckets,
      registers
    }),
    rateLimitStorage: new Gauge({
      name: "rate_limit_storage",
      help: "Where rate limits are kept: 1 for the store in use (redis or memory)",
      labelNames: ["storage"],
      // Several workers: 1 for a store any of them uses.
      aggregator: "max",
      registers
    }),
    langfuseDropped: new Counter({
      name: "langfuse_events_dropped_total",
      help: "Langfuse events dropped: queue_full (export could not keep up) or export_failed",
      labelNames: ["reason"],
      registers
    }),
    langfuseExported: new Counter({
      name: "langfuse_events_exported_total",
      help: "Langfuse events accepted by the ingestion endpoint",
      registers
    }),
    // --- Clients ---
    clientWriteTimeouts: new Counter({
      name: "gateway_client_write_timeouts_total",
      help: "Streams ended because the client stopped reading for CLIENT_WRITE_TIMEOUT_SECONDS",
      registers
    })
  }
}

export type Instruments = ReturnType<typeof makeInstruments>
