/**
 * The Anthropic adapter: the only Anthropic code that talks HTTP, through the official
 * SDK with its retries off (retries are the gateway's).
 *
 * The 1.x SDK speaks API version 2026-10-21 and authenticates with `Authorization:
 * Bearer`. The gateway's translation targets the classic Messages API, so it pins
 * `anthropic-version: 2023-06-01` and `x-api-key` through default headers (which the SDK
 * merges after its own): the wire contract then does not move when the SDK is upgraded,
 * and Anthropic-compatible servers and proxies that only know the classic headers work.
 * For the same reason requests go through the SDK's generic `post` with our own wire
 * types (`wire.ts`): the SDK's typings follow the newer API (no `temperature`, …).
 */
import Anthropic from "@anthropic-ai/sdk"
import type { Stream as SdkStream } from "@anthropic-ai/sdk/core/streaming"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type { ProviderEndpoint, UpstreamTimeouts } from "../../Config.ts"
import { boundCall, boundStream, completionBoundMs } from "../Bounds.ts"
import type { Provider, ProviderRequest } from "../Provider.ts"
import { translateStream, decoder } from "../StreamTranslator.ts"
import { fetchThrough, makeDispatcher } from "../UpstreamHttp.ts"
import {
  callUpstream,
  failFor,
  streamFailWith,
  fromTranslation,
  newCompletionId,
  nowSeconds,
  scopedAbortSignal
} from "../adapterSupport.ts"
import { anthropicReason } from "./errors.ts"
import { toMessagesRequest } from "./translateRequest.ts"
import { streamTranslator, toChatCompletion } from "./translateResponse.ts"
import { Message, type MessagesRequest } from "./wire.ts"

export const anthropicVersion = "2023-06-01"

const decodeMessage = decoder(Message, "Anthropic message")

export const makeAnthropicAdapter = Effect.fnUntraced(function* (
  endpoint: ProviderEndpoint & { readonly apiKey: Redacted.Redacted<string> },
  timeouts: UpstreamTimeouts
) {
  const dispatcher = yield* makeDispatcher(timeouts.connectMs)
  const apiKey = Redacted.value(endpoint.apiKey)
  const client = new Anthropic({
    apiKey,
    baseURL: endpoint.baseUrl,
    maxRetries: 0,
    // A backstop only: Bounds.ts ends the call first. Setting it also stops the SDK from
    // refusing large non-streamed max_tokens on its own estimate of the duration.
    timeout: timeouts.totalMs + 5_000,
    fetch: fetchThrough(dispatcher),
    // The SDK would print a malformed stream event to the console; the gateway reports the failure itself.
    logLevel: "off",
    defaultHeaders: { "x-api-key": apiKey, authorization: null, "anthropic-version": anthropicVersion }
  })

  const complete = (input: ProviderRequest) => {
    const fail = failFor("anthropic", input.model)
    return Effect.gen(function* () {
      const { body, jsonTool } = yield* fromTranslation(toMessagesRequest(input, false), fail)
      const raw = yield* callUpstream(
        // The SDK's backstop must not end a long generation before boundCall does.
        (signal) => {
          const timeout = completionBoundMs(timeouts.totalMs, timeouts, input.maxTokens) + 5_000
          return client.post<unknown>("/v1/messages", { body, signal, timeout })
        },
        anthropicReason,
        fail
      )
      const message = yield* fromTranslation(decodeMessage(raw), fail)
      return yield* fromTranslation(
        toChatCompletion(message, { created: yield* nowSeconds, model: input.model.id }, { jsonTool }),
        fail
      )
    }).pipe((call) => boundCall(call, timeouts, fail, input.maxTokens))
  }

  const stream = (input: ProviderRequest) => {
    const fail = failFor("anthropic", input.model)
    const open = (body: MessagesRequest) =>
      Effect.gen(function* () {
        const signal = yield* scopedAbortSignal
        const events = yield* callUpstream(
          () => client.post<SdkStream<unknown>>("/v1/messages", { body, stream: true, signal }),
          anthropicReason,
          fail
        )
        return Stream.fromAsyncIterable(events, (error) => error).pipe(
          Stream.catch(streamFailWith(anthropicReason, fail))
        )
      })
    return Stream.unwrap(
      Effect.gen(function* () {
        const { body, jsonTool } = yield* fromTranslation(toMessagesRequest(input, true), fail)
        const context = { id: yield* newCompletionId, created: yield* nowSeconds, model: input.model.id }
        const events = boundStream(open(body), timeouts, fail)
        return translateStream(events, streamTranslator(context, { jsonTool }), fail)
      })
    )
  }

  return { name: "anthropic", complete, stream } satisfies Provider
})
