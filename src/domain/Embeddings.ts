/**
 * OpenAI's embeddings API as the gateway speaks it to clients
 * (https://platform.openai.com/docs/api-reference/embeddings/create): the request, the answer, and
 * the canonical inputs providers embed. `input` is one text, several, one token array or several;
 * vectors are floats, or base64 of little-endian float32 as OpenAI encodes them.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { ValidationError } from "./errors.ts"

const TokenArray = Schema.Array(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))

export const EmbeddingRequest = Schema.Struct({
  model: Schema.String,
  input: Schema.Union([Schema.String, Schema.Array(Schema.String), TokenArray, Schema.Array(TokenArray)]),
  encoding_format: Schema.optionalKey(Schema.NullOr(Schema.Literals(["float", "base64"]))),
  dimensions: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isGreaterThan(0)))),
  /** Replaced by the gateway's id of the authenticated user, as on the chat route. */
  user: Schema.optionalKey(Schema.NullOr(Schema.String))
}).annotate({ identifier: "EmbeddingRequest" })
export type EmbeddingRequest = typeof EmbeddingRequest.Type

export const Embedding = Schema.Struct({
  object: Schema.Literal("embedding"),
  index: Schema.Int,
  /** Floats, or with `encoding_format: "base64"` the base64 of their little-endian float32 bytes. */
  embedding: Schema.Union([Schema.Array(Schema.Number), Schema.String])
})

export const EmbeddingList = Schema.Struct({
  object: Schema.Literal("list"),
  data: Schema.Array(Embedding),
  model: Schema.String,
  usage: Schema.Struct({ prompt_tokens: Schema.Int, total_tokens: Schema.Int })
}).annotate({ identifier: "EmbeddingList" })
export type EmbeddingList = typeof EmbeddingList.Type

/** What a provider embeds: texts, or token arrays (which only OpenAI takes). One vector per input, in order. */
export type EmbeddingInputs =
  | { readonly _tag: "Texts"; readonly texts: ReadonlyArray<string> }
  | { readonly _tag: "Tokens"; readonly tokens: ReadonlyArray<ReadonlyArray<number>> }

/** OpenAI's limit on the inputs of one request. */
export const maxEmbeddingInputs = 2048

const invalidInput = (message: string) => new ValidationError({ message, param: "input" })

/** The request's inputs, each non-empty as OpenAI requires; an empty input or too many are refused. */
export const embeddingInputsOf = (
  input: EmbeddingRequest["input"]
): Result.Result<EmbeddingInputs, ValidationError> => {
  if (typeof input === "string") {
    return input === ""
      ? Result.fail(invalidInput("input must not be an empty string"))
      : Result.succeed({ _tag: "Texts", texts: [input] })
  }
  if (input.length === 0) return Result.fail(invalidInput("input must not be an empty array"))
  if (input.length > maxEmbeddingInputs && typeof input[0] !== "number") {
    return Result.fail(invalidInput(`input may hold at most ${maxEmbeddingInputs} inputs, not ${input.length}`))
  }
  const first = input[0]
  if (typeof first === "number") return Result.succeed({ _tag: "Tokens", tokens: [input as ReadonlyArray<number>] })
  if (typeof first === "string") {
    const texts = input as ReadonlyArray<string>
    const empty = texts.indexOf("")
    return empty === -1
      ? Result.succeed({ _tag: "Texts", texts })
      : Result.fail(invalidInput(`input[${empty}] must not be an empty string`))
  }
  const tokens = input as ReadonlyArray<ReadonlyArray<number>>
  const empty = tokens.findIndex((array) => array.length === 0)
  return empty === -1
    ? Result.succeed({ _tag: "Tokens", tokens })
    : Result.fail(invalidInput(`input[${empty}] must not be an empty token array`))
}

/** How many vectors the inputs ask for. */
export const inputCount = (inputs: EmbeddingInputs): number =>
  inputs._tag === "Texts" ? inputs.texts.length : inputs.tokens.length

/** OpenAI's base64 encoding of a vector: its float32 values, little-endian, as bytes. */
export const base64Vector = (vector: ReadonlyArray<number>): string => {
  const bytes = Buffer.allocUnsafe(vector.length * 4)
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4)
  return bytes.toString("base64")
}
