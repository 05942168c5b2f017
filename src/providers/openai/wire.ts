/**
 * What an OpenAI(-compatible) server answers: the canonical shapes, except for usage,
 * whose counts are taken as any JSON number and then checked as token counts
 * (`../usage.ts`), so that a bad count is named and the answer's text kept for billing.
 * Compatible servers may send `null` where OpenAI leaves a field out; both mean absent.
 *
 * Usage fields: https://platform.openai.com/docs/api-reference/chat/object (`usage`);
 * `cached_tokens` are part of `prompt_tokens`
 * (https://platform.openai.com/docs/guides/prompt-caching), `reasoning_tokens` part of
 * `completion_tokens` (https://platform.openai.com/docs/guides/reasoning).
 */
import { Schema } from "effect"
import { ChatCompletion, ChatCompletionChunk } from "../../domain/Chat.ts"

const Count = Schema.Number
const OptionalCount = Schema.optionalKey(Schema.NullOr(Count))

export const Usage = Schema.Struct({
  prompt_tokens: Count,
  completion_tokens: Count,
  total_tokens: Count,
  prompt_tokens_details: Schema.optionalKey(Schema.NullOr(Schema.Struct({ cached_tokens: OptionalCount }))),
  completion_tokens_details: Schema.optionalKey(Schema.NullOr(Schema.Struct({ reasoning_tokens: OptionalCount })))
})
export type Usage = typeof Usage.Type

export const Completion = ChatCompletion.mapFields((fields) => ({
  ...fields,
  usage: Schema.optionalKey(Schema.NullOr(Usage))
}))
export type Completion = typeof Completion.Type

export const Chunk = ChatCompletionChunk.mapFields((fields) => ({
  ...fields,
  usage: Schema.optionalKey(Schema.NullOr(Usage))
}))
export type Chunk = typeof Chunk.Type
