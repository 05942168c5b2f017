import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import { GatewayConfig } from "../../Config.ts"
import type { ChatCompletionRequest } from "../../domain/Chat.ts"
import * as Money from "../../domain/Money.ts"
import { makeProviderUserId, withProviderUserId } from "../../services/auth/ProviderUserId.ts"
import { ChatCompletions, type ServedBy } from "../../services/chat/ChatCompletions.ts"
import { Metrics } from "../../services/metrics/Metrics.ts"
import { CurrentRequest, type RequestRecord } from "../../services/telemetry/RequestRecord.ts"
import { Admission, Api, CurrentUser } from "../Api.ts"
import { boundWrites } from "../ClientWrites.ts"
import { RequestId } from "../RequestContext.ts"
import * as Sse from "../Sse.ts"

export const servedByHeaders = (servedBy: ServedBy): Record<string, string> => ({
  "x-gateway-provider": servedBy.provider,
  "x-gateway-model": servedBy.model.id,
  "x-gateway-max-tokens": String(servedBy.maxTokens),
  ...(servedBy.fallbackFrom === undefined ? {} : { "x-gateway-fallback-from": servedBy.fallbackFrom })
})

export const ChatHandlers = HttpApiBuilder.group(
  Api,
  "chat",
  Effect.fnUntraced(function* (handlers) {
    const chat = yield* ChatCompletions
    const { streaming, auth } = yield* GatewayConfig
    const { instruments } = yield* Metrics
    const writeLimit = `${Duration.toSeconds(streaming.clientWriteTimeout)} s`

    const providerUserId = makeProviderUserId(auth)

    /**
     * What providers see as the end user is the authenticated user's, never the body's (ProviderUserId.ts). The
     * request's record observes the chat; the handler reads its timings and notes how a stream failed.
     */
    const input = Effect.fnUntraced(function* (request: ChatCompletionRequest, record: RequestRecord) {
      const user = yield* CurrentUser
      return {
        user,
        request: withProviderUserId(request, providerUserId(user.id)),
        requestId: yield* RequestId,
        observer: record,
        ...(yield* Effect.map(Admission, ({ beforeUpstream, upstreamCalled }) => ({
          admission: beforeUpstream,
          upstreamCalled
        })))
      }
    })

    const complete = Effect.fnUntraced(function* (request: ChatCompletionRequest) {
      const record = yield* CurrentRequest
      const chatInput = yield* input(request, record)
      const { servedBy, completion, settlement } = yield* chat.complete(chatInput)
      const headers = { ...servedByHeaders(servedBy), ...record.timingHeaders() }
      return HttpServerResponse.jsonUnsafe(completion, {
        headers:
          settlement === undefined
            ? headers
            : {
                ...headers,
                "x-request-cost": Money.format(settlement.charged),
                "x-balance-remaining": Money.format(settlement.balance)
              }
      })
    })

    const stream = Effect.fnUntraced(function* (request: ChatCompletionRequest) {
      const record = yield* CurrentRequest
      const chatInput = yield* input(request, record)
      const { servedBy, chunks } = yield* chat.stream(chatInput)
      const events = Sse.encode(chunks, {
        includeUsage: request.stream_options?.include_usage === true,
        heartbeatMs: Duration.toMillis(streaming.heartbeat),
        onError: (cause) => {
          const failure = Sse.failureOf(cause)
          record.streamFailure = failure.message
          return Effect.as(Effect.logWarning("Stream failed after it began", cause), failure)
        }
      })
      // Ending the stream interrupts it: the upstream call is aborted and what was metered is settled.
      const body = boundWrites(events, {
        timeoutMs: Duration.toMillis(streaming.clientWriteTimeout),
        onStall: Effect.suspend(() => {
          record.streamFailure = `The client stopped reading for ${writeLimit}`
          instruments.clientWriteTimeouts.inc()
          return Effect.logWarning(`Ending a stream: the client stopped reading for ${writeLimit}`).pipe(
            Effect.annotateLogs({ request_id: chatInput.requestId, user_id: chatInput.user.id })
          )
        })
      })
      return HttpServerResponse.stream(body, {
        contentType: "text/event-stream",
        headers: {
          ...servedByHeaders(servedBy),
          ...record.timingHeaders(),
          "cache-control": "no-cache",
          "x-accel-buffering": "no"
        }
      })
    })

    return handlers
      .handle("completions", ({ payload }) => (payload.stream === true ? stream(payload) : complete(payload)))
      .handle("completionsStream", ({ payload }) => stream(payload))
  })
)
