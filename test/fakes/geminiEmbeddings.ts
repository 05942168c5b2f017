/**
 * The Gemini fake's `models/{model}:batchEmbedContents` (https://ai.google.dev/api/embeddings), strict
 * where the real API is: `requests` only, each naming the model of the URL, with text parts and known
 * fields (`model`, `content`, `taskType`, `title`, `outputDimensionality`), at most 100 requests per batch.
 * Vectors are `fakeVector`s, normalised at the full 3072 dimensions only, as Gemini's are; no usage is
 * reported (the real API reports none).
 */
import { fakeVector } from "./embeddings.ts"
import type { Answer, ChatCall, ReceivedRequest } from "./FakeUpstream.ts"

const requestFields = new Set(["model", "content", "taskType", "title", "outputDimensionality"])
const taskTypes = new Set([
  "TASK_TYPE_UNSPECIFIED",
  "RETRIEVAL_QUERY",
  "RETRIEVAL_DOCUMENT",
  "SEMANTIC_SIMILARITY",
  "CLASSIFICATION",
  "CLUSTERING",
  "QUESTION_ANSWERING",
  "FACT_VERIFICATION",
  "CODE_RETRIEVAL_QUERY"
])
const fullSize = 3072

const textOf = (content: { parts?: Array<{ text?: unknown }> }): string | undefined => {
  const parts = content?.parts
  if (!Array.isArray(parts) || parts.length === 0) return undefined
  if (!parts.every((part) => typeof part?.text === "string" && part.text !== "")) return undefined
  return parts.map((part) => part.text).join("")
}

// biome-ignore lint: request bodies are checked field by field
const check = (body: any, model: string, invalid: (message: string) => Answer): Answer | undefined => {
  const unknown = Object.keys(body ?? {}).find((field) => field !== "requests" && field !== "model")
  if (unknown !== undefined)
    return invalid(`Invalid JSON payload received. Unknown name "${unknown}": Cannot find field.`)
  if (!model.includes("embedding"))
    return invalid(`models/${model} is not found for API version v1beta, or is not supported for batchEmbedContents.`)
  const requests = body?.requests
  if (!Array.isArray(requests) || requests.length === 0)
    return invalid("* BatchEmbedContentsRequest.requests: requests is required")
  if (requests.length > 100)
    return invalid("* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch")
  for (const [index, request] of requests.entries()) {
    const field = Object.keys(request ?? {}).find((key) => !requestFields.has(key))
    if (field !== undefined) {
      return invalid(
        `Invalid JSON payload received. Unknown name "${field}" at 'requests[${index}]': Cannot find field.`
      )
    }
    if (request.model !== `models/${model}`) {
      return invalid(
        `* BatchEmbedContentsRequest.requests[${index}].model: The model in each request must be the model of the batch (models/${model}).`
      )
    }
    if (textOf(request.content) === undefined) {
      return invalid(`* BatchEmbedContentsRequest.requests[${index}].content: content must have non-empty text parts`)
    }
    const size = request.outputDimensionality
    if (size !== undefined && !(Number.isInteger(size) && size >= 1 && size <= fullSize)) {
      return invalid(
        `* BatchEmbedContentsRequest.requests[${index}].output_dimensionality: must be in [1, ${fullSize}]`
      )
    }
    if (request.taskType !== undefined && !taskTypes.has(request.taskType)) {
      return invalid(`Invalid value at 'requests[${index}].task_type'`)
    }
  }
  return undefined
}

const answer = (request: ReceivedRequest): Answer => ({
  status: 200,
  body: {
    embeddings: request.body.requests.map(
      (item: { content: { parts: Array<{ text: string }> }; outputDimensionality?: number }) => {
        const size = item.outputDimensionality ?? fullSize
        return { values: fakeVector(`${request.body.model}:${textOf(item.content)}`, size, size === fullSize) }
      }
    )
  }
})

export const batchEmbedCall = (request: ReceivedRequest, invalid: (message: string) => Answer): Answer | ChatCall =>
  check(request.body, request.body.model, invalid) ?? { stream: false, answer }
