/**
 * The OpenAI adapter: the only OpenAI code that talks HTTP, straight on its undici pool
 * (OpenAIHttp.ts) with the SDK's error classes; it never retries (retries are the gateway's).
 * `OPENAI_BASE_URL` is used as given, so any OpenAI-compatible server can stand behind it.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type { ProviderEndpoint, UpstreamTimeouts } from "../../Config.ts"
import { boundCall, boundStream } from "../Bounds.ts"
import type { Provider, ProviderRequest } from "../Provider.ts"
import { translateStream } from "../StreamTranslator.ts"
import { makeDispatcher } from "../UpstreamHttp.ts"
import { callUpstream, failFor, fromTranslation, scopedAbortSignal, streamFailWith } from "../adapterSupport.ts"
import { openaiReason } from "./errors.ts"
import { makeOpenAIHttp } from "./OpenAIHttp.ts"
import { streamTranslator, toChatCompletion } from "./translate.ts"
import { toOpenAIRequest } from "./translateRequest.ts"

export const makeOpenAIAdapter = Effect.fnUntraced(function* (
  endpoint: ProviderEndpoint & { readonly apiKey: Redacted.Redacted<string> },
  timeouts: UpstreamTimeouts
) {
  const dispatcher = yield* makeDispatcher(timeouts.connectMs)
  const http = makeOpenAIHttp(dispatcher, endpoint.baseUrl, Redacted.value(endpoint.apiKey))

  const complete = (input: ProviderRequest) => {
    const fail = failFor("openai", input.model)
    return Effect.gen(function* () {
      const body = yield* fromTranslation(toOpenAIRequest(input, false), fail)
      const raw = yield* callUpstream((signal) => http.complete(body, signal), openaiReason, fail)
      return yield* fromTranslation(toChatCompletion(raw, input.model.id), fail)
    }).pipe((call) => boundCall(call, timeouts, fail, input.maxTokens))
  }

  const stream = (input: ProviderRequest) => {
    const fail = failFor("openai", input.model)
    const open = Effect.gen(function* () {
      const body = yield* fromTranslation(toOpenAIRequest(input, true), fail)
      const signal = yield* scopedAbortSignal
      const events = yield* callUpstream(() => http.stream(body, signal), openaiReason, fail)
      return events.pipe(Stream.catch(streamFailWith(openaiReason, fail)))
    })
    const translator = streamTranslator(input.model.id, input.request.n ?? 1)
    return translateStream(boundStream(open, timeouts, fail), translator, fail)
  }

  return { name: "openai", complete, stream } satisfies Provider
})
