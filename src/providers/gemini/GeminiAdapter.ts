/**
 * The Gemini adapter: `generateContent` and `streamGenerateContent`
 * (https://ai.google.dev/api/generate-content), and `batchEmbedContents` (`embeddings.ts`), through
 * UpstreamHttp. The key goes in `x-goog-api-key`, as the official SDK sends it (never in the URL,
 * where it would reach logs).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type { ProviderEndpoint, UpstreamTimeouts } from "../../Config.ts"
import type { CatalogModel } from "../../domain/Catalog.ts"
import { inputCount } from "../../domain/Embeddings.ts"
import { boundCall, boundStream } from "../Bounds.ts"
import type { EmbeddingProviderRequest, Provider, ProviderRequest } from "../Provider.ts"
import { decoder, translateStream } from "../StreamTranslator.ts"
import { makeUpstreamHttp } from "../UpstreamHttp.ts"
import { failFor, fromTranslation, newCompletionId, nowSeconds } from "../adapterSupport.ts"
import { fromBatchEmbedAnswer, toBatchEmbedRequest } from "./embeddings.ts"
import { geminiErrorReason } from "./errors.ts"
import { toGenerateContentRequest } from "./translateRequest.ts"
import { streamOpened, streamTranslator, toChatCompletion } from "./translateResponse.ts"
import { GenerateContentResponse } from "./wire.ts"

const decodeResponse = decoder(GenerateContentResponse, "Gemini response")

const pathOf = (model: CatalogModel, method: string) => `/v1beta/models/${model.upstreamModel}:${method}`

export const makeGeminiAdapter = Effect.fnUntraced(function* (
  endpoint: ProviderEndpoint & { readonly apiKey: Redacted.Redacted<string> },
  timeouts: UpstreamTimeouts
) {
  const http = yield* makeUpstreamHttp({
    vendor: "Gemini",
    baseUrl: endpoint.baseUrl,
    headers: { "x-goog-api-key": Redacted.value(endpoint.apiKey) },
    connectTimeoutMs: Duration.toMillis(timeouts.connect),
    errorReason: geminiErrorReason
  })

  const complete = (input: ProviderRequest) => {
    const fail = failFor("gemini", input.model)
    return Effect.gen(function* () {
      const body = yield* fromTranslation(toGenerateContentRequest(input), fail)
      const raw = yield* http.post(pathOf(input.model, "generateContent"), body, fail)
      const decoded = yield* fromTranslation(decodeResponse(raw), fail)
      const context = { id: yield* newCompletionId, created: yield* nowSeconds, model: input.model.id }
      return yield* fromTranslation(toChatCompletion(decoded, context), fail)
    }).pipe((call) => boundCall(call, timeouts, fail, input.maxTokens))
  }

  const stream = (input: ProviderRequest) => {
    const fail = failFor("gemini", input.model)
    const open = Effect.gen(function* () {
      const body = yield* fromTranslation(toGenerateContentRequest(input), fail)
      // `alt=sse`: one whole GenerateContentResponse per `data:` event, the stream closed at the end.
      const { events } = yield* http.stream(pathOf(input.model, "streamGenerateContent?alt=sse"), body, fail)
      return Stream.concat(Stream.succeed(streamOpened), events.pipe(Stream.map((event) => event.data)))
    })
    return Stream.unwrap(
      Effect.gen(function* () {
        const context = { id: yield* newCompletionId, created: yield* nowSeconds, model: input.model.id }
        const events = boundStream(open, timeouts, fail)
        return translateStream(events, streamTranslator(context, input.request.n ?? 1), fail)
      })
    )
  }

  const embed = (input: EmbeddingProviderRequest) => {
    const fail = failFor("gemini", input.model)
    return Effect.gen(function* () {
      const body = yield* fromTranslation(toBatchEmbedRequest(input), fail)
      const raw = yield* http.post(pathOf(input.model, "batchEmbedContents"), body, fail)
      return yield* fromTranslation(fromBatchEmbedAnswer(raw, input, inputCount(input.inputs)), fail)
    }).pipe((call) => boundCall(call, timeouts, fail, 0))
  }

  return { name: "gemini", complete, stream, embed } satisfies Provider
})
