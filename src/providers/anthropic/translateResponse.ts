/**
 * Anthropic Messages responses → OpenAI shapes: the whole message, and the stream as a
 * reducer over its events. Pure.
 */
import { Result } from "effect"
import type { ChatCompletion, ChatCompletionChunk, FinishReason, ToolCall, Usage } from "../../domain/Chat.ts"
import { type ProtocolReason, TransportReason } from "../../domain/ProviderError.ts"
import { decoder, type Step, type StreamTranslator } from "../StreamTranslator.ts"
import { chunkOf, type ResponseContext } from "../translateCommon.ts"
import { checkedUsage, completionTextOf, countProblem, sameUsage, unusableUsage } from "../usage.ts"
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
 * `input_tokens` excludes cache writes and reads, but all three are billed input ("total
 * input tokens = cache_read_input_tokens + cache_creation_input_tokens + input_tokens",
 * https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching), so the prompt is
 * their sum and the details say which parts were read from and written to the cache, each
 * priced apart. `output_tokens` already counts extended thinking, billed as output
 * (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking); the classic
 * API does not report it apart, so there is no reasoning detail.
 */
export const usageOf = (usage: AnthropicUsage): Result.Result<Usage, string> => {
  const problem =
    countProblem("input_tokens", usage.input_tokens) ??
    countProblem("output_tokens", usage.output_tokens) ??
    countProblem("cache_creation_input_tokens", usage.cache_creation_input_tokens) ??
    countProblem("cache_read_input_tokens", usage.cache_read_input_tokens)
  if (problem !== undefined) return Result.fail(problem)
  const cacheRead = usage.cache_read_input_tokens ?? 0
  const cacheWrite = usage.cache_creation_input_tokens ?? 0
  const prompt = (usage.input_tokens ?? 0) + cacheWrite + cacheRead
  const completion = usage.output_tokens ?? 0
  return checkedUsage({
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_write_tokens: cacheWrite }
  })
}

export const toChatCompletion = (
  message: Message,
  context: Omit<ResponseContext, "id">
): Result.Result<ChatCompletion, ProtocolReason> => {
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
  const completion: ChatCompletion = {
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
    ]
  }
  return Result.match(usageOf(message.usage), {
    onSuccess: (usage) => Result.succeed({ ...completion, usage }),
    onFailure: (problem) => Result.fail(unusableUsage("Anthropic", problem, completionTextOf(completion.choices)))
  })
}

export interface StreamState {
  readonly context: ResponseContext
  /** OpenAI numbers tool calls among tool calls; Anthropic numbers blocks among all blocks. */
  readonly toolIndexByBlock: ReadonlyMap<number, number>
  /** Cumulative totals: each report overwrites, never adds. */
  readonly usage: AnthropicUsage
  /** The latest usage sent, and whether its chunk was the last one out. */
  readonly reported: Usage | undefined
  readonly usageLast: boolean
  readonly finished: boolean
  readonly stopped: boolean
}

export const initialStreamState = (context: ResponseContext): StreamState => ({
  context,
  toolIndexByBlock: new Map(),
  usage: {},
  reported: undefined,
  usageLast: false,
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

type Stepped = Result.Result<Step<StreamState>, ProtocolReason>

/** Content chunks: after them, the usage chunk is no longer the last one out. */
const content = (state: StreamState, chunks: ReadonlyArray<ChatCompletionChunk>): Stepped =>
  Result.succeed([chunks.length > 0 && state.usageLast ? { ...state, usageLast: false } : state, chunks])

/**
 * Folds a usage report in and sends `before`, then a usage chunk when the usage changed:
 * `message_start` brings the input and cache counts, `message_delta` the cumulative output.
 */
const withUsage = (
  state: StreamState,
  update: AnthropicUsage | null | undefined,
  before: ReadonlyArray<ChatCompletionChunk>,
  changes: Partial<StreamState>
): Stepped => {
  const usage = overwrite(state.usage, update)
  const checked = usageOf(usage)
  if (Result.isFailure(checked)) return Result.fail(unusableUsage("Anthropic", checked.failure, ""))
  const next = { ...state, ...changes, usage }
  if (sameUsage(state.reported, checked.success)) return Result.succeed([{ ...next, usageLast: false }, before])
  const usageChunk = chunkOf(next.context, [], checked.success)
  return Result.succeed([{ ...next, reported: checked.success, usageLast: true }, [...before, usageChunk]])
}

export const streamStep = (state: StreamState, event: StreamEvent): Stepped => {
  const delta = (value: ChatCompletionChunk["choices"][number]["delta"]) =>
    chunkOf(state.context, [{ index: 0, delta: value, finish_reason: null }])
  switch (event.type) {
    case "message_start": {
      const context = { ...state.context, id: event.message.id }
      const role = chunkOf(context, [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }])
      return withUsage(state, event.message.usage, [role], { context })
    }
    case "content_block_start": {
      const block = event.content_block
      if (block.type === "text" && "text" in block)
        return content(state, block.text === "" ? [] : [delta({ content: block.text })])
      if (block.type !== "tool_use" || !("name" in block)) return content(state, [])
      const toolIndex = state.toolIndexByBlock.size
      const toolIndexByBlock = new Map(state.toolIndexByBlock).set(event.index, toolIndex)
      const start = {
        index: toolIndex,
        id: block.id,
        type: "function" as const,
        function: { name: block.name, arguments: "" }
      }
      return content({ ...state, toolIndexByBlock }, [delta({ tool_calls: [start] })])
    }
    case "content_block_delta": {
      const change = event.delta
      if (change.type === "text_delta" && "text" in change) return content(state, [delta({ content: change.text })])
      const toolIndex = state.toolIndexByBlock.get(event.index)
      if (change.type !== "input_json_delta" || !("partial_json" in change) || toolIndex === undefined) {
        return content(state, [])
      }
      if (change.partial_json === "") return content(state, [])
      return content(state, [
        delta({ tool_calls: [{ index: toolIndex, function: { arguments: change.partial_json } }] })
      ])
    }
    case "message_delta": {
      const finish = chunkOf(state.context, [
        { index: 0, delta: {}, finish_reason: finishReason(event.delta.stop_reason) }
      ])
      return withUsage(state, event.usage, [finish], { finished: true })
    }
    case "message_stop": {
      const finish = state.finished
        ? []
        : [chunkOf(state.context, [{ index: 0, delta: {}, finish_reason: "stop" as const }])]
      // The usage goes out again when a chunk followed it, so that it ends the stream.
      const reported = state.reported
      const resend = reported !== undefined && (finish.length > 0 || !state.usageLast)
      const chunks = resend ? [...finish, chunkOf(state.context, [], reported)] : finish
      return Result.succeed([{ ...state, finished: true, stopped: true, usageLast: resend || state.usageLast }, chunks])
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
    return Result.flatMap(decodeEvent(raw), (event) => streamStep(state, event))
  },
  // A stream that closes before `message_stop` was cut: its answer is incomplete.
  end: (state) =>
    state.stopped
      ? Result.succeed([])
      : Result.fail(new TransportReason({ message: "The Anthropic stream ended before message_stop" }))
})
