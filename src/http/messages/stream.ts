/**
 * The canonical chunk stream → Anthropic's event stream
 * (https://docs.anthropic.com/en/docs/build-with-claude/streaming): `message_start`, then one
 * `content_block_start` / `content_block_delta`… / `content_block_stop` run per block (thinking, text,
 * tool use), `message_delta` with the stop reason and the final usage, `message_stop`. Every event has its
 * `event:` line, which the Anthropic SDK requires. Silences are filled with `ping` events, and a failure
 * after the first byte is an `error` event that ends the stream.
 *
 * `message_start` waits for the first content or usage: Claude reports the input tokens right after the
 * role, so the client sees them there as from Anthropic; other vendors report usage at the end, and
 * `message_start` then carries zeros, corrected by `message_delta` (whose usage the SDK takes over
 * `message_start`'s).
 */
import type * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { ChatCompletionChunk, ChunkChoice, Usage } from "../../domain/Chat.ts"
import type { ApiError } from "../../domain/errors.ts"
import type { ContentBlock, MessageStreamEvent, StopReason } from "../../domain/Messages.ts"
import { frameChunks, isUsageChunk, withHeartbeat } from "../Sse.ts"
import { toAnthropicWire } from "./errors.ts"
import { messageIdOf, messageUsageOf, stopReasonOf } from "./fromChat.ts"

const encoder = new TextEncoder()

export const eventFrame = (event: MessageStreamEvent): string =>
  `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`

export const ping = encoder.encode(eventFrame({ type: "ping" }))

type BlockKind = "text" | "thinking" | "tool_use"

/** Turns chunks into events, one chunk at a time; `end` closes the message. */
export class MessageEvents {
  private started = false
  private id = ""
  private model = ""
  private nextIndex = 0
  private open: { readonly kind: BlockKind; readonly index: number } | undefined
  /** Canonical tool-call index → Anthropic block index. */
  private readonly toolBlocks = new Map<number, number>()
  private stopReason: StopReason | undefined
  private usage: Usage | undefined
  private readonly requestId: string

  constructor(requestId: string) {
    this.requestId = requestId
  }

  push(chunk: ChatCompletionChunk): Array<MessageStreamEvent> {
    const events: Array<MessageStreamEvent> = []
    if (this.id === "") {
      this.id = messageIdOf(chunk.id, this.requestId)
      this.model = chunk.model
    }
    if (isUsageChunk(chunk)) {
      this.usage = chunk.usage ?? this.usage
      this.start(events)
      return events
    }
    const choice = chunk.choices.find((candidate) => candidate.index === 0)
    if (choice !== undefined) this.choice(choice, events)
    return events
  }

  end(): Array<MessageStreamEvent> {
    const events: Array<MessageStreamEvent> = []
    this.start(events)
    this.close(events)
    events.push(
      {
        type: "message_delta",
        delta: { stop_reason: this.stopReason ?? "end_turn", stop_sequence: null },
        usage: messageUsageOf(this.usage)
      },
      { type: "message_stop" }
    )
    return events
  }

  private choice(choice: ChunkChoice, events: Array<MessageStreamEvent>): void {
    const delta = choice.delta
    const reasoning = delta.reasoning_content ?? ""
    if (reasoning !== "") {
      this.ensure("thinking", { type: "thinking", thinking: "", signature: "" }, events)
      this.delta(events, { type: "thinking_delta", thinking: reasoning })
    }
    for (const block of delta.thinking_blocks ?? []) {
      if (block.type === "redacted_thinking") {
        this.ensure("thinking", { type: "redacted_thinking", data: block.data ?? "" }, events, true)
        this.close(events)
        continue
      }
      // The whole block follows its streamed text; a block whose text was not streamed opens here.
      if (this.open?.kind !== "thinking") {
        this.ensure("thinking", { type: "thinking", thinking: "", signature: "" }, events)
        if ((block.thinking ?? "") !== "")
          this.delta(events, { type: "thinking_delta", thinking: block.thinking ?? "" })
      }
      if (block.signature !== undefined) this.delta(events, { type: "signature_delta", signature: block.signature })
      this.close(events)
    }
    const text = (delta.content ?? "") + (delta.refusal ?? "")
    if (text !== "") {
      this.ensure("text", { type: "text", text: "" }, events)
      this.delta(events, { type: "text_delta", text })
    }
    for (const call of delta.tool_calls ?? []) {
      if (call.id !== undefined || !this.toolBlocks.has(call.index)) {
        const name = call.function?.name ?? ""
        this.ensure("tool_use", { type: "tool_use", id: call.id ?? "", name, input: {} }, events, true)
        this.toolBlocks.set(call.index, this.open!.index)
      }
      const piece = call.function?.arguments ?? ""
      if (piece !== "") {
        const index = this.toolBlocks.get(call.index)!
        events.push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: piece } })
      }
    }
    if (choice.finish_reason !== null) {
      this.start(events)
      this.close(events)
      this.stopReason = stopReasonOf(choice.finish_reason)
    }
  }

  private start(events: Array<MessageStreamEvent>): void {
    if (this.started) return
    this.started = true
    const usage = messageUsageOf(this.usage)
    events.push(
      {
        type: "message_start",
        message: {
          id: this.id,
          type: "message",
          role: "assistant",
          model: this.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage
        }
      },
      { type: "ping" }
    )
  }

  /** Opens a block of `kind` unless one is open (`fresh`: always a new block). */
  private ensure(kind: BlockKind, block: ContentBlock, events: Array<MessageStreamEvent>, fresh = false): void {
    this.start(events)
    if (!fresh && this.open?.kind === kind) return
    this.close(events)
    const index = this.nextIndex++
    this.open = { kind, index }
    events.push({ type: "content_block_start", index, content_block: block })
  }

  private delta(
    events: Array<MessageStreamEvent>,
    delta: Extract<MessageStreamEvent, { type: "content_block_delta" }>["delta"]
  ): void {
    events.push({ type: "content_block_delta", index: this.open!.index, delta })
  }

  private close(events: Array<MessageStreamEvent>): void {
    if (this.open === undefined) return
    events.push({ type: "content_block_stop", index: this.open.index })
    this.open = undefined
  }
}

const framed = (events: ReadonlyArray<MessageStreamEvent>): string => events.map(eventFrame).join("")

/**
 * Frames a canonical chunk stream as Anthropic's events: a failure after the first byte becomes an `error`
 * event, and silences `ping` events.
 */
export const encode = <E>(
  chunks: Stream.Stream<ChatCompletionChunk, E>,
  options: {
    readonly requestId: string
    readonly heartbeatMs: number
    readonly onError: (cause: Cause.Cause<E>) => Effect.Effect<ApiError>
  }
): Stream.Stream<Uint8Array> => {
  const body = Stream.suspend(() => {
    const writer = new MessageEvents(options.requestId)
    return frameChunks(chunks, {
      frames: (batch) => {
        const frames: Array<Uint8Array> = []
        for (const chunk of batch) {
          const text = framed(writer.push(chunk))
          if (text !== "") frames.push(encoder.encode(text))
        }
        return frames
      },
      last: () => [encoder.encode(framed(writer.end()))],
      failed: (error) => [encoder.encode(eventFrame(toAnthropicWire(error)))],
      onError: options.onError
    })
  })
  return withHeartbeat(body, options.heartbeatMs, ping)
}
