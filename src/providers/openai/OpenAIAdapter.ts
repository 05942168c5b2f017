/**
 * The OpenAI adapter: Chat Completions (https://platform.openai.com/docs/api-reference/chat) and
 * embeddings (`embeddings.ts`) through UpstreamHttp; it never retries (retries are the gateway's). `OPENAI_BASE_URL` is
 * used as given, so any OpenAI-compatible server can stand behind it.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import type { ProviderEndpoint, UpstreamTimeouts } from "../../Config.ts"
import { inputCount } from "../../domain/Embeddings.ts"
import { boundCall, boundStream } from "../Bounds.ts"
import type { EmbeddingProviderRequest, Provider, ProviderRequest } from "../Provider.ts"
import { translateStream } from "../StreamTranslator.ts"
import { makeUpstreamHttp } from "../UpstreamHttp.ts"
import { failFor, fromTranslation } from "../adapterSupport.ts"
import { answerJson, field } from "../upstreamErrors.ts"
import { fromOpenAIEmbeddings, toOpenAIEmbeddingRequest } from "./embeddings.ts"
import { openaiErrorReason } from "./errors.ts"
import { streamTranslator, toChatCompletion } from "./translate.ts"
import { toOpenAIRequest } from "./translateRequest.ts"

const path = "/chat/completions"

export const makeOpenAIAdapter = Effect.fnUntraced(function* (
  endpoint: ProviderEndpoint & { readonly apiKey: Redacted.Redacted<string> },
  timeouts: UpstreamTimeouts
) {
  const http = yield* makeUpstreamHttp({
    vendor: "OpenAI",
    baseUrl: endpoint.baseUrl,
    headers: { authorization: `Bearer ${Redacted.value(endpoint.apiKey)}` },
    connectTimeoutMs: Duration.toMillis(timeouts.connect),
    errorReason: openaiErrorReason
  })

  const complete = (input: ProviderRequest) => {
    const fail = failFor("openai", input.model)
    return Effect.gen(function* () {
      const body = yield* fromTranslation(toOpenAIRequest(input, false), fail)
      const raw = yield* http.post(path, body, fail)
      return yield* fromTranslation(toChatCompletion(raw, input.model.id), fail)
    }).pipe((call) => boundCall(call, timeouts, fail, input.maxTokens))
  }

  const stream = (input: ProviderRequest) => {
    const fail = failFor("openai", input.model)
    const open = Effect.gen(function* () {
      const body = yield* fromTranslation(toOpenAIRequest(input, true), fail)
      const { headers, events } = yield* http.stream(path, body, fail)
      // Data-only events up to `data: [DONE]`; an `{"error": …}` event ends the stream with what it means.
      return events.pipe(
        Stream.takeWhile((event) => !event.data.startsWith("[DONE]")),
        Stream.mapEffect((event) => {
          const data = answerJson(event.data, "OpenAI")
          if (Result.isFailure(data)) return Effect.fail(fail(data.failure))
          const error = field(data.success, "error")
          return typeof error === "object" && error !== null
            ? http.failWith({ status: undefined, body: data.success, text: event.data, headers }, fail)
            : Effect.succeed(data.success)
        })
      )
    })
    const translator = streamTranslator(input.model.id, input.request.n ?? 1)
    return translateStream(boundStream(open, timeouts, fail), translator, fail)
  }

  const embed = (input: EmbeddingProviderRequest) => {
    const fail = failFor("openai", input.model)
    return Effect.gen(function* () {
      const raw = yield* http.post("/embeddings", toOpenAIEmbeddingRequest(input), fail)
      return yield* fromTranslation(fromOpenAIEmbeddings(raw, inputCount(input.inputs)), fail)
    }).pipe((call) => boundCall(call, timeouts, fail, 0))
  }

  return { name: "openai", complete, stream, embed } satisfies Provider
})
