/**
 * Token arithmetic that needs no tokenizer. `upperBound` is a guaranteed ceiling (no
 * BPE token is shorter than one byte); `estimate` is the usual ~4 characters per token.
 */
import type { ChatMessage, ChatCompletionRequest, Content } from "./Chat.ts"

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

/** A ceiling on the prompt tokens of a request, for reservations. */
export const promptUpperBound = (request: ChatCompletionRequest): number => {
  let total = replyPrimer
  for (const message of request.messages) total += messageBytes(message) + perMessageOverhead
  if (request.tools) total += Buffer.byteLength(JSON.stringify(request.tools))
  if (request.response_format) total += Buffer.byteLength(JSON.stringify(request.response_format))
  return total
}

/** A realistic estimate of a text's tokens (~4 characters each). */
export const estimateTextTokens = (text: string): number => Math.ceil(text.length / 4)

/** A realistic estimate of the prompt tokens of a request. */
export const estimatePromptTokens = (request: ChatCompletionRequest): number => {
  let total = replyPrimer
  for (const message of request.messages) {
    total += perMessageOverhead + estimateTextTokens(contentText(message.content))
    if (message.tool_calls !== undefined) total += estimateTextTokens(JSON.stringify(message.tool_calls))
  }
  if (request.tools) total += estimateTextTokens(JSON.stringify(request.tools))
  return total
}
