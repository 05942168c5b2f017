/**
 * The Anthropic Messages API as the gateway speaks it (`anthropic-version: 2023-06-01`):
 * request types we build, and schemas for what comes back, which is untrusted input.
 */
import * as Schema from "effect/Schema"

export interface TextBlock {
  readonly type: "text"
  readonly text: string
  /** A prompt-caching breakpoint, at the default five minutes (the catalog's cache-write price). */
  readonly cache_control?: { readonly type: "ephemeral" }
}
export interface ImageBlock {
  readonly type: "image"
  readonly source:
    | { readonly type: "base64"; readonly media_type: string; readonly data: string }
    | { readonly type: "url"; readonly url: string }
}
/** A PDF, as a `document` block (https://platform.claude.com/docs/en/build-with-claude/pdf-support). */
export interface DocumentBlock {
  readonly type: "document"
  readonly source: { readonly type: "base64"; readonly media_type: "application/pdf"; readonly data: string }
  readonly title?: string
}
/**
 * An earlier answer's reasoning, sent back unchanged with its signature: Claude needs the blocks of the
 * assistant turn that made the tool calls it is continuing from
 * (https://platform.claude.com/docs/en/build-with-claude/thinking, "Thinking and tool use").
 */
export type ThinkingBlock =
  | { readonly type: "thinking"; readonly thinking: string; readonly signature: string }
  | { readonly type: "redacted_thinking"; readonly data: string }
export interface ToolUseBlock {
  readonly type: "tool_use"
  readonly id: string
  readonly name: string
  readonly input: Record<string, unknown>
}
export interface ToolResultBlock {
  readonly type: "tool_result"
  readonly tool_use_id: string
  readonly content: string | ReadonlyArray<TextBlock | ImageBlock>
}
export type RequestBlock = TextBlock | ImageBlock | DocumentBlock | ThinkingBlock | ToolUseBlock | ToolResultBlock

export interface RequestMessage {
  readonly role: "user" | "assistant"
  readonly content: ReadonlyArray<RequestBlock>
}

export interface RequestTool {
  readonly name: string
  readonly description?: string
  readonly input_schema: Record<string, unknown>
}

export type RequestToolChoice =
  | { readonly type: "auto" | "any"; readonly disable_parallel_tool_use?: boolean }
  | { readonly type: "tool"; readonly name: string; readonly disable_parallel_tool_use?: boolean }
  | { readonly type: "none" }

/**
 * Extended thinking with a token budget (Claude 4.5 and earlier; deprecated on 4.6, refused from 4.7), or
 * adaptive thinking steered by `output_config.effort` (4.6 and later), or off
 * (https://platform.claude.com/docs/en/build-with-claude/thinking-troubleshooting).
 */
export type RequestThinking =
  | { readonly type: "enabled"; readonly budget_tokens: number }
  | { readonly type: "adaptive" }
  | { readonly type: "disabled" }

/**
 * `effort` (https://platform.claude.com/docs/en/build-with-claude/effort) and JSON-schema output
 * (https://platform.claude.com/docs/en/build-with-claude/structured-outputs).
 */
export interface OutputConfig {
  readonly effort?: string
  readonly format?: { readonly type: "json_schema"; readonly schema: Record<string, unknown> }
}

export interface MessagesRequest {
  readonly model: string
  readonly max_tokens: number
  readonly messages: ReadonlyArray<RequestMessage>
  /** Text blocks only when one carries a caching breakpoint. */
  readonly system?: string | ReadonlyArray<TextBlock>
  readonly temperature?: number
  readonly top_p?: number
  readonly stop_sequences?: ReadonlyArray<string>
  readonly tools?: ReadonlyArray<RequestTool>
  readonly tool_choice?: RequestToolChoice
  readonly metadata?: { readonly user_id: string }
  readonly thinking?: RequestThinking
  readonly output_config?: OutputConfig
  readonly stream?: boolean
}

/**
 * Counts are taken as any JSON number and checked as token counts after decoding
 * (`../usage.ts`), so that a bad one is named and the answer's text kept for billing.
 * https://docs.anthropic.com/en/api/messages (`usage`)
 */
const Count = Schema.optionalKey(Schema.NullOr(Schema.Number))

export const Usage = Schema.Struct({
  input_tokens: Count,
  output_tokens: Count,
  cache_creation_input_tokens: Count,
  cache_read_input_tokens: Count
})
export type Usage = typeof Usage.Type

export const ResponseTextBlock = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })
export const ResponseToolUseBlock = Schema.Struct({
  type: Schema.Literal("tool_use"),
  id: Schema.String,
  name: Schema.String,
  input: Schema.Record(Schema.String, Schema.Unknown)
})
/**
 * `thinking` is empty when the model's thinking display is `omitted`. A whole message carries the
 * signature; a stream's `content_block_start` does not (it follows as a `signature_delta`).
 */
export const ResponseThinkingBlock = Schema.Struct({
  type: Schema.Literal("thinking"),
  thinking: Schema.String,
  signature: Schema.optionalKey(Schema.String)
})
export const ResponseRedactedThinkingBlock = Schema.Struct({
  type: Schema.Literal("redacted_thinking"),
  data: Schema.String
})
/** Blocks the gateway does not translate (server tools, …): kept only to be skipped. */
export const OtherBlock = Schema.Struct({ type: Schema.String })
export const ResponseBlock = Schema.Union([
  ResponseTextBlock,
  ResponseToolUseBlock,
  ResponseThinkingBlock,
  ResponseRedactedThinkingBlock,
  OtherBlock
])
export type ResponseBlock = typeof ResponseBlock.Type

export const Message = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("message"),
  role: Schema.Literal("assistant"),
  model: Schema.String,
  content: Schema.Array(ResponseBlock),
  stop_reason: Schema.NullOr(Schema.String),
  stop_sequence: Schema.optionalKey(Schema.NullOr(Schema.String)),
  usage: Usage
})
export type Message = typeof Message.Type

export const MessageStart = Schema.Struct({
  type: Schema.Literal("message_start"),
  message: Schema.Struct({ id: Schema.String, usage: Usage })
})
export const ContentBlockStart = Schema.Struct({
  type: Schema.Literal("content_block_start"),
  index: Schema.Int,
  content_block: ResponseBlock
})
export const ContentBlockDelta = Schema.Struct({
  type: Schema.Literal("content_block_delta"),
  index: Schema.Int,
  delta: Schema.Union([
    Schema.Struct({ type: Schema.Literal("text_delta"), text: Schema.String }),
    Schema.Struct({ type: Schema.Literal("input_json_delta"), partial_json: Schema.String }),
    Schema.Struct({ type: Schema.Literal("thinking_delta"), thinking: Schema.String }),
    Schema.Struct({ type: Schema.Literal("signature_delta"), signature: Schema.String }),
    Schema.Struct({ type: Schema.String })
  ])
})
export const MessageDelta = Schema.Struct({
  type: Schema.Literal("message_delta"),
  delta: Schema.Struct({ stop_reason: Schema.optionalKey(Schema.NullOr(Schema.String)) }),
  usage: Schema.optionalKey(Schema.NullOr(Usage))
})
/** Ends a block: a thinking block goes out whole, signature included, when it ends. */
export const ContentBlockStop = Schema.Struct({ type: Schema.Literal("content_block_stop"), index: Schema.Int })
export const MessageStop = Schema.Struct({ type: Schema.Literal("message_stop") })

/** The stream events that carry meaning; `ping` and unknown events are skipped before decoding. */
export const StreamEvent = Schema.Union([
  MessageStart,
  ContentBlockStart,
  ContentBlockDelta,
  ContentBlockStop,
  MessageDelta,
  MessageStop
])
export type StreamEvent = typeof StreamEvent.Type

export const meaningfulEvents: ReadonlySet<string> = new Set([
  "message_start",
  "content_block_start",
  "content_block_delta",
  "content_block_stop",
  "message_delta",
  "message_stop"
])
