/**
 * What the handlers that serve a chat (`/v1/chat/completions`, Anthropic's `/v1/messages`) share: the pipeline's
 * input built from the authenticated request, and the framing of its answer — the `x-gateway-*`, cost and timing
 * headers, and a streamed body that notes how it failed and ends when its client stops reading. Each handler
 * only encodes the answer in its protocol.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import { GatewayConfig } from "../../Config.ts"
import type { ChatCompletionRequest } from "../../domain/Chat.ts"
import type { ApiError, ChatError } from "../../domain/errors.ts"
import * as Money from "../../domain/Money.ts"
import { makeProviderUserId, withProviderUserId } from "../../services/auth/ProviderUserId.ts"
import type { CompletedChat, ChatInput, ServedBy } from "../../services/chat/ChatCompletions.ts"
import { Metrics } from "../../services/metrics/Metrics.ts"
import { CurrentRequest } from "../../services/telemetry/RequestRecord.ts"
import { Admission, CurrentUser } from "../Api.ts"
import { boundWrites } from "../ClientWrites.ts"
import { RequestId } from "../RequestContext.ts"
import * as Sse from "../Sse.ts"

export const servedByHeaders = (servedBy: ServedBy): Record<string, string> => ({
  "x-gateway-provider": servedBy.provider,
  "x-gateway-model": servedBy.model.id,
  "x-gateway-max-tokens": String(servedBy.maxTokens),
  ...(servedBy.fallbackFrom === undefined ? {} : { "x-gateway-fallback-from": servedBy.fallbackFrom })
})

/** How a stream's failure after its first byte is told: turned into the protocol's error event by the encoder. */
export type StreamFailure = (cause: Cause.Cause<ChatError>) => Effect.Effect<ApiError>

export const makeChatResponses = Effect.gen(function* () {
  const { streaming, auth } = yield* GatewayConfig
  const { instruments } = yield* Metrics
  const writeLimit = `${Duration.toSeconds(streaming.clientWriteTimeout)} s`
  const heartbeatMs = Duration.toMillis(streaming.heartbeat)
  const providerUserId = makeProviderUserId(auth)

  /**
   * What providers see as the end user is the authenticated user's, never the body's (ProviderUserId.ts). The
   * request's record observes the chat; the handler reads its timings and notes how a stream failed.
   */
  const input = Effect.fnUntraced(function* (request: ChatCompletionRequest) {
    const user = yield* CurrentUser
    const { beforeUpstream, upstreamCalled, tokens } = yield* Admission
    const chatInput: ChatInput = {
      user,
      request: withProviderUserId(request, providerUserId(user.id)),
      requestId: yield* RequestId,
      observer: yield* CurrentRequest,
      admission: beforeUpstream,
      upstreamCalled,
      tokens
    }
    return chatInput
  })

  /** A whole answer, as JSON, with what it cost. */
  const completed = (body: unknown, { servedBy, settlement }: Omit<CompletedChat, "completion">) =>
    Effect.map(CurrentRequest, (record) =>
      HttpServerResponse.jsonUnsafe(body, {
        headers: {
          ...servedByHeaders(servedBy),
          ...record.timingHeaders(),
          ...(settlement !== undefined && {
            "x-request-cost": Money.format(settlement.charged),
            "x-balance-remaining": Money.format(settlement.balance)
          })
        }
      })
    )

  /** A streamed answer: `encode` frames the chunks in the protocol, given how to tell a failure and the heartbeat. */
  const streamed = (
    chatInput: ChatInput,
    servedBy: ServedBy,
    encode: (options: { readonly onError: StreamFailure; readonly heartbeatMs: number }) => Stream.Stream<Uint8Array>
  ) =>
    Effect.map(CurrentRequest, (record) => {
      const events = encode({
        heartbeatMs,
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

  return { input, completed, streamed }
})
