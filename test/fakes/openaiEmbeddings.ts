/**
 * The OpenAI fake's `POST /v1/embeddings` (https://platform.openai.com/docs/api-reference/embeddings/create),
 * strict where the real API is: known fields only, `input` a non-empty string, strings, token array or
 * token arrays (at most 2048), `encoding_format` float or base64, `dimensions` only on text-embedding-3
 * models and within their size. Vectors are `fakeVector`s; usage is one token per word (a token array:
 * its length) unless a scripted reply names `usage.input`.
 */
import { fakeTokenCount, fakeVector, toBase64 } from "./embeddings.ts"
import type { Answer, ChatCall, ReceivedRequest } from "./FakeUpstream.ts"
import { invalid } from "./openaiRules.ts"
import type { Reply } from "./script.ts"

const fields = new Set(["model", "input", "encoding_format", "dimensions", "user"])

/** The embedding models the fake serves, with their vector length. */
export const embeddingSizes: Record<string, number> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536
}

const invalidInput = () =>
  invalid("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.")

const isTokenArray = (value: unknown): value is Array<number> =>
  Array.isArray(value) && value.length > 0 && value.every((token) => Number.isInteger(token) && token >= 0)

/** The inputs as seeds and token counts, or undefined when `input` is not one of the accepted shapes. */
const inputsOf = (input: unknown): Array<{ seed: string; tokens: number }> | undefined => {
  if (typeof input === "string") return input === "" ? undefined : [{ seed: input, tokens: fakeTokenCount(input) }]
  if (!Array.isArray(input) || input.length === 0 || input.length > 2048) return undefined
  if (isTokenArray(input)) return [{ seed: input.join(","), tokens: input.length }]
  if (input.every((item) => typeof item === "string" && item !== "")) {
    return input.map((text: string) => ({ seed: text, tokens: fakeTokenCount(text) }))
  }
  if (input.every(isTokenArray))
    return input.map((tokens: Array<number>) => ({ seed: tokens.join(","), tokens: tokens.length }))
  return undefined
}

// biome-ignore lint: request bodies are checked field by field
const check = (body: any): Answer | undefined => {
  if (typeof body?.model !== "string" || body.model === "") return invalid("you must provide a model parameter")
  const unknown = Object.keys(body).find((field) => !fields.has(field))
  if (unknown !== undefined) return invalid(`Unrecognized request argument supplied: ${unknown}`)
  const size = embeddingSizes[body.model]
  if (size === undefined) {
    return invalid(
      `The model \`${body.model}\` does not exist or you do not have access to it.`,
      null,
      "model_not_found",
      404
    )
  }
  if (inputsOf(body.input) === undefined) return invalidInput()
  if (body.encoding_format != null && body.encoding_format !== "float" && body.encoding_format !== "base64") {
    return invalid(
      `Invalid value for 'encoding_format': '${body.encoding_format}'. Supported values are: 'float' and 'base64'.`,
      "encoding_format"
    )
  }
  if (body.dimensions != null) {
    if (!body.model.startsWith("text-embedding-3")) {
      return invalid("This model does not support specifying dimensions.", "dimensions")
    }
    if (!Number.isInteger(body.dimensions) || body.dimensions < 1 || body.dimensions > size) {
      return invalid(
        `Invalid value for 'dimensions' = ${body.dimensions}. Must be between 1 and ${size}.`,
        "dimensions"
      )
    }
  }
  if (body.user != null && typeof body.user !== "string") return invalid("user: expected a string", "user")
  return undefined
}

const answer = (request: ReceivedRequest, reply: Reply): Answer => {
  const { body } = request
  const inputs = inputsOf(body.input)!
  const dimensions = body.dimensions ?? embeddingSizes[body.model]!
  const counted = inputs.reduce((sum, input) => sum + input.tokens, 0)
  const promptTokens = reply.usage?.input ?? counted
  return {
    status: 200,
    body: {
      object: "list",
      data: inputs.map((input, index) => {
        const vector = fakeVector(`${body.model}:${input.seed}`, dimensions)
        return { object: "embedding", index, embedding: body.encoding_format === "base64" ? toBase64(vector) : vector }
      }),
      model: body.model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens }
    }
  }
}

// biome-ignore lint: request bodies are checked field by field
export const embeddingsCall = (body: any): Answer | ChatCall => check(body) ?? { stream: false, answer }
