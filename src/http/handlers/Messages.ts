/**
 * Anthropic's Messages API: the request is translated to the canonical chat request and served by
 * `ChatCompletions`, the pipeline of `/v1/chat/completions` (limits, reserve, breakers, retries, fallbacks,
 * settle, metrics, logs); its answer is translated back into Anthropic's message or event stream.
 */
import * as Effect from "effect/Effect"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import type { ChatCompletionRequest } from "../../domain/Chat.ts"
import { NotFound, quoted } from "../../domain/errors.ts"
import type { CountTokensRequest, CreateMessageRequest } from "../../domain/Messages.ts"
import { countPromptTokens } from "../../domain/Tokens.ts"
import { ChatCompletions } from "../../services/chat/ChatCompletions.ts"
import { ModelCatalog } from "../../services/registry/ModelCatalog.ts"
import { Api } from "../Api.ts"
import { toMessage } from "../messages/fromChat.ts"
import * as MessageStream from "../messages/stream.ts"
import { fromCountTokens, fromCreateMessage } from "../messages/toChat.ts"
import { makeChatResponses } from "./chatResponses.ts"

export const MessagesHandlers = HttpApiBuilder.group(
  Api,
  "messages",
  Effect.fnUntraced(function* (handlers) {
    const chat = yield* ChatCompletions
    const responses = yield* makeChatResponses

    const complete = Effect.fnUntraced(function* (request: ChatCompletionRequest) {
      const chatInput = yield* responses.input(request)
      const completed = yield* chat.complete(chatInput)
      return yield* responses.completed(toMessage(completed.completion, chatInput.requestId), completed)
    })

    const stream = Effect.fnUntraced(function* (request: ChatCompletionRequest) {
      const chatInput = yield* responses.input(request)
      const { servedBy, chunks } = yield* chat.stream(chatInput)
      return yield* responses.streamed(chatInput, servedBy, (options) =>
        MessageStream.encode(chunks, { requestId: chatInput.requestId, ...options })
      )
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
