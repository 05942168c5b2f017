/**
 * Anthropic's Messages API: the request is translated to the canonical chat request and served by
 * `ChatCompletions`, the pipeline of `/v1/chat/completions` (limits, reserve, breakers, retries, fallbacks,
 * settle, metrics, logs); its answer is translated back into Anthropic's message or event stream.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import { GatewayConfig } from "../../Config.ts"
import type { ChatCompletionRequest } from "../../domain/Chat.ts"
import { NotFound, quoted } from "../../domain/errors.ts"
import type { CountTokensRequest, CreateMessageRequest } from "../../domain/Messages.ts"
import * as Money from "../../domain/Money.ts"
import { countPromptTokens } from "../../domain/Tokens.ts"
import { makeProviderUserId, withProviderUserId } from "../../services/auth/ProviderUserId.ts"
import { ChatCompletions, type ChatInput } from "../../services/chat/ChatCompletions.ts"
import { Metrics } from "../../services/metrics/Metrics.ts"
import { ModelCatalog } from "../../services/registry/ModelCatalog.ts"
import { CurrentRequest } from "../../services/telemetry/RequestRecord.ts"
import { Admission, Api, CurrentUser } from "../Api.ts"
import { boundWrites } from "../ClientWrites.ts"
import { toMessage } from "../messages/fromChat.ts"
import * as MessageStream from "../messages/stream.ts"
import { fromCountTokens, fromCreateMessage } from "../messages/toChat.ts"
import { RequestId } from "../RequestContext.ts"
import * as Sse from "../Sse.ts"
import { servedByHeaders } from "./Chat.ts"

export const MessagesHandlers = HttpApiBuilder.group(
  Api,
  "messages",
  Effect.fnUntraced(function* (handlers) {
    const chat = yield* ChatCompletions
    const { streaming, auth } = yield* GatewayConfig
    const { instruments } = yield* Metrics
    const writeLimit = `${Duration.toSeconds(streaming.clientWriteTimeout)} s`
    const providerUserId = makeProviderUserId(auth)

    /** As for chat (`Chat.ts`): the provider sees the authenticated user's id, and the request's record observes. */
    const input = (request: ChatCompletionRequest) =>
      Effect.gen(function* () {
        const user = yield* CurrentUser
        const { beforeUpstream, upstreamCalled } = yield* Admission
        const input: ChatInput = {
          user,
          request: withProviderUserId(request, providerUserId(user.id)),
          requestId: yield* RequestId,
          observer: yield* CurrentRequest,
          admission: beforeUpstream,
          upstreamCalled
        }
        return input
      })

    const complete = (request: ChatCompletionRequest) =>
      Effect.gen(function* () {
        const record = yield* CurrentRequest
        const chatInput = yield* input(request)
        const { servedBy, completion, settlement } = yield* chat.complete(chatInput)
        return HttpServerResponse.jsonUnsafe(toMessage(completion, chatInput.requestId), {
          headers: {
            ...servedByHeaders(servedBy),
            ...record.timingHeaders(),
            ...(settlement !== undefined && {
              "x-request-cost": Money.format(settlement.charged),
              "x-balance-remaining": Money.format(settlement.balance)
            })
          }
        })
      })

    const stream = (request: ChatCompletionRequest) =>
      Effect.gen(function* () {
        const record = yield* CurrentRequest
        const chatInput = yield* input(request)
        const { servedBy, chunks } = yield* chat.stream(chatInput)
        const events = MessageStream.encode(chunks, {
          requestId: chatInput.requestId,
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

    const create = (payload: CreateMessageRequest) =>
      Effect.flatMap(Effect.fromResult(fromCreateMessage(payload)), (request) =>
        payload.stream === true ? stream(request) : complete(request)
      )

    return handlers.handle("create", ({ payload }) => create(payload))
  })
)

/** Counts with the gateway's tokenizer, as billing counts a prompt whose provider reported no usage. */
export const MessagesCountHandlers = HttpApiBuilder.group(
  Api,
  "messagesCount",
  Effect.fnUntraced(function* (handlers) {
    const catalog = yield* ModelCatalog
    const count = (payload: CountTokensRequest) =>
      Effect.flatMap(Effect.fromResult(fromCountTokens(payload)), (request) => {
        const model = catalog.find(request.model)
        return model === undefined
          ? Effect.fail(
              new NotFound({
                message: `The model ${quoted(request.model)} does not exist or is not served by this gateway`,
                param: "model"
              })
            )
          : Effect.succeed({ input_tokens: countPromptTokens(request, model) })
      })
    return handlers.handle("countTokens", ({ payload }) => count(payload))
  })
)
