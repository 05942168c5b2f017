/**
 * What an OpenAI(-compatible) server answers, read leniently: OpenAI's own shapes
 * (https://platform.openai.com/docs/api-reference/chat/object,
 * https://platform.openai.com/docs/api-reference/chat-streaming), and what compatible servers
 * (vLLM, llama.cpp, LM Studio, Ollama) send instead: `null` where OpenAI leaves a field out,
 * finish reasons outside OpenAI's five (mapped in `finishReason.ts`), `reasoning` for
 * `reasoning_content`, log probabilities in their own variant, extra fields (dropped).
 * Only what the gateway depends on is strict: ids, choices, message text and tool calls, and
 * usage, whose counts are taken as any JSON number and then checked as token counts
 * (`../usage.ts`), so that a bad count is named and the answer's text kept for billing.
 *
 * Usage fields: `cached_tokens` are part of `prompt_tokens`
 * (https://platform.openai.com/docs/guides/prompt-caching), `reasoning_tokens` part of
 * `completion_tokens` (https://platform.openai.com/docs/guides/reasoning).
 */
import * as Schema from "effect/Schema"
import { FunctionCall, ThinkingBlock, ToolCall, ToolCallDelta } from "../../domain/Chat.ts"

const Count = Schema.Number
const OptionalCount = Schema.optionalKey(Schema.NullOr(Count))
/** A field OpenAI leaves out and compatible servers may send as `null`: both mean absent. */
const absent = <S extends Schema.Top>(schema: S) => Schema.optionalKey(Schema.NullOr(schema))
const Opaque = Schema.Record(Schema.String, Schema.Unknown)

export const Usage = Schema.Struct({
  prompt_tokens: Count,
  completion_tokens: Count,
  /** Some compatible servers leave it out; it is then the sum of the two. */
  total_tokens: OptionalCount,
  prompt_tokens_details: absent(Schema.Struct({ cached_tokens: OptionalCount })),
  completion_tokens_details: absent(Schema.Struct({ reasoning_tokens: OptionalCount }))
})
export type Usage = typeof Usage.Type

const reasoningFields = {
  reasoning_content: absent(Schema.String),
  /** vLLM's newer name (and OpenRouter's) for `reasoning_content`. */
  reasoning: absent(Schema.String),
  thinking_blocks: absent(Schema.Array(ThinkingBlock))
}

export const Message = Schema.Struct({
  role: Schema.Literal("assistant"),
  content: absent(Schema.String),
  tool_calls: absent(Schema.Array(ToolCall)),
  function_call: absent(FunctionCall),
  refusal: absent(Schema.String),
  annotations: absent(Schema.Array(Opaque)),
  audio: absent(Opaque),
  ...reasoningFields
})
export type Message = typeof Message.Type

/** Finish reasons are any string here; `finishReason.ts` maps them to OpenAI's. */
const finishReason = Schema.NullOr(Schema.String)

const answerFields = {
  id: Schema.String,
  created: Schema.Int,
  model: Schema.String,
  system_fingerprint: absent(Schema.String),
  service_tier: absent(Schema.String),
  usage: absent(Usage)
}

export const Completion = Schema.Struct({
  ...answerFields,
  object: Schema.Literal("chat.completion"),
  choices: Schema.Array(
    Schema.Struct({ index: Schema.Int, message: Message, finish_reason: finishReason, logprobs: absent(Opaque) })
  )
})
export type Completion = typeof Completion.Type

export const Delta = Schema.Struct({
  role: absent(Schema.Literal("assistant")),
  content: absent(Schema.String),
  tool_calls: absent(Schema.Array(ToolCallDelta)),
  function_call: absent(
    Schema.Struct({ name: Schema.optionalKey(Schema.String), arguments: Schema.optionalKey(Schema.String) })
  ),
  refusal: absent(Schema.String),
  audio: absent(Opaque),
  ...reasoningFields
})
export type Delta = typeof Delta.Type

export const ChunkChoice = Schema.Struct({
  index: Schema.Int,
  delta: Delta,
  finish_reason: finishReason,
  logprobs: absent(Opaque)
})
export type ChunkChoice = typeof ChunkChoice.Type

export const Chunk = Schema.Struct({
  ...answerFields,
  object: Schema.Literal("chat.completion.chunk"),
  choices: Schema.Array(ChunkChoice)
})
export type Chunk = typeof Chunk.Type
