/**
 * OpenAI Chat Completions request → Anthropic Messages request. Pure. What Anthropic
 * cannot do (n > 1, temperature above 1, JSON response formats, audio or files) is
 * refused here, before any upstream call, naming the request field.
 */
import { Result } from "effect"
import type { ChatCompletionRequest, ChatMessage, ContentPart, ToolChoice } from "../../domain/Chat.ts"
import type { UnsupportedReason } from "../../domain/ProviderError.ts"
import type { ProviderRequest } from "../Provider.ts"
import {
  isHttpsUrl,
  mergeConsecutive,
  parseArguments,
  parseDataUrl,
  placeholderUserText,
  stopSequences,
  textOf,
  unsupported
} from "../translateCommon.ts"
import type { ImageBlock, MessagesRequest, RequestBlock, RequestMessage, RequestToolChoice, TextBlock } from "./wire.ts"

type Translated<A> = Result.Result<A, UnsupportedReason>

const imageBlock = (url: string, param: string): Translated<ImageBlock> => {
  const data = parseDataUrl(url)
  if (data !== undefined) {
    return Result.succeed({ type: "image", source: { type: "base64", media_type: data.mediaType, data: data.data } })
  }
  if (isHttpsUrl(url)) return Result.succeed({ type: "image", source: { type: "url", url } })
  return unsupported(param, `${param} must be a data: URL or an https: URL`)
}

const partBlock = (part: ContentPart, param: string): Translated<TextBlock | ImageBlock> => {
  switch (part.type) {
    case "text":
      return Result.succeed({ type: "text", text: part.text })
    case "image_url":
      return imageBlock(part.image_url.url, `${param}.image_url.url`)
    default:
      return unsupported(param, `${param}: ${part.type} content is not supported for Anthropic models`)
  }
}

const contentBlocks = (message: ChatMessage, param: string): Translated<Array<TextBlock | ImageBlock>> =>
  Result.gen(function* () {
    const content = message.content
    if (content === null || content === undefined) return []
    if (typeof content === "string") return [{ type: "text", text: content }]
    const blocks: Array<TextBlock | ImageBlock> = []
    for (const [index, part] of content.entries()) blocks.push(yield* partBlock(part, `${param}.content[${index}]`))
    return blocks
  })

const assistantBlocks = (message: ChatMessage, param: string): Translated<Array<RequestBlock>> =>
  Result.gen(function* () {
    const blocks: Array<RequestBlock> = yield* contentBlocks(message, param)
    for (const [index, call] of (message.tool_calls ?? []).entries()) {
      const input = yield* parseArguments(call.function.arguments, `${param}.tool_calls[${index}].function.arguments`)
      blocks.push({ type: "tool_use", id: call.id, name: call.function.name, input })
    }
    return blocks
  })

const toolResultBlock = (message: ChatMessage, param: string): Translated<RequestBlock> =>
  Result.map(contentBlocks(message, param), (blocks) => ({
    type: "tool_result",
    tool_use_id: message.tool_call_id ?? "",
    content: typeof message.content === "string" ? message.content : blocks
  }))

/** Anthropic rejects empty text blocks; tool results keep their (possibly empty) content. */
const nonEmpty = (block: RequestBlock): boolean => block.type !== "text" || block.text !== ""

const turns = (messages: ReadonlyArray<ChatMessage>): Translated<{ system: string; turns: Array<RequestMessage> }> =>
  Result.gen(function* () {
    const system: Array<string> = []
    const out: Array<RequestMessage> = []
    for (const [index, message] of messages.entries()) {
      const param = `messages[${index}]`
      switch (message.role) {
        case "system":
        case "developer": {
          const blocks = yield* contentBlocks(message, param)
          if (blocks.some((block) => block.type !== "text")) {
            return yield* unsupported(`${param}.content`, `${param}.content: a system message may only hold text`)
          }
          system.push(textOf(message.content))
          break
        }
        case "user":
          out.push({ role: "user", content: yield* contentBlocks(message, param) })
          break
        case "assistant":
          out.push({ role: "assistant", content: yield* assistantBlocks(message, param) })
          break
        case "tool":
          out.push({ role: "user", content: [yield* toolResultBlock(message, param)] })
          break
      }
    }
    const kept = out
      .map((turn) => ({ role: turn.role, content: turn.content.filter(nonEmpty) }))
      .filter((turn) => turn.content.length > 0)
    const merged = mergeConsecutive(kept, (first, second) => ({
      role: first.role,
      content: [...first.content, ...second.content]
    }))
    if (merged[0]?.role !== "user") {
      merged.unshift({ role: "user", content: [{ type: "text", text: placeholderUserText }] })
    }
    return { system: system.filter((text) => text !== "").join("\n\n"), turns: trimPrefill(merged) }
  })

/** A final assistant turn is a prefill, and Anthropic rejects one that ends in whitespace. */
const trimPrefill = (turns: Array<RequestMessage>): Array<RequestMessage> => {
  const last = turns.at(-1)
  const block = last?.content.at(-1)
  if (last?.role !== "assistant" || block?.type !== "text") return turns
  const text = block.text.trimEnd()
  const content =
    text === "" ? last.content.slice(0, -1) : [...last.content.slice(0, -1), { type: "text" as const, text }]
  return content.length === 0 ? turns.slice(0, -1) : [...turns.slice(0, -1), { role: "assistant", content }]
}

const toolChoice = (
  choice: ToolChoice | null | undefined,
  parallel: boolean | null | undefined
): RequestToolChoice | undefined => {
  const single = parallel === false ? { disable_parallel_tool_use: true } : {}
  if (choice === "none") return { type: "none" }
  if (choice === "required") return { type: "any", ...single }
  if (typeof choice === "object" && choice !== null) return { type: "tool", name: choice.function.name, ...single }
  return parallel === false ? { type: "auto", ...single } : choice === "auto" ? { type: "auto" } : undefined
}

const checkSupported = (request: ChatCompletionRequest): Translated<void> => {
  if ((request.n ?? 1) > 1) return unsupported("n", "n: Anthropic models return one choice; n must be 1")
  if (request.temperature !== undefined && request.temperature !== null && request.temperature > 1) {
    return unsupported("temperature", "temperature: Anthropic models accept a temperature between 0 and 1")
  }
  const format = request.response_format?.type
  if (format === "json_object" || format === "json_schema") {
    return unsupported("response_format", `response_format: ${format} is not supported for Anthropic models`)
  }
  if (stopSequences(request).some((stop) => stop.trim() === "")) {
    return unsupported("stop", "stop: Anthropic models reject empty or whitespace-only stop sequences")
  }
  return Result.succeed(undefined)
}

export const toMessagesRequest = (input: ProviderRequest, stream: boolean): Translated<MessagesRequest> =>
  Result.gen(function* () {
    const { request } = input
    yield* checkSupported(request)
    const { system, turns: messages } = yield* turns(request.messages)
    const tools = request.tools ?? []
    const choice = tools.length > 0 ? toolChoice(request.tool_choice, request.parallel_tool_calls) : undefined
    const stop = stopSequences(request)
    return {
      model: input.model.upstreamModel,
      max_tokens: input.maxTokens,
      messages,
      ...(system !== "" && { system }),
      ...(typeof request.temperature === "number" && { temperature: request.temperature }),
      ...(typeof request.top_p === "number" && { top_p: request.top_p }),
      ...(stop.length > 0 && { stop_sequences: stop }),
      ...(tools.length > 0 && {
        tools: tools.map((tool) => ({
          name: tool.function.name,
          ...(tool.function.description !== undefined && { description: tool.function.description }),
          input_schema: tool.function.parameters ?? { type: "object", properties: {} }
        }))
      }),
      ...(choice !== undefined && { tool_choice: choice }),
      ...(typeof request.user === "string" && request.user !== "" && { metadata: { user_id: request.user } }),
      ...(stream && { stream: true })
    }
  })
