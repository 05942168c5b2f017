/**
 * The Gemini adapter: `generateContent` and `streamGenerateContent`
 * (https://ai.google.dev/api/generate-content), and `batchEmbedContents` (`embeddings.ts`), through
 * UpstreamHttp. The key goes in `x-goog-api-key`, as the official SDK sends it (never in the URL,
 * where it would reach logs).
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { CatalogModel } from "../../domain/Catalog.ts"
import { inputCount } from "../../domain/Embeddings.ts"
import { decoder, translateStream } from "../StreamTranslator.ts"
import type { UpstreamVendor } from "../UpstreamHttp.ts"
import { fromTranslation, makeAdapter, newCompletionId, nowSeconds } from "../adapterSupport.ts"
import { fromBatchEmbedAnswer, toBatchEmbedRequest } from "./embeddings.ts"
import { geminiErrorReason } from "./errors.ts"
import { toGenerateContentRequest } from "./translateRequest.ts"
import { streamOpened, streamTranslator, toChatCompletion } from "./translateResponse.ts"
import { GenerateContentResponse } from "./wire.ts"

const decodeResponse = decoder(GenerateContentResponse, "Gemini response")

const pathOf = (model: CatalogModel, method: string) => `/v1beta/models/${model.upstreamModel}:${method}`

const gemini: UpstreamVendor = {
  name: "Gemini",
  headers: (apiKey) => ({ "x-goog-api-key": apiKey }),
  errorReason: geminiErrorReason
}

export const makeGeminiAdapter = makeAdapter("gemini", gemini, (http) => ({
  complete: (input, fail) =>
    Effect.gen(function* () {
      const body = yield* fromTranslation(toGenerateContentRequest(input), fail)
      const raw = yield* http.post(pathOf(input.model, "generateContent"), body, fail)
      const decoded = yield* fromTranslation(decodeResponse(raw), fail)
      const context = { id: yield* newCompletionId, created: yield* nowSeconds, model: input.model.id }
      return yield* fromTranslation(toChatCompletion(decoded, context), fail)
    }),

  stream: (input, fail, bound) => {
    const open = Effect.gen(function* () {
      const body = yield* fromTranslation(toGenerateContentRequest(input), fail)
      // `alt=sse`: one whole GenerateContentResponse per `data:` event, the stream closed at the end.
      const { events } = yield* http.stream(pathOf(input.model, "streamGenerateContent?alt=sse"), body, fail)
      return Stream.concat(Stream.succeed(streamOpened), events.pipe(Stream.map((event) => event.data)))
    })
    return Stream.unwrap(
      Effect.gen(function* () {
        const context = { id: yield* newCompletionId, created: yield* nowSeconds, model: input.model.id }
        return translateStream(bound(open), streamTranslator(context, input.request.n ?? 1), fail)
      })
    )
  },
  embed: (input, fail) =>
    Effect.gen(function* () {
      const body = yield* fromTranslation(toBatchEmbedRequest(input), fail)
      const raw = yield* http.post(pathOf(input.model, "batchEmbedContents"), body, fail)
      return yield* fromTranslation(fromBatchEmbedAnswer(raw, input, inputCount(input.inputs)), fail)
    })
}))
