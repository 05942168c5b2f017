/**
 * Anthropic Messages responses → OpenAI shapes: the whole message, and the stream as a
 * reducer over its events. Pure.
 */
import { Result } from "effect"
import type { ChatCompletion, ChatCompletionChunk, FinishReason, ToolCall, Usage } from "../../domain/Chat.ts"
import { TransportReason } from "../../domain/ProviderError.ts"
import { decoder, type Step, type StreamTranslator } from "../StreamTranslator.ts"
import { chunkOf, type ResponseContext } from "../translateCommon.ts"
import { type Message, meaningfulEvents, StreamEvent, type Usage as AnthropicUsage } from "./wire.ts"

export const finishReason = (stopReason: string | null | undefined): FinishReason => {
  switch (stopReason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length"
    case "tool_use":
      return "tool_calls"
    case "refusal":
      return "content_filter"
    default:
      // end_turn, stop_sequence, pause_turn, and anything newer
      return "stop"
  }
}

/**
 * `input_tokens` excludes cache writes and reads, but all three are billed input, so the
 * prompt is their sum; `cached_tokens` is the part read from the cache.
 */
export const usageOf = (usage: AnthropicUsage): Usage => {
  const cacheRead = usage.cache_read_input_tokens ?? 0
  const prompt = (usage.input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0) + cacheRead
  const completion = usage.output_tokens ?? 0
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead }
  }
}

export const toChatCompletion = (message: Message, context: Omit<ResponseContext, "id">): ChatCompletion => {
  let text: string | undefined
  const toolCalls: Array<ToolCall> = []
  for (const block of message.content) {
    if (block.type === "text" && "text" in block) text = (text ?? "") + block.text
    else if (block.type === "tool_use" && "input" in block) {
      toolCalls.push({
        id: block.id,
        type: "function",
        function: { name: block.name, arguments: JSON.stringify(block.input) }
      })
    }
  }
  return {
    id: message.id,
    object: "chat.completion",
    created: context.created,
    model: context.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text ?? (toolCalls.length > 0 ? null : ""),
          ...(toolCalls.length > 0 && { tool_calls: toolCalls })
        },
        finish_reason: finishReason(message.stop_reason),
        logprobs: null
      }
    ],
    usage: usageOf(message.usage)
  }
}

export interface StreamState {
  readonly context: ResponseContext
  /** OpenAI numbers tool calls among tool calls; Anthropic numbers blocks among all blocks. */
  readonly toolIndexByBlock: ReadonlyMap<number, number>
  /** Cumulative totals: each report overwrites, never adds. */
  readonly usage: AnthropicUsage
  readonly finished: boolean
  readonly stopped: boolean
}

export const initialStreamState = (context: ResponseContext): StreamState => ({
  context,
  toolIndexByBlock: new Map(),
  usage: {},
  finished: false,
  stopped: false
})

const overwrite = (usage: AnthropicUsage, update: AnthropicUsage | null | undefined): AnthropicUsage => {
  if (update === null || update === undefined) return usage
  const next = { ...usage }
  for (const [key, value] of Object.entries(update) as Array<[keyof AnthropicUsage, number | null | undefined]>) {
    if (typeof value === "number") next[key] = value
  }
  return next
}

export const streamStep = (state: StreamState, event: StreamEvent): Step<StreamState> => {
  const delta = (value: ChatCompletionChunk["choices"][number]["delta"]) =>
    chunkOf(state.context, [{ index: 0, delta: value, finish_reason: null }])
  switch (event.type) {
    case "message_start": {
      const context = { ...state.context, id: event.message.id }
      const next = { ...state, context, usage: overwrite(state.usage, event.message.usage) }
      return [next, [chunkOf(context, [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }])]]
    }
    case "content_block_start": {
      const block = event.content_block
      if (block.type === "text" && "text" in block)
        return [state, block.text === "" ? [] : [delta({ content: block.text })]]
      if (block.type !== "tool_use" || !("name" in block)) return [state, []]
      const toolIndex = state.toolIndexByBlock.size
      const toolIndexByBlock = new Map(state.toolIndexByBlock).set(event.index, toolIndex)
      const start = {
        index: toolIndex,
        id: block.id,
        type: "function" as const,
        function: { name: block.name, arguments: "" }
      }
      return [{ ...state, toolIndexByBlock }, [delta({ tool_calls: [start] })]]
    }
    case "content_block_delta": {
      const change = event.delta
      if (change.type === "text_delta" && "text" in change) return [state, [delta({ content: change.text })]]
      const toolIndex = state.toolIndexByBlock.get(event.index)
      if (change.type !== "input_json_delta" || !("partial_json" in change) || toolIndex === undefined) {
        return [state, []]
      }
      if (change.partial_json === "") return [state, []]
      return [state, [delta({ tool_calls: [{ index: toolIndex, function: { arguments: change.partial_json } }] })]]
    }
    case "message_delta": {
      const next = { ...state, usage: overwrite(state.usage, event.usage), finished: true }
      const finish = chunkOf(state.context, [
        { index: 0, delta: {}, finish_reason: finishReason(event.delta.stop_reason) }
      ])
      return [next, [finish]]
    }
    case "message_stop": {
      const finish = state.finished
        ? []
        : [chunkOf(state.context, [{ index: 0, delta: {}, finish_reason: "stop" as const }])]
      return [
        { ...state, finished: true, stopped: true },
        [...finish, chunkOf(state.context, [], usageOf(state.usage))]
      ]
    }
  }
}

const decodeEvent = decoder(StreamEvent, "Anthropic stream event")

/** Events decoded as they come; `ping`, `content_block_stop` and unknown event types are skipped. */
export const streamTranslator = (context: ResponseContext): StreamTranslator<unknown, StreamState> => ({
  initial: initialStreamState(context),
  step: (state, raw) => {
    const type = typeof raw === "object" && raw !== null ? (raw as { type?: unknown }).type : undefined
    if (typeof type !== "string" || !meaningfulEvents.has(type)) return Result.succeed([state, []])
    return Result.map(decodeEvent(raw), (event) => streamStep(state, event))
  },
  // A stream that closes before `message_stop` was cut: its answer is incomplete.
  end: (state) =>
    state.stopped
      ? Result.succeed([])
      : Result.fail(new TransportReason({ message: "The Anthropic stream ended before message_stop" }))
})
