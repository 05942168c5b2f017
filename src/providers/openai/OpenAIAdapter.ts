/**
 * The OpenAI adapter: Chat Completions (https://platform.openai.com/docs/api-reference/chat) and
 * embeddings (`embeddings.ts`) through UpstreamHttp; it never retries (retries are the gateway's). `OPENAI_BASE_URL` is
 * used as given, so any OpenAI-compatible server can stand behind it.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import { inputCount } from "../../domain/Embeddings.ts"
import { decodeEvents, type EventDecoding, translateStream } from "../StreamTranslator.ts"
import type { UpstreamVendor } from "../UpstreamHttp.ts"
import { fromTranslation, makeAdapter } from "../adapterSupport.ts"
import { answerJson, field } from "../upstreamErrors.ts"
import { fromOpenAIEmbeddings, toOpenAIEmbeddingRequest } from "./embeddings.ts"
import { openaiErrorReason } from "./errors.ts"
import { streamTranslator, toChatCompletion } from "./translate.ts"
import { toOpenAIRequest } from "./translateRequest.ts"

const path = "/chat/completions"

const openai: UpstreamVendor = {
  name: "OpenAI",
  headers: (apiKey) => ({ authorization: `Bearer ${apiKey}` }),
  errorReason: openaiErrorReason
}

export const makeOpenAIAdapter = makeAdapter("openai", openai, (http) => ({
  complete: (input, fail) =>
    Effect.gen(function* () {
      const body = yield* fromTranslation(toOpenAIRequest(input, false), fail)
      const raw = yield* http.post(path, body, fail)
      return yield* fromTranslation(toChatCompletion(raw, input.model.id), fail)
    }),

  stream: (input, fail, bound) => {
    const open = Effect.gen(function* () {
      const body = yield* fromTranslation(toOpenAIRequest(input, true), fail)
      const { headers, events } = yield* http.stream(path, body, fail)
      // Data-only events up to `data: [DONE]`; an `{"error": …}` event ends the stream with what it means.
      return decodeEvents(
        Stream.takeWhile(events, (event) => !event.data.startsWith("[DONE]")),
        (event): EventDecoding<unknown> => {
          const data = answerJson(event.data, "OpenAI")
          if (Result.isFailure(data)) return Result.fail(Effect.fail(fail(data.failure)))
          const error = field(data.success, "error")
          return typeof error === "object" && error !== null
            ? Result.fail(http.failWith({ status: undefined, body: data.success, text: event.data, headers }, fail))
            : Result.succeed(data.success)
        }
      )
    })
    return translateStream(bound(open), streamTranslator(input.model.id, input.request.n ?? 1), fail)
  },

  embed: (input, fail) =>
    Effect.flatMap(http.post("/embeddings", toOpenAIEmbeddingRequest(input), fail), (raw) =>
      fromTranslation(fromOpenAIEmbeddings(raw, inputCount(input.inputs)), fail)
    )
}))
