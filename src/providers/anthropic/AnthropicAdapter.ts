/**
 * The Anthropic adapter: the Messages API (https://docs.anthropic.com/en/api/messages)
 * through UpstreamHttp; it never retries (retries are the gateway's).
 *
 * The translation targets the classic Messages API, so requests carry `anthropic-version:
 * 2023-06-01` and `x-api-key` (https://docs.anthropic.com/en/api/versioning): the wire
 * contract does not move with newer API versions, and Anthropic-compatible servers and
 * proxies that only know the classic headers work.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import type * as Sse from "effect/encoding/Sse"
import { decodeEvents, decoder, type EventDecoding, translateStream } from "../StreamTranslator.ts"
import type { UpstreamVendor } from "../UpstreamHttp.ts"
import { fromTranslation, makeAdapter, newCompletionId, nowSeconds } from "../adapterSupport.ts"
import { answerJson, jsonOrUndefined } from "../upstreamErrors.ts"
import { anthropicErrorReason } from "./errors.ts"
import { toMessagesRequest } from "./translateRequest.ts"
import { streamTranslator, toChatCompletion } from "./translateResponse.ts"
import { Message, type MessagesRequest } from "./wire.ts"

export const anthropicVersion = "2023-06-01"

const path = "/v1/messages"

const decodeMessage = decoder(Message, "Anthropic message")

/**
 * Events the stream's reader skips, as the official SDK does: `ping`, events without an `event:`
 * line (every Messages API event names itself; the SSE decoder calls the unnamed ones `message`),
 * and events without data other than `error`.
 */
const skipped = new Set(["ping", "message"])
const isSkipped = (event: Sse.Event) => skipped.has(event.event) || (event.data === "" && event.event !== "error")

const anthropic: UpstreamVendor = {
  name: "Anthropic",
  headers: (apiKey) => ({ "x-api-key": apiKey, "anthropic-version": anthropicVersion }),
  errorReason: anthropicErrorReason
}

export const makeAnthropicAdapter = makeAdapter("anthropic", anthropic, (http) => ({
  complete: (input, fail) =>
    Effect.gen(function* () {
      const { body, jsonTool } = yield* fromTranslation(toMessagesRequest(input, false), fail)
      const raw = yield* http.post(path, body, fail)
      const message = yield* fromTranslation(decodeMessage(raw), fail)
      return yield* fromTranslation(
        toChatCompletion(message, { created: yield* nowSeconds, model: input.model.id }, { jsonTool }),
        fail
      )
    }),

  stream: (input, fail, bound) => {
    const open = (body: MessagesRequest) =>
      Effect.gen(function* () {
        const { headers, events } = yield* http.stream(path, body, fail)
        return decodeEvents(events, (event): EventDecoding<unknown> => {
          if (isSkipped(event)) return undefined
          if (event.event === "error") {
            const answer = { status: undefined, body: jsonOrUndefined(event.data), text: event.data, headers }
            return Result.fail(http.failWith(answer, fail))
          }
          const data = answerJson(event.data, "Anthropic")
          return Result.isSuccess(data) ? Result.succeed(data.success) : Result.fail(Effect.fail(fail(data.failure)))
        })
      })
    return Stream.unwrap(
      Effect.gen(function* () {
        const { body, jsonTool } = yield* fromTranslation(toMessagesRequest(input, true), fail)
        const context = { id: yield* newCompletionId, created: yield* nowSeconds, model: input.model.id }
        return translateStream(bound(open(body)), streamTranslator(context, { jsonTool }), fail)
      })
    )
  }
}))
