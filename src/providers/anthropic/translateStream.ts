/**
 * The Anthropic stream → OpenAI chunks, as a reducer over its events. Pure. Thinking streams as
 * `reasoning_content` deltas, then the whole block (signature included) in a `thinking_blocks` delta at
 * its end; the forced JSON tool's input streams as content. A tool whose input streamed no piece
 * (a tool without arguments) gets `arguments: "{}"` at its end, as the plain answer has.
 */
import * as Result from "effect/Result"
import type { ChatCompletionChunk, ChunkChoice, Usage } from "../../domain/Chat.ts"
import { type ProtocolReason, TransportReason } from "../../domain/ProviderError.ts"
import { decoder, type Step, type StreamTranslator } from "../StreamTranslator.ts"
import { chunkOf, type ResponseContext } from "../translateCommon.ts"
import { sameUsage, unusableUsage } from "../usage.ts"
import { jsonToolName } from "./structured.ts"
import { type AnswerOptions, finishReason, usageOf } from "./answerParts.ts"
import { meaningfulEvents, StreamEvent, type Usage as AnthropicUsage } from "./wire.ts"

interface OpenThinking {
  readonly index: number
  readonly text: string
  readonly signature: string | undefined
}

export interface StreamState {
  readonly context: ResponseContext
  readonly options: AnswerOptions
  /** OpenAI numbers tool calls among tool calls; Anthropic numbers blocks among all blocks. */
  readonly toolIndexByBlock: ReadonlyMap<number, number>
  /** Tool blocks (the JSON tool's included) that have streamed no piece of input yet. */
  readonly awaitingInput: ReadonlySet<number>
  /** The block carrying the JSON answer, on the forced-tool method. */
  readonly jsonBlock: number | undefined
  /** The thinking block being streamed (blocks never interleave within a stream). */
  readonly thinking: OpenThinking | undefined
  /** Cumulative totals: each report overwrites, never adds. */
  readonly usage: AnthropicUsage
  /** The latest usage sent, and whether its chunk was the last one out. */
  readonly reported: Usage | undefined
  readonly usageLast: boolean
  readonly finished: boolean
  readonly stopped: boolean
}

export const initialStreamState = (
  context: ResponseContext,
  options: AnswerOptions = { jsonTool: false }
): StreamState => ({
  context,
  options,
  toolIndexByBlock: new Map(),
  awaitingInput: new Set(),
  jsonBlock: undefined,
  thinking: undefined,
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

const without = (set: ReadonlySet<number>, index: number): ReadonlySet<number> => {
  const next = new Set(set)
  next.delete(index)
  return next
}

/** A new tool block: the JSON tool is the answer; any other is a tool call, numbered among tool calls. */
const toolStart = (state: StreamState, index: number, id: string, name: string, delta: Delta): Stepped => {
  const awaitingInput = new Set(state.awaitingInput).add(index)
  if (state.options.jsonTool && name === jsonToolName) return content({ ...state, awaitingInput, jsonBlock: index }, [])
  const toolIndex = state.toolIndexByBlock.size
  const toolIndexByBlock = new Map(state.toolIndexByBlock).set(index, toolIndex)
  const start = { index: toolIndex, id, type: "function" as const, function: { name, arguments: "" } }
  return content({ ...state, toolIndexByBlock, awaitingInput }, [delta({ tool_calls: [start] })])
}

/** A piece of a tool's input: content for the JSON tool, arguments for a tool call. */
const toolInput = (state: StreamState, index: number, piece: string, delta: Delta): Stepped => {
  const toolIndex = state.toolIndexByBlock.get(index)
  if (piece === "" || (toolIndex === undefined && index !== state.jsonBlock)) return content(state, [])
  const next = state.awaitingInput.has(index) ? { ...state, awaitingInput: without(state.awaitingInput, index) } : state
  const chunk =
    toolIndex === undefined
      ? delta({ content: piece })
      : delta({ tool_calls: [{ index: toolIndex, function: { arguments: piece } }] })
  return content(next, [chunk])
}

const blockStop = (state: StreamState, index: number, delta: Delta): Stepped => {
  const thinking = state.thinking
  if (thinking?.index === index) {
    const signature = thinking.signature === undefined ? {} : { signature: thinking.signature }
    const block = { type: "thinking" as const, thinking: thinking.text, ...signature }
    return content({ ...state, thinking: undefined }, [delta({ thinking_blocks: [block] })])
  }
  // Anthropic streams no piece for a tool called without arguments.
  return state.awaitingInput.has(index) ? toolInput(state, index, "{}", delta) : content(state, [])
}

type Delta = (value: ChunkChoice["delta"]) => ChatCompletionChunk

export const streamStep = (state: StreamState, event: StreamEvent): Stepped => {
  const delta: Delta = (value) => chunkOf(state.context, [{ index: 0, delta: value, finish_reason: null }])
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
      if (block.type === "thinking") {
        const text = "thinking" in block ? block.thinking : ""
        const signature = "signature" in block ? block.signature : undefined
        const next = { ...state, thinking: { index: event.index, text, signature } }
        return content(next, text === "" ? [] : [delta({ reasoning_content: text })])
      }
      if (block.type === "redacted_thinking" && "data" in block) {
        return content(state, [delta({ thinking_blocks: [{ type: "redacted_thinking", data: block.data }] })])
      }
      if (block.type === "tool_use" && "name" in block)
        return toolStart(state, event.index, block.id, block.name, delta)
      return content(state, [])
    }
    case "content_block_delta": {
      const change = event.delta
      if (change.type === "text_delta" && "text" in change) return content(state, [delta({ content: change.text })])
      if (change.type === "input_json_delta" && "partial_json" in change) {
        return toolInput(state, event.index, change.partial_json, delta)
      }
      const thinking = state.thinking
      if (thinking === undefined || thinking.index !== event.index) return content(state, [])
      if (change.type === "thinking_delta" && "thinking" in change) {
        const next = { ...state, thinking: { ...thinking, text: thinking.text + change.thinking } }
        return content(next, [delta({ reasoning_content: change.thinking })])
      }
      if (change.type === "signature_delta" && "signature" in change) {
        return content({ ...state, thinking: { ...thinking, signature: change.signature } }, [])
      }
      return content(state, [])
    }
    case "content_block_stop":
      return blockStop(state, event.index, delta)
    case "message_delta": {
      const jsonAnswer = state.jsonBlock !== undefined && state.toolIndexByBlock.size === 0
      const reason = finishReason(event.delta.stop_reason, jsonAnswer)
      const finish = chunkOf(state.context, [{ index: 0, delta: {}, finish_reason: reason }])
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

/** Events decoded as they come; `ping` and unknown event types are skipped. */
export const streamTranslator = (
  context: ResponseContext,
  options: AnswerOptions = { jsonTool: false }
): StreamTranslator<unknown, StreamState> => ({
  initial: initialStreamState(context, options),
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
