import * as Effect from "effect/Effect"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import type { ChatCompletionRequest } from "../../domain/Chat.ts"
import { ChatCompletions } from "../../services/chat/ChatCompletions.ts"
import { Api } from "../Api.ts"
import * as Sse from "../Sse.ts"
import { makeChatResponses } from "./chatResponses.ts"

export const ChatHandlers = HttpApiBuilder.group(
  Api,
  "chat",
  Effect.fnUntraced(function* (handlers) {
    const chat = yield* ChatCompletions
    const responses = yield* makeChatResponses

    const complete = Effect.fnUntraced(function* (request: ChatCompletionRequest) {
      const completed = yield* chat.complete(yield* responses.input(request))
      return yield* responses.completed(completed.completion, completed)
    })

    const stream = Effect.fnUntraced(function* (request: ChatCompletionRequest) {
      const chatInput = yield* responses.input(request)
      const { servedBy, chunks } = yield* chat.stream(chatInput)
      return yield* responses.streamed(chatInput, servedBy, (options) =>
        Sse.encode(chunks, { includeUsage: request.stream_options?.include_usage === true, ...options })
      )
    })

    return handlers
      .handle("completions", ({ payload }) => (payload.stream === true ? stream(payload) : complete(payload)))
      .handle("completionsStream", ({ payload }) => stream(payload))
  })
)
