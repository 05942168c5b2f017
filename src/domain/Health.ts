import * as Schema from "effect/Schema"

export const ComponentStatus = Schema.Literals(["healthy", "degraded", "unhealthy"])
export type ComponentStatus = typeof ComponentStatus.Type

export const RateLimitStorage = Schema.Literals(["redis", "memory"])
export type RateLimitStorage = typeof RateLimitStorage.Type

export const Health = Schema.Struct({
  status: ComponentStatus,
  timestamp: Schema.String,
  version: Schema.String,
  environment: Schema.String,
  components: Schema.Struct({
    database: ComponentStatus,
    redis: ComponentStatus,
    llm_services: ComponentStatus
  }),
  rate_limit_storage: RateLimitStorage,
  retry_enabled: Schema.Boolean,
  circuit_breaker_enabled: Schema.Boolean
}).annotate({ identifier: "Health" })
export type Health = typeof Health.Type

export const ComponentCheck = Schema.Struct({
  status: ComponentStatus,
  message: Schema.String,
  details: Schema.Record(Schema.String, Schema.Unknown),
  duration_ms: Schema.Number
})
export type ComponentCheck = typeof ComponentCheck.Type

export const DetailedHealth = Schema.Struct({
  status: ComponentStatus,
  timestamp: Schema.String,
  components: Schema.Struct({
    database: ComponentCheck,
    redis: ComponentCheck,
    llm_services: ComponentCheck
  })
}).annotate({ identifier: "DetailedHealth" })
export type DetailedHealth = typeof DetailedHealth.Type

export const BreakerState = Schema.Literals(["closed", "open", "half_open"])
export type BreakerState = typeof BreakerState.Type

export const CircuitBreakers = Schema.Struct({
  circuit_breakers: Schema.Record(
    Schema.String,
    Schema.Struct({
      state: BreakerState,
      failure_count: Schema.Int,
      last_failure_time: Schema.NullOr(Schema.String),
      failure_threshold: Schema.Int,
      recovery_timeout: Schema.Number
    })
  ),
  retry_config: Schema.Struct({
    enabled: Schema.Boolean,
    max_attempts: Schema.Int,
    base_delay: Schema.Number,
    max_delay: Schema.Number,
    exponential_base: Schema.Number,
    jitter: Schema.Boolean
  }),
  circuit_breaker_config: Schema.Struct({
    enabled: Schema.Boolean,
    failure_threshold: Schema.Int,
    recovery_timeout: Schema.Number
  })
}).annotate({ identifier: "CircuitBreakers" })
export type CircuitBreakers = typeof CircuitBreakers.Type

const MonitoringComponent = Schema.Struct({
  status: ComponentStatus,
  enabled: Schema.Boolean,
  host: Schema.optionalKey(Schema.String)
})

export const Monitoring = Schema.Struct({
  langfuse: MonitoringComponent,
  prometheus: MonitoringComponent,
  sentry: MonitoringComponent
}).annotate({ identifier: "Monitoring" })
export type Monitoring = typeof Monitoring.Type

export const SystemHealth = Schema.Struct({
  status: ComponentStatus,
  message: Schema.String,
  details: Schema.Struct({
    cpu_usage_percent: Schema.Number,
    memory_usage_percent: Schema.Number,
    disk_usage_percent: Schema.Number,
    network_connections: Schema.Int
  }),
  timestamp: Schema.String,
  duration_ms: Schema.Number
}).annotate({ identifier: "SystemHealth" })
export type SystemHealth = typeof SystemHealth.Type

export const HealthHistory = Schema.Struct({
  history: Schema.Array(
    Schema.Struct({
      name: Schema.String,
      status: ComponentStatus,
      message: Schema.String,
      timestamp: Schema.String,
      duration_ms: Schema.Number
    })
  ),
  total_checks: Schema.Int
}).annotate({ identifier: "HealthHistory" })
export type HealthHistory = typeof HealthHistory.Type

export const Readiness = Schema.Struct({
  ready: Schema.Boolean,
  timestamp: Schema.String,
  checks: Schema.Record(Schema.String, Schema.Boolean)
}).annotate({ identifier: "Readiness" })
export type Readiness = typeof Readiness.Type

export const Liveness = Schema.Struct({
  alive: Schema.Boolean,
  timestamp: Schema.String
}).annotate({ identifier: "Liveness" })
export type Liveness = typeof Liveness.Type
