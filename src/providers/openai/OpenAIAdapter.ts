/**
 * The OpenAI adapter: the only OpenAI code that talks HTTP. Streams go through the
 * official SDK with its retries off (retries are the gateway's); plain calls go straight
 * to the same connection pool (OpenAIHttp.ts), with the SDK's error classes.
 * `OPENAI_BASE_URL` is used as given, so any OpenAI-compatible server can stand behind it.
 */
import { Effect, Redacted, Stream } from "effect"
import OpenAI from "openai"
import type { Stream as SdkStream } from "openai/core/streaming"
import type { ProviderEndpoint, UpstreamTimeouts } from "../../Config.ts"
import { boundCall, boundStream } from "../Bounds.ts"
import type { Provider, ProviderRequest } from "../Provider.ts"
import { translateStream } from "../StreamTranslator.ts"
import { fetchThrough, makeDispatcher } from "../UpstreamHttp.ts"
import { callUpstream, failFor, fromTranslation, scopedAbortSignal, streamFailWith } from "../adapterSupport.ts"
import { openaiReason } from "./errors.ts"
import { makePostJson } from "./OpenAIHttp.ts"
import { streamTranslator, toChatCompletion, toOpenAIRequest } from "./translate.ts"

export const makeOpenAIAdapter = Effect.fnUntraced(function* (
  endpoint: ProviderEndpoint & { readonly apiKey: Redacted.Redacted<string> },
  timeouts: UpstreamTimeouts
) {
  const dispatcher = yield* makeDispatcher(timeouts.connectMs)
  const client = new OpenAI({
    apiKey: Redacted.value(endpoint.apiKey),
    baseURL: endpoint.baseUrl,
    maxRetries: 0,
    // A backstop only: Bounds.ts ends the call first.
    timeout: timeouts.totalMs + 5_000,
    fetch: fetchThrough(dispatcher)
  })
  const postJson = makePostJson(dispatcher, endpoint.baseUrl, Redacted.value(endpoint.apiKey))

  const complete = (input: ProviderRequest) => {
    const fail = failFor("openai", input.model)
    return Effect.gen(function* () {
      const body = toOpenAIRequest(input, false)
      const raw = yield* callUpstream((signal) => postJson(body, signal), openaiReason, fail)
      return yield* fromTranslation(toChatCompletion(raw, input.model.id), fail)
    }).pipe((call) => boundCall(call, timeouts, fail))
  }

  const stream = (input: ProviderRequest) => {
    const fail = failFor("openai", input.model)
    const open = Effect.gen(function* () {
      const body = toOpenAIRequest(input, true)
      const signal = yield* scopedAbortSignal
      const chunks = yield* callUpstream(
        () => client.post<SdkStream<unknown>>("/chat/completions", { body, stream: true, signal }),
        openaiReason,
        fail
      )
      return Stream.fromAsyncIterable(chunks, (error) => error).pipe(Stream.catch(streamFailWith(openaiReason, fail)))
    })
    const translator = streamTranslator(input.model.id, input.request.n ?? 1)
    return translateStream(boundStream(open, timeouts, fail), translator, fail)
  }

  return { name: "openai", complete, stream } satisfies Provider
})
