/**
 * A finished chat request as Langfuse ingestion events: a `trace-create` and a
 * `generation-create` (https://api.reference.langfuse.com, POST /api/public/ingestion).
 * Built in the exporter's background fiber, off the request path.
 */
import * as Money from "../../domain/Money.ts"
import type { RequestRecord } from "./RequestRecord.ts"

export interface IngestionEvent {
  readonly id: string
  readonly timestamp: string
  readonly type: "trace-create" | "generation-create"
  readonly body: Record<string, unknown>
}

const isoAt = (monotonicMs: number) => new Date(performance.timeOrigin + monotonicMs).toISOString()

export const toIngestionEvents = (
  record: RequestRecord,
  logContent: boolean,
  environment: string
): ReadonlyArray<IngestionEvent> => {
  const model = record.answeredBy ?? record.model
  const request = record.request
  if (model === undefined || request === undefined) return []
  const startTime = isoAt(record.startedAt)
  const endTime = isoAt(record.answeredAt > 0 ? record.answeredAt : record.startedAt)
  const failed = record.status >= 400 || record.streamFailure !== undefined
  const input = logContent ? request.messages : undefined
  const output = logContent ? record.completionText : undefined
  const usage = record.usage
  const trace = {
    id: record.requestId,
    timestamp: startTime,
    name: "chat.completions",
    userId: record.userId,
    environment,
    input,
    output,
    metadata: {
      request_id: record.requestId,
      ...(record.clientRequestId === undefined ? {} : { client_request_id: record.clientRequestId }),
      route: record.route,
      status: record.status,
      stream: record.stream
    },
    tags: record.stream ? ["stream"] : []
  }
  const generation = {
    id: `${record.requestId}-generation`,
    traceId: record.requestId,
    name: "chat",
    environment,
    startTime: isoAt(record.upstreamStartedAt > 0 ? record.upstreamStartedAt : record.startedAt),
    endTime,
    completionStartTime:
      record.firstChunkMs === undefined ? undefined : isoAt(record.attemptStartedAt + record.firstChunkMs),
    model: model.upstreamModel,
    modelParameters: {
      ...(request.max_tokens == null ? {} : { max_tokens: request.max_tokens }),
      ...(request.temperature == null ? {} : { temperature: request.temperature }),
      ...(request.top_p == null ? {} : { top_p: request.top_p })
    },
    usageDetails:
      usage === undefined
        ? undefined
        : {
            input: usage.promptTokens,
            output: usage.completionTokens,
            total: usage.promptTokens + usage.completionTokens
          },
    costDetails: record.settlement === undefined ? undefined : { total: Money.toNumber(record.settlement.charged) },
    input,
    output,
    level: failed ? "ERROR" : "DEFAULT",
    statusMessage: record.error?.message ?? record.streamFailure,
    metadata: {
      request_id: record.requestId,
      gateway_model: model.id,
      requested_model: record.model?.id,
      provider: record.provider,
      usage_source: usage?.source
    }
  }
  return [
    { id: crypto.randomUUID(), timestamp: startTime, type: "trace-create", body: trace },
    { id: crypto.randomUUID(), timestamp: endTime, type: "generation-create", body: generation }
  ]
}
