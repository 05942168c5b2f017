/**
 * Embeddings with OpenAI (https://platform.openai.com/docs/api-reference/embeddings/create):
 * the request as OpenAI takes it (floats asked for: the gateway encodes base64 itself, from the
 * same float32 values), and its answer read back, vectors in input order and usage checked. Pure.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { ProtocolReason } from "../../domain/ProviderError.ts"
import type { EmbeddingProviderRequest, EmbeddingResult } from "../Provider.ts"
import { decoder } from "../StreamTranslator.ts"
import { countProblem } from "../usage.ts"

const EmbeddingAnswer = Schema.Struct({
  data: Schema.Array(Schema.Struct({ index: Schema.Int, embedding: Schema.Array(Schema.Number) })),
  usage: Schema.optionalKey(Schema.Struct({ prompt_tokens: Schema.Number }))
})

const decodeAnswer = decoder(EmbeddingAnswer, "OpenAI embeddings answer")

export const toOpenAIEmbeddingRequest = (input: EmbeddingProviderRequest) => ({
  model: input.model.upstreamModel,
  input: input.inputs._tag === "Texts" ? input.inputs.texts : input.inputs.tokens,
  encoding_format: "float",
  ...(input.dimensions === undefined ? {} : { dimensions: input.dimensions }),
  ...(input.user === undefined ? {} : { user: input.user })
})

export const fromOpenAIEmbeddings = (raw: unknown, inputs: number): Result.Result<EmbeddingResult, ProtocolReason> =>
  Result.flatMap(decodeAnswer(raw), (answer) => {
    const ordered = [...answer.data].sort((a, b) => a.index - b.index)
    if (ordered.length !== inputs || ordered.some((item, position) => item.index !== position)) {
      return Result.fail(
        new ProtocolReason({ message: `OpenAI answered ${answer.data.length} embeddings for ${inputs} inputs` })
      )
    }
    const vectors = ordered.map((item) => item.embedding)
    const promptTokens = answer.usage?.prompt_tokens
    const problem = countProblem("prompt_tokens", promptTokens)
    if (problem !== undefined) {
      return Result.fail(new ProtocolReason({ message: `OpenAI reported usage that cannot be billed: ${problem}` }))
    }
    return Result.succeed({ vectors, promptTokens })
  })
