/**
 * OpenAI messages → Anthropic's system prompt and alternating turns. Pure.
 * - system and developer messages become the top-level `system`;
 * - tool messages become `tool_result` blocks in a user turn, consecutive turns of a role merge;
 * - an echoed `thinking_blocks` list goes back first in its assistant turn, signatures unchanged;
 * - the conversation opens with a user turn, and never ends with an assistant turn: OpenAI writes a new
 *   reply after a final assistant message, where Claude would continue it as a prefill (which Claude 4.6
 *   and later refuse), so a placeholder user turn follows it.
 */
import * as Result from "effect/Result"
import type { ChatMessage, ContentPart, ThinkingBlock as ChatThinkingBlock } from "../../domain/Chat.ts"
import {
  contentParts,
  isHttpsUrl,
  mergeConsecutive,
  parseArguments,
  parseDataUrl,
  placeholderUserText,
  systemApart,
  type Translated,
  unsupported
} from "../translateCommon.ts"
import type {
  DocumentBlock,
  ImageBlock,
  RequestBlock,
  RequestMessage,
  TextBlock,
  ThinkingBlock,
  ToolResultBlock
} from "./wire.ts"

const imageBlock = (url: string, param: string): Translated<ImageBlock> => {
  const data = parseDataUrl(url)
  if (data !== undefined) {
    return Result.succeed({ type: "image", source: { type: "base64", media_type: data.mediaType, data: data.data } })
  }
  if (isHttpsUrl(url)) return Result.succeed({ type: "image", source: { type: "url", url } })
  return unsupported(param, `${param} must be a data: URL or an https: URL`)
}

/** A PDF sent inline (https://platform.claude.com/docs/en/build-with-claude/pdf-support); OpenAI file ids mean nothing to Anthropic. */
const documentBlock = (
  file: Extract<ContentPart, { type: "file" }>["file"],
  param: string
): Translated<DocumentBlock> => {
  const data = file.file_data === undefined ? undefined : parseDataUrl(file.file_data)
  if (data?.mediaType !== "application/pdf") {
    return unsupported(
      param,
      `${param}: Anthropic models take files as PDF file_data (a data:application/pdf;base64 URL), not file ids or other types`
    )
  }
  const title = file.filename === undefined ? {} : { title: file.filename }
  return Result.succeed({
    type: "document",
    source: { type: "base64", media_type: data.mediaType, data: data.data },
    ...title
  })
}

type ContentBlock = TextBlock | ImageBlock | DocumentBlock

/** A one-hour breakpoint is sent as the default five minutes: the catalog prices cache writes at that rate. */
const textBlock = (part: Extract<ContentPart, { type: "text" }>): TextBlock => ({
  type: "text",
  text: part.text,
  ...(part.cache_control !== undefined && { cache_control: { type: "ephemeral" as const } })
})

const partBlock = (part: ContentPart, param: string): Translated<ContentBlock> => {
  switch (part.type) {
    case "text":
      return Result.succeed(textBlock(part))
    case "image_url":
      return imageBlock(part.image_url.url, `${param}.image_url.url`)
    case "file":
      return documentBlock(part.file, param)
    default:
      return unsupported(param, `${param}: ${part.type} content is not supported for Anthropic models`)
  }
}

const contentBlocks = (message: ChatMessage, param: string): Translated<Array<ContentBlock>> =>
  contentParts<ContentBlock>(message.content, param, (text) => ({ type: "text", text }), partBlock)

const thinkingBlock = (block: ChatThinkingBlock, param: string): Translated<ThinkingBlock> => {
  if (block.type === "redacted_thinking" && block.data !== undefined) {
    return Result.succeed({ type: "redacted_thinking", data: block.data })
  }
  if (block.type === "thinking" && block.signature !== undefined) {
    return Result.succeed({ type: "thinking", thinking: block.thinking ?? "", signature: block.signature })
  }
  return unsupported(
    param,
    `${param}: send thinking blocks back as the gateway returned them, with their signature or data`
  )
}

const assistantBlocks = (message: ChatMessage, param: string): Translated<Array<RequestBlock>> =>
  Result.gen(function* () {
    const blocks: Array<RequestBlock> = []
    for (const [index, block] of (message.thinking_blocks ?? []).entries()) {
      blocks.push(yield* thinkingBlock(block, `${param}.thinking_blocks[${index}]`))
    }
    blocks.push(...(yield* contentBlocks(message, param)))
    for (const [index, call] of (message.tool_calls ?? []).entries()) {
      const input = yield* parseArguments(call.function.arguments, `${param}.tool_calls[${index}].function.arguments`)
      blocks.push({ type: "tool_use", id: call.id, name: call.function.name, input })
    }
    return blocks
  })

const toolResultBlock = (message: ChatMessage, param: string): Translated<RequestBlock> =>
  Result.gen(function* () {
    const blocks = yield* contentBlocks(message, param)
    if (blocks.some((block) => block.type === "document")) {
      return yield* unsupported(`${param}.content`, `${param}.content: a tool result may hold text and images only`)
    }
    const content: ToolResultBlock["content"] =
      typeof message.content === "string" ? message.content : (blocks as Array<TextBlock | ImageBlock>)
    return { type: "tool_result", tool_use_id: message.tool_call_id ?? "", content }
  })

export interface Conversation {
  /** The system messages' text, joined; as text blocks when one of them carries a caching breakpoint. */
  readonly system: string | ReadonlyArray<TextBlock>
  /** One entry per OpenAI message, before merging: `finishTurns` makes the wire turns of them. */
  readonly turns: ReadonlyArray<RequestMessage>
}

/** One OpenAI message other than system and developer, as an Anthropic turn. */
const turnOf = (message: ChatMessage, param: string): Translated<RequestMessage> => {
  switch (message.role) {
    case "assistant":
      return Result.map(assistantBlocks(message, param), (content) => ({ role: "assistant", content }))
    case "tool":
      return Result.map(toolResultBlock(message, param), (block) => ({ role: "user", content: [block] }))
    default:
      return Result.map(contentBlocks(message, param), (content) => ({ role: "user", content }))
  }
}

/**
 * The system prompt as text blocks when one of its parts is a caching breakpoint (Claude caches up to it), else
 * undefined: the prompt is then one string, as most requests send it. Only text reaches here (`systemApart`
 * refused anything else first).
 */
const cachedSystem = (messages: ReadonlyArray<ChatMessage>): ReadonlyArray<TextBlock> | undefined => {
  const parts = messages
    .filter((message) => message.role === "system" || message.role === "developer")
    .flatMap((message): ReadonlyArray<ContentPart> =>
      typeof message.content === "string" ? [{ type: "text", text: message.content }] : (message.content ?? [])
    )
  if (!parts.some((part) => part.type === "text" && part.cache_control !== undefined)) return undefined
  return parts.flatMap((part) => (part.type === "text" && part.text !== "" ? [textBlock(part)] : []))
}

export const conversation = (messages: ReadonlyArray<ChatMessage>): Translated<Conversation> =>
  Result.map(systemApart(messages, contentBlocks, turnOf), ({ system, turns }) => ({
    system: cachedSystem(messages) ?? system.join("\n\n"),
    turns
  }))

const isThinkingBlock = (block: RequestBlock): boolean =>
  block.type === "thinking" || block.type === "redacted_thinking"

/** Anthropic rejects empty text blocks; tool results keep their (possibly empty) content. */
const kept = (withThinking: boolean) => (block: RequestBlock) =>
  block.type === "text" ? block.text !== "" : withThinking || !isThinkingBlock(block)

const placeholder: RequestMessage = { role: "user", content: [{ type: "text", text: placeholderUserText }] }

/**
 * The wire turns: empty blocks and turns dropped, same-role turns merged, opening and closing with a
 * user turn. Without thinking, echoed thinking blocks are left out: Claude refuses them in a final
 * assistant turn when thinking is off, and ignores them elsewhere.
 */
export const finishTurns = (turns: ReadonlyArray<RequestMessage>, withThinking: boolean): Array<RequestMessage> => {
  const nonEmpty: Array<RequestMessage> = turns
    .map((turn) => ({ role: turn.role, content: turn.content.filter(kept(withThinking)) }))
    .filter((turn) => turn.content.length > 0)
  const merged = mergeConsecutive(nonEmpty, (first, second) => ({
    role: first.role,
    content: [...first.content, ...second.content]
  }))
  if (merged[0]?.role !== "user") merged.unshift(placeholder)
  if (merged.at(-1)?.role === "assistant") merged.push(placeholder)
  return merged
}

/**
 * The assistant turn whose tool calls the request answers (the current tool-use cycle), when it does
 * not open with a thinking block: with thinking on, Claude refuses such a turn ("a final assistant
 * message must start with a thinking block", https://platform.claude.com/docs/en/build-with-claude/thinking).
 * Returns its index among the wire turns.
 */
export const toolTurnWithoutThinking = (turns: ReadonlyArray<RequestMessage>): number | undefined => {
  const last = turns.at(-1)
  const assistant = turns.at(-2)
  if (last?.role !== "user" || assistant?.role !== "assistant") return undefined
  if (!last.content.some((block) => block.type === "tool_result")) return undefined
  if (!assistant.content.some((block) => block.type === "tool_use")) return undefined
  const first = assistant.content[0]
  return first !== undefined && isThinkingBlock(first) ? undefined : turns.length - 2
}
