/**
 * The canonical chat answer → Anthropic's message. Pure. Reasoning comes back as `thinking` blocks (with the
 * signature Claude gave, or an empty one for reasoning another vendor returned), then text, then tool calls
 * as `tool_use` blocks, in Anthropic's order.
 */
import type { ChatCompletion, FinishReason, Usage } from "../../domain/Chat.ts"
import type { ContentBlock, Message, MessageUsage, StopReason } from "../../domain/Messages.ts"

export const stopReasonOf = (finish: FinishReason | null | undefined): StopReason => {
  switch (finish) {
    case "length":
      return "max_tokens"
    case "tool_calls":
    case "function_call":
      return "tool_use"
    case "content_filter":
      return "refusal"
    default:
      return "end_turn"
  }
}

/**
 * The canonical prompt counts every billed input token (`Chat.ts`); Anthropic's `input_tokens` leaves out
 * the cache reads and writes, which it reports apart.
 */
export const messageUsageOf = (usage: Usage | null | undefined): MessageUsage => {
  const cacheRead = usage?.prompt_tokens_details?.cached_tokens ?? 0
  const cacheWrite = usage?.prompt_tokens_details?.cache_write_tokens ?? 0
  return {
    input_tokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cacheRead - cacheWrite),
    output_tokens: usage?.completion_tokens ?? 0,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead
  }
}

/** Anthropic's ids begin with `msg_`: Claude's own is kept, another vendor's answer is named after the request. */
export const messageIdOf = (upstreamId: string, requestId: string): string =>
  upstreamId.startsWith("msg_") ? upstreamId : `msg_${requestId.replace(/^req_/, "")}`

/** A tool call's arguments as Anthropic's `input` object; arguments that are not a JSON object become `{}`. */
export const toolInputOf = (args: string): Record<string, unknown> => {
  try {
    const parsed: unknown = JSON.parse(args === "" ? "{}" : args)
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {}
  } catch {
    return {}
  }
}

export const toMessage = (completion: ChatCompletion, requestId: string): Message => {
  const choice = completion.choices[0]
  const message = choice?.message
  const content: Array<ContentBlock> = []
  for (const block of message?.thinking_blocks ?? []) {
    content.push(
      block.type === "redacted_thinking"
        ? { type: "redacted_thinking", data: block.data ?? "" }
        : { type: "thinking", thinking: block.thinking ?? "", signature: block.signature ?? "" }
    )
  }
  const reasoning = message?.reasoning_content ?? ""
  if (content.length === 0 && reasoning !== "") content.push({ type: "thinking", thinking: reasoning, signature: "" })
  const text = (message?.content ?? "") + (message?.refusal ?? "")
  if (text !== "") content.push({ type: "text", text })
  for (const call of message?.tool_calls ?? []) {
    content.push({
      type: "tool_use",
      id: call.id,
      name: call.function.name,
      input: toolInputOf(call.function.arguments)
    })
  }
  return {
    id: messageIdOf(completion.id, requestId),
    type: "message",
    role: "assistant",
    model: completion.model,
    content,
    stop_reason: stopReasonOf(choice?.finish_reason),
    stop_sequence: null,
    usage: messageUsageOf(completion.usage)
  }
}
