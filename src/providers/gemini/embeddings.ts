/**
 * Embeddings with Gemini: OpenAI's request as one `batchEmbedContents` call
 * (https://ai.google.dev/api/embeddings#method:-models.batchembedcontents), one request per input,
 * and its answer read back in input order. Gemini embeds text only: token arrays are refused before
 * any call. It reports no token usage, so the gateway's tokenizer counts what is billed. Shortened
 * vectors (`outputDimensionality`) come back unnormalised (https://ai.google.dev/gemini-api/docs/embeddings);
 * they are scaled to unit length, as OpenAI's `dimensions` answers are. Pure.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { ProtocolReason, type ProviderErrorReason, UnsupportedReason } from "../../domain/ProviderError.ts"
import type { EmbeddingProviderRequest, EmbeddingResult } from "../Provider.ts"
import { decoder } from "../StreamTranslator.ts"

const BatchEmbedAnswer = Schema.Struct({
  embeddings: Schema.Array(Schema.Struct({ values: Schema.Array(Schema.Number) }))
})

const decodeAnswer = decoder(BatchEmbedAnswer, "Gemini batchEmbedContents answer")

export const toBatchEmbedRequest = (input: EmbeddingProviderRequest): Result.Result<object, ProviderErrorReason> => {
  if (input.inputs._tag === "Tokens") {
    return Result.fail(
      new UnsupportedReason({
        message: "Gemini embeds text only: send input as strings, not token arrays",
        param: "input"
      })
    )
  }
  const model = `models/${input.model.upstreamModel}`
  return Result.succeed({
    requests: input.inputs.texts.map((text) => ({
      model,
      content: { parts: [{ text }] },
      ...(input.dimensions === undefined ? {} : { outputDimensionality: input.dimensions })
    }))
  })
}

const unitLength = (values: ReadonlyArray<number>): ReadonlyArray<number> => {
  let sum = 0
  for (const value of values) sum += value * value
  const norm = Math.sqrt(sum)
  return norm === 0 ? values : values.map((value) => value / norm)
}

export const fromBatchEmbedAnswer = (
  raw: unknown,
  input: EmbeddingProviderRequest,
  inputs: number
): Result.Result<EmbeddingResult, ProtocolReason> =>
  Result.flatMap(decodeAnswer(raw), ({ embeddings }) =>
    embeddings.length === inputs
      ? Result.succeed({
          vectors: embeddings.map(({ values }) => (input.dimensions === undefined ? values : unitLength(values))),
          promptTokens: undefined
        })
      : Result.fail(
          new ProtocolReason({ message: `Gemini answered ${embeddings.length} embeddings for ${inputs} inputs` })
        )
  )
