/**
 * The OpenAI Chat Completions shapes the gateway speaks to its clients. They are
 * also the canonical shapes inside the gateway: providers translate to and from them.
 */
import * as Schema from "effect/Schema"

/** An optional field that OpenAI clients may also send as `null`. */
const nullable = <S extends Schema.Top>(schema: S) => Schema.optionalKey(Schema.NullOr(schema))

const between = (minimum: number, maximum: number) => Schema.Finite.check(Schema.isBetween({ minimum, maximum }))
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

export const Role = Schema.Literals(["system", "developer", "user", "assistant", "tool"])
export type Role = typeof Role.Type

/**
 * A prompt-caching breakpoint (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching): Claude caches
 * the prompt up to and including the part that carries it. Claude only; other providers cache on their own and
 * never see it. As LiteLLM and Anthropic-shaped clients write it on text parts.
 */
export const CacheControl = Schema.Struct({
  type: Schema.Literal("ephemeral"),
  ttl: Schema.optionalKey(Schema.Literals(["5m", "1h"]))
})
export type CacheControl = typeof CacheControl.Type

export const TextPart = Schema.Struct({
  type: Schema.Literal("text"),
  text: Schema.String,
  cache_control: Schema.optionalKey(CacheControl)
})
export const ImagePart = Schema.Struct({
  type: Schema.Literal("image_url"),
  image_url: Schema.Struct({
    // What the providers fetch or decode; any other scheme (javascript:, file:, …) is refused before any work.
    url: Schema.String.check(
      Schema.isPattern(/^(https?:\/\/|data:)/i, { message: "Expected an https:, http: or data: URL" })
    ),
    detail: Schema.optionalKey(Schema.Literals(["auto", "low", "high"]))
  })
})
export const AudioPart = Schema.Struct({
  type: Schema.Literal("input_audio"),
  input_audio: Schema.Struct({ data: Schema.String, format: Schema.String })
})
export const FilePart = Schema.Struct({
  type: Schema.Literal("file"),
  file: Schema.Struct({
    file_id: Schema.optionalKey(Schema.String),
    file_data: Schema.optionalKey(Schema.String),
    filename: Schema.optionalKey(Schema.String)
  })
})
export const ContentPart = Schema.Union([TextPart, ImagePart, AudioPart, FilePart])
export type ContentPart = typeof ContentPart.Type

export const Content = Schema.Union([Schema.String, Schema.Array(ContentPart)])
export type Content = typeof Content.Type

export const ToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("function"),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
})
export type ToolCall = typeof ToolCall.Type

/**
 * A block of the model's reasoning that a provider needs back on the next turn of a tool loop
 * (Anthropic's `thinking` / `redacted_thinking` blocks with their signatures). The shape is the one
 * LiteLLM and other gateways use on assistant messages, so clients that append the answer's message to
 * the conversation send it back unchanged.
 */
export const ThinkingBlock = Schema.Struct({
  type: Schema.Literals(["thinking", "redacted_thinking"]),
  thinking: Schema.optionalKey(Schema.String),
  signature: Schema.optionalKey(Schema.String),
  data: Schema.optionalKey(Schema.String)
})
export type ThinkingBlock = typeof ThinkingBlock.Type

export const ChatMessage = Schema.Struct({
  role: Role,
  content: nullable(Content),
  name: Schema.optionalKey(Schema.String),
  tool_calls: Schema.optionalKey(Schema.Array(ToolCall)),
  tool_call_id: Schema.optionalKey(Schema.String),
  /** An earlier answer's reasoning, as the gateway returned it (display only; never sent upstream as text). */
  reasoning_content: nullable(Schema.String),
  /** An earlier answer's reasoning blocks, echoed back for providers that need them in a tool loop. */
  thinking_blocks: nullable(Schema.Array(ThinkingBlock))
}).check(
  Schema.makeFilter((message) => {
    if (message.role === "tool" && message.tool_call_id === undefined) {
      return { path: ["tool_call_id"], issue: "Missing key: a tool message needs the tool_call_id it answers" }
    }
    const hasContent = message.content !== undefined && message.content !== null
    if (!hasContent && !(message.role === "assistant" && message.tool_calls !== undefined)) {
      return { path: ["content"], issue: "Missing key: only an assistant message with tool_calls may omit content" }
    }
    return true
  })
)
export type ChatMessage = typeof ChatMessage.Type

export const FunctionTool = Schema.Struct({
  type: Schema.Literal("function"),
  function: Schema.Struct({
    name: Schema.String.check(Schema.isPattern(/^[a-zA-Z0-9_-]{1,64}$/)),
    description: Schema.optionalKey(Schema.String),
    parameters: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
    strict: nullable(Schema.Boolean)
  })
})
export type FunctionTool = typeof FunctionTool.Type

export const ToolChoice = Schema.Union([
  Schema.Literals(["none", "auto", "required"]),
  Schema.Struct({ type: Schema.Literal("function"), function: Schema.Struct({ name: Schema.String }) })
])
export type ToolChoice = typeof ToolChoice.Type

export const ResponseFormat = Schema.Union([
  Schema.Struct({ type: Schema.Literals(["text", "json_object"]) }),
  Schema.Struct({
    type: Schema.Literal("json_schema"),
    json_schema: Schema.Struct({
      name: Schema.String,
      description: Schema.optionalKey(Schema.String),
      schema: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
      strict: nullable(Schema.Boolean)
    })
  })
])
export type ResponseFormat = typeof ResponseFormat.Type

/**
 * The fields of a chat request the gateway knows. Each translator says what it does with each of them
 * (`src/providers/<vendor>/fieldPolicy.ts`); fields beyond these are kept too (`ChatCompletionRequest`).
 */
export const ChatCompletionFields = Schema.Struct({
  model: Schema.String.check(Schema.isNonEmpty()),
  messages: Schema.Array(ChatMessage).check(Schema.isMinLength(1, { message: "Expected at least one message" })),
  stream: nullable(Schema.Boolean),
  stream_options: nullable(Schema.Struct({ include_usage: Schema.optionalKey(Schema.Boolean) })),
  max_tokens: nullable(PositiveInt),
  max_completion_tokens: nullable(PositiveInt),
  temperature: nullable(between(0, 2)),
  top_p: nullable(between(0, 1)),
  frequency_penalty: nullable(between(-2, 2)),
  presence_penalty: nullable(between(-2, 2)),
  n: nullable(PositiveInt.check(Schema.isLessThanOrEqualTo(128))),
  stop: nullable(Schema.Union([Schema.String, Schema.Array(Schema.String).check(Schema.isMaxLength(4))])),
  tools: nullable(Schema.Array(FunctionTool)),
  tool_choice: nullable(ToolChoice),
  parallel_tool_calls: nullable(Schema.Boolean),
  response_format: nullable(ResponseFormat),
  user: nullable(Schema.String),
  seed: nullable(Schema.Int),
  // Fields the gateway forwards or translates but does not otherwise depend on (OpenAI's API reference,
  // https://platform.openai.com/docs/api-reference/chat/create); each translator says what it does with each.
  reasoning_effort: nullable(Schema.Literals(["none", "minimal", "low", "medium", "high", "xhigh"])),
  verbosity: nullable(Schema.Literals(["low", "medium", "high"])),
  logprobs: nullable(Schema.Boolean),
  top_logprobs: nullable(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20 }))),
  logit_bias: nullable(Schema.Record(Schema.String, Schema.Finite)),
  service_tier: nullable(Schema.String),
  store: nullable(Schema.Boolean),
  metadata: nullable(Schema.Record(Schema.String, Schema.String)),
  prediction: nullable(Schema.Unknown),
  modalities: nullable(Schema.Array(Schema.String)),
  audio: nullable(Schema.Unknown),
  web_search_options: nullable(Schema.Unknown),
  prompt_cache_key: nullable(Schema.String),
  safety_identifier: nullable(Schema.String),
  /** Deprecated by OpenAI in favour of `tools` / `tool_choice`, still sent by older clients. */
  functions: nullable(Schema.Array(Schema.Unknown)),
  function_call: nullable(Schema.Unknown)
})

/**
 * A chat request as clients send it: the known fields validated where the gateway depends on them,
 * and any other field kept as sent, so that it reaches OpenAI-compatible upstreams unchanged (a
 * server's own extensions, such as vLLM's `top_k`, or OpenAI fields newer than the gateway).
 */
export const ChatCompletionRequest = Schema.StructWithRest(ChatCompletionFields, [
  Schema.Record(Schema.String, Schema.Unknown)
]).annotate({ identifier: "ChatCompletionRequest" })
/**
 * The known fields. A request value may carry more (see `ChatCompletionRequest`): the OpenAI
 * translator forwards them, the others read only the fields they know.
 */
export type ChatCompletionRequest = typeof ChatCompletionFields.Type

export const FinishReason = Schema.Literals(["stop", "length", "tool_calls", "content_filter", "function_call"])
export type FinishReason = typeof FinishReason.Type

/**
 * OpenAI's usage shape, for every provider: `prompt_tokens` counts all billed input (cache
 * reads and writes included), `completion_tokens` all output (reasoning included). The
 * details say which parts were cache reads (`cached_tokens`), cache writes
 * (`cache_write_tokens`, which OpenAI does not bill separately; Anthropic does) and reasoning.
 */
export const Usage = Schema.Struct({
  prompt_tokens: Schema.Int,
  completion_tokens: Schema.Int,
  total_tokens: Schema.Int,
  prompt_tokens_details: Schema.optionalKey(
    Schema.Struct({
      cached_tokens: Schema.optionalKey(Schema.Int),
      cache_write_tokens: Schema.optionalKey(Schema.Int)
    })
  ),
  completion_tokens_details: Schema.optionalKey(Schema.Struct({ reasoning_tokens: Schema.optionalKey(Schema.Int) }))
})
export type Usage = typeof Usage.Type

/**
 * What OpenAI returns that the gateway passes through without reading: token log probabilities,
 * URL citations of web search, generated audio. Kept as objects the upstream sent, so that a
 * compatible server's variant of them (an extra or missing key) is not a reason to fail the answer.
 */
const Opaque = Schema.Record(Schema.String, Schema.Unknown)

/** Deprecated by OpenAI with `functions`; still what a model answers to a request that uses them. */
export const FunctionCall = Schema.Struct({ name: Schema.String, arguments: Schema.String })

export const AssistantMessage = Schema.Struct({
  role: Schema.Literal("assistant"),
  content: Schema.NullOr(Schema.String),
  tool_calls: Schema.optionalKey(Schema.Array(ToolCall)),
  function_call: Schema.optionalKey(FunctionCall),
  refusal: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** URL citations (OpenAI web search), as OpenAI sends them. */
  annotations: Schema.optionalKey(Schema.Array(Opaque)),
  /** Generated audio (`modalities: ["text", "audio"]`), as OpenAI sends it. */
  audio: Schema.optionalKey(Schema.NullOr(Opaque)),
  /** The model's visible reasoning (Anthropic thinking, Gemini thought summaries), when the provider returns it. */
  reasoning_content: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** Reasoning blocks the provider needs back on the next turn of a tool loop. */
  thinking_blocks: Schema.optionalKey(Schema.Array(ThinkingBlock))
})
export type AssistantMessage = typeof AssistantMessage.Type

export const ChatCompletion = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("chat.completion"),
  created: Schema.Int,
  model: Schema.String,
  choices: Schema.Array(
    Schema.Struct({
      index: Schema.Int,
      message: AssistantMessage,
      finish_reason: Schema.NullOr(FinishReason),
      /** OpenAI's `{content, refusal}` token log probabilities, when the request asked for `logprobs`. */
      logprobs: Schema.optionalKey(Schema.NullOr(Opaque))
    })
  ),
  usage: Schema.optionalKey(Usage),
  system_fingerprint: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** The processing tier that served the request (OpenAI's `service_tier`). */
  service_tier: Schema.optionalKey(Schema.NullOr(Schema.String))
}).annotate({ identifier: "ChatCompletion" })
export type ChatCompletion = typeof ChatCompletion.Type

export const ToolCallDelta = Schema.Struct({
  index: Schema.Int,
  id: Schema.optionalKey(Schema.String),
  type: Schema.optionalKey(Schema.Literal("function")),
  function: Schema.optionalKey(
    Schema.Struct({ name: Schema.optionalKey(Schema.String), arguments: Schema.optionalKey(Schema.String) })
  )
})
export type ToolCallDelta = typeof ToolCallDelta.Type

export const ChunkChoice = Schema.Struct({
  index: Schema.Int,
  delta: Schema.Struct({
    role: Schema.optionalKey(Schema.Literal("assistant")),
    content: Schema.optionalKey(Schema.NullOr(Schema.String)),
    tool_calls: Schema.optionalKey(Schema.Array(ToolCallDelta)),
    function_call: Schema.optionalKey(
      Schema.Struct({ name: Schema.optionalKey(Schema.String), arguments: Schema.optionalKey(Schema.String) })
    ),
    refusal: Schema.optionalKey(Schema.NullOr(Schema.String)),
    audio: Schema.optionalKey(Schema.NullOr(Opaque)),
    reasoning_content: Schema.optionalKey(Schema.NullOr(Schema.String)),
    /** Streamed whole, each in the delta after its reasoning text. */
    thinking_blocks: Schema.optionalKey(Schema.Array(ThinkingBlock))
  }),
  finish_reason: Schema.NullOr(FinishReason),
  logprobs: Schema.optionalKey(Schema.NullOr(Opaque))
})
export type ChunkChoice = typeof ChunkChoice.Type

export const ChatCompletionChunk = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("chat.completion.chunk"),
  created: Schema.Int,
  model: Schema.String,
  choices: Schema.Array(ChunkChoice),
  usage: Schema.optionalKey(Schema.NullOr(Usage)),
  system_fingerprint: Schema.optionalKey(Schema.NullOr(Schema.String)),
  service_tier: Schema.optionalKey(Schema.NullOr(Schema.String))
}).annotate({ identifier: "ChatCompletionChunk" })
export type ChatCompletionChunk = typeof ChatCompletionChunk.Type
