/**
 * Anthropic's Messages API as the gateway serves it to Anthropic-SDK clients (`POST /v1/messages`,
 * `POST /v1/messages/count_tokens`; https://docs.anthropic.com/en/api/messages, version 2023-06-01). Requests
 * are translated to the canonical chat shape (`Chat.ts`) and answers back (`src/http/messages/`); what the
 * translation cannot carry is refused or documented in docs/messages.md.
 */
import * as Schema from "effect/Schema"
import { CacheControl } from "./Chat.ts"

const between = (minimum: number, maximum: number) => Schema.Finite.check(Schema.isBetween({ minimum, maximum }))
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const JsonObject = Schema.Record(Schema.String, Schema.Unknown)

const cacheControl = Schema.optionalKey(Schema.NullOr(CacheControl))

export const TextBlockParam = Schema.Struct({
  type: Schema.Literal("text"),
  text: Schema.String,
  cache_control: cacheControl,
  citations: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.Unknown)))
})
export type TextBlockParam = typeof TextBlockParam.Type

export const ImageBlockParam = Schema.Struct({
  type: Schema.Literal("image"),
  source: Schema.Union([
    Schema.Struct({ type: Schema.Literal("base64"), media_type: Schema.String, data: Schema.String }),
    Schema.Struct({ type: Schema.Literal("url"), url: Schema.String })
  ]),
  cache_control: cacheControl
})
export type ImageBlockParam = typeof ImageBlockParam.Type

/** A PDF (https://docs.anthropic.com/en/docs/build-with-claude/pdf-support): base64, a URL, or plain text. */
export const DocumentBlockParam = Schema.Struct({
  type: Schema.Literal("document"),
  source: Schema.Union([
    Schema.Struct({ type: Schema.Literal("base64"), media_type: Schema.String, data: Schema.String }),
    Schema.Struct({ type: Schema.Literal("url"), url: Schema.String }),
    Schema.Struct({ type: Schema.Literal("text"), media_type: Schema.optionalKey(Schema.String), data: Schema.String })
  ]),
  title: Schema.optionalKey(Schema.NullOr(Schema.String)),
  context: Schema.optionalKey(Schema.NullOr(Schema.String)),
  citations: Schema.optionalKey(Schema.Unknown),
  cache_control: cacheControl
})
export type DocumentBlockParam = typeof DocumentBlockParam.Type

export const ToolUseBlockParam = Schema.Struct({
  type: Schema.Literal("tool_use"),
  id: Schema.String,
  name: Schema.String,
  input: JsonObject,
  cache_control: cacheControl
})
export type ToolUseBlockParam = typeof ToolUseBlockParam.Type

export const ToolResultBlockParam = Schema.Struct({
  type: Schema.Literal("tool_result"),
  tool_use_id: Schema.String,
  content: Schema.optionalKey(
    Schema.Union([
      Schema.String,
      Schema.Array(
        Schema.Union([TextBlockParam, ImageBlockParam, DocumentBlockParam]).annotate({
          message: "Expected a content block of type text, image or document"
        })
      )
    ])
  ),
  is_error: Schema.optionalKey(Schema.Boolean),
  cache_control: cacheControl
})
export type ToolResultBlockParam = typeof ToolResultBlockParam.Type

export const ThinkingBlockParam = Schema.Struct({
  type: Schema.Literal("thinking"),
  thinking: Schema.String,
  signature: Schema.String
})
export const RedactedThinkingBlockParam = Schema.Struct({
  type: Schema.Literal("redacted_thinking"),
  data: Schema.String
})

export const ContentBlockParam = Schema.Union([
  TextBlockParam,
  ImageBlockParam,
  DocumentBlockParam,
  ToolUseBlockParam,
  ToolResultBlockParam,
  ThinkingBlockParam,
  RedactedThinkingBlockParam
]).annotate({
  message:
    "Expected a content block of type text, image, document, tool_use, tool_result, thinking or redacted_thinking"
})
export type ContentBlockParam = typeof ContentBlockParam.Type

export const MessageParam = Schema.Struct({
  /** `system` is what API versions after 2023-06-01 (and the 1.x SDK's typings) allow inside `messages`. */
  role: Schema.Literals(["user", "assistant", "system"]),
  content: Schema.Union([Schema.String, Schema.Array(ContentBlockParam)])
})
export type MessageParam = typeof MessageParam.Type

/** A client tool (`type` absent or `custom`); Anthropic's server tools have other types and are refused. */
export const Tool = Schema.Struct({
  type: Schema.optionalKey(Schema.NullOr(Schema.String)),
  name: Schema.String.check(Schema.isPattern(/^[a-zA-Z0-9_-]{1,64}$/)),
  description: Schema.optionalKey(Schema.String),
  input_schema: Schema.optionalKey(JsonObject),
  cache_control: cacheControl
})
export type Tool = typeof Tool.Type

const parallel = { disable_parallel_tool_use: Schema.optionalKey(Schema.Boolean) }
export const ToolChoice = Schema.Union([
  Schema.Struct({ type: Schema.Literals(["auto", "any"]), ...parallel }),
  Schema.Struct({ type: Schema.Literal("tool"), name: Schema.String, ...parallel }),
  Schema.Struct({ type: Schema.Literal("none") })
]).annotate({ message: 'Expected a tool choice of type "auto", "any", "tool" (with a name) or "none"' })
export type ToolChoice = typeof ToolChoice.Type

export const ThinkingConfig = Schema.Union([
  Schema.Struct({ type: Schema.Literal("enabled"), budget_tokens: PositiveInt }),
  Schema.Struct({ type: Schema.Literals(["disabled", "adaptive"]) })
]).annotate({ message: 'Expected thinking of type "enabled" (with budget_tokens), "disabled" or "adaptive"' })
export type ThinkingConfig = typeof ThinkingConfig.Type

export const OutputConfig = Schema.Struct({
  effort: Schema.optionalKey(Schema.Literals(["low", "medium", "high", "max"])),
  format: Schema.optionalKey(Schema.NullOr(Schema.Struct({ type: Schema.Literal("json_schema"), schema: JsonObject })))
})
export type OutputConfig = typeof OutputConfig.Type

/** What a request may say about its prompt: shared by `/v1/messages` and `/v1/messages/count_tokens`. */
const promptFields = {
  model: Schema.String.check(Schema.isNonEmpty()),
  messages: Schema.Array(MessageParam).check(Schema.isMinLength(1, { message: "Expected at least one message" })),
  system: Schema.optionalKey(Schema.Union([Schema.String, Schema.Array(TextBlockParam)])),
  tools: Schema.optionalKey(Schema.Array(Tool)),
  tool_choice: Schema.optionalKey(ToolChoice),
  thinking: Schema.optionalKey(ThinkingConfig),
  output_config: Schema.optionalKey(OutputConfig)
}

export const CreateMessageFields = Schema.Struct({
  ...promptFields,
  max_tokens: PositiveInt,
  stream: Schema.optionalKey(Schema.Boolean),
  stop_sequences: Schema.optionalKey(Schema.Array(Schema.String)),
  temperature: Schema.optionalKey(between(0, 1)),
  top_p: Schema.optionalKey(between(0, 1)),
  /** Refused (docs/messages.md): the canonical chat shape has no top-k, and Claude 4.6 and later refuse it. */
  top_k: Schema.optionalKey(NonNegativeInt),
  metadata: Schema.optionalKey(Schema.Struct({ user_id: Schema.optionalKey(Schema.NullOr(Schema.String)) })),
  service_tier: Schema.optionalKey(Schema.Literals(["auto", "standard_only"]))
})

/**
 * A Messages request. Fields beyond these are kept so that the gateway can refuse them by name, as
 * Anthropic refuses fields it does not know, rather than drop them silently.
 */
export const CreateMessageRequest = Schema.StructWithRest(CreateMessageFields, [
  Schema.Record(Schema.String, Schema.Unknown)
]).annotate({ identifier: "CreateMessageRequest" })
export type CreateMessageRequest = typeof CreateMessageFields.Type

export const CountTokensFields = Schema.Struct(promptFields)
export const CountTokensRequest = Schema.StructWithRest(CountTokensFields, [
  Schema.Record(Schema.String, Schema.Unknown)
]).annotate({ identifier: "CountMessageTokensRequest" })
export type CountTokensRequest = typeof CountTokensFields.Type

export const CountTokensResponse = Schema.Struct({ input_tokens: NonNegativeInt }).annotate({
  identifier: "MessageTokensCount"
})
export type CountTokensResponse = typeof CountTokensResponse.Type

export const StopReason = Schema.Literals([
  "end_turn",
  "max_tokens",
  "stop_sequence",
  "tool_use",
  "pause_turn",
  "refusal",
  "model_context_window_exceeded"
])
export type StopReason = typeof StopReason.Type

/** `input_tokens` excludes the cache reads and writes, as Anthropic reports it. */
export const MessageUsage = Schema.Struct({
  input_tokens: NonNegativeInt,
  output_tokens: NonNegativeInt,
  cache_creation_input_tokens: NonNegativeInt,
  cache_read_input_tokens: NonNegativeInt
})
export type MessageUsage = typeof MessageUsage.Type

export const TextBlock = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })
export const ThinkingBlock = Schema.Struct({
  type: Schema.Literal("thinking"),
  thinking: Schema.String,
  signature: Schema.String
})
export const RedactedThinkingBlock = RedactedThinkingBlockParam
export const ToolUseBlock = Schema.Struct({
  type: Schema.Literal("tool_use"),
  id: Schema.String,
  name: Schema.String,
  input: JsonObject
})
export const ContentBlock = Schema.Union([TextBlock, ThinkingBlock, RedactedThinkingBlock, ToolUseBlock])
export type ContentBlock = typeof ContentBlock.Type

export const Message = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("message"),
  role: Schema.Literal("assistant"),
  model: Schema.String,
  content: Schema.Array(ContentBlock),
  stop_reason: Schema.NullOr(StopReason),
  stop_sequence: Schema.NullOr(Schema.String),
  usage: MessageUsage
}).annotate({ identifier: "Message" })
export type Message = typeof Message.Type

/** The events of a streamed message (https://docs.anthropic.com/en/docs/build-with-claude/streaming). */
export const MessageStreamEvent = Schema.Union([
  Schema.Struct({ type: Schema.Literal("message_start"), message: Message }),
  Schema.Struct({ type: Schema.Literal("content_block_start"), index: Schema.Int, content_block: ContentBlock }),
  Schema.Struct({
    type: Schema.Literal("content_block_delta"),
    index: Schema.Int,
    delta: Schema.Union([
      Schema.Struct({ type: Schema.Literal("text_delta"), text: Schema.String }),
      Schema.Struct({ type: Schema.Literal("input_json_delta"), partial_json: Schema.String }),
      Schema.Struct({ type: Schema.Literal("thinking_delta"), thinking: Schema.String }),
      Schema.Struct({ type: Schema.Literal("signature_delta"), signature: Schema.String })
    ])
  }),
  Schema.Struct({ type: Schema.Literal("content_block_stop"), index: Schema.Int }),
  Schema.Struct({
    type: Schema.Literal("message_delta"),
    delta: Schema.Struct({ stop_reason: Schema.NullOr(StopReason), stop_sequence: Schema.NullOr(Schema.String) }),
    usage: MessageUsage
  }),
  Schema.Struct({ type: Schema.Literal("message_stop") }),
  Schema.Struct({ type: Schema.Literal("ping") }),
  Schema.Struct({
    type: Schema.Literal("error"),
    error: Schema.Struct({ type: Schema.String, message: Schema.String })
  })
]).annotate({ identifier: "MessageStreamEvent" })
export type MessageStreamEvent = typeof MessageStreamEvent.Type
