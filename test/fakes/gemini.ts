/**
 * A fake Gemini API (`v1beta` generateContent), strict where the real one is: the key in
 * `x-goog-api-key` or `?key=` (a wrong key is a 400 API_KEY_INVALID), camelCase and
 * snake_case fields alike, roles only `user`/`model`, alternating and opening with
 * `user`, no empty text parts, function responses naming a call of the previous turn,
 * parameter schemas without `additionalProperties`, and what each model family refuses
 * (`geminiModels.ts`). Thinking models return thought summaries when asked
 * (`includeThoughts`); Gemini 3 signs its function calls and wants the signatures back.
 * `alt=sse` streams are data-only events separated by CRLF pairs with no `[DONE]`;
 * without it, a JSON array. `batchEmbedContents` is `geminiEmbeddings.ts`.
 */
import { type Answer, type ChatCall, type Protocol, type ReceivedRequest, startFake } from "./FakeUpstream.ts"
import { batchEmbedCall } from "./geminiEmbeddings.ts"
import { checkForModel, profileOf } from "./geminiModels.ts"
import { estimateTokens, promptTotal, type Rendered, type Reply, render } from "./script.ts"

const statuses: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED"
}

const failure = (code: number, message: string, details?: ReadonlyArray<object>): Answer => ({
  status: code,
  body: { error: { code, message, status: statuses[code] ?? "UNKNOWN", ...(details && { details }) } }
})
const invalid = (message: string) => failure(400, message)

const camel = (key: string) => key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())
/** Proto3 JSON accepts both spellings; user data (arguments, responses, schemas) is left alone. */
const opaque = new Set([
  "args",
  "response",
  "parameters",
  "responseSchema",
  "parametersJsonSchema",
  "responseJsonSchema"
])
const camelize = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(camelize)
  if (typeof value !== "object" || value === null) return value
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [camel(key), opaque.has(camel(key)) ? inner : camelize(inner)])
  )
}

const dataFields = ["text", "inlineData", "fileData", "functionCall", "functionResponse"]
const forbiddenSchemaKeys = ["additionalProperties", "$schema", "strict"]
const hasForbiddenKey = (schema: unknown): string | undefined => {
  if (typeof schema !== "object" || schema === null) return undefined
  for (const [key, value] of Object.entries(schema)) {
    if (forbiddenSchemaKeys.includes(key)) return key
    const inner = hasForbiddenKey(value)
    if (inner) return inner
  }
  return undefined
}

// biome-ignore lint: request bodies are checked field by field
const checkRequest = (body: any, issued: ReadonlySet<string>): Answer | undefined => {
  if (!Array.isArray(body?.contents) || body.contents.length === 0)
    return invalid("* GenerateContentRequest.contents: contents is not specified")
  let previous: string | undefined
  let calls = new Set<string>()
  for (const [index, content] of body.contents.entries()) {
    const parts = content?.parts
    if (!Array.isArray(parts) || parts.length === 0)
      return invalid(`* GenerateContentRequest.contents[${index}].parts: contents.parts must not be empty.`)
    const responses = parts.every((part: object) => "functionResponse" in part)
    const role = content.role ?? (responses ? "user" : undefined)
    if (role !== "user" && role !== "model" && !(role === "function" && responses)) {
      return invalid(`Please use a valid role: user, model.`)
    }
    const turn = role === "model" ? "model" : "user"
    if (index === 0 && turn !== "user") return invalid("First content should be with role 'user', got model")
    if (turn === previous) return invalid("Please ensure that multiturn requests alternate between user and model.")
    for (const part of parts) {
      const fields = dataFields.filter((field) => part?.[field] !== undefined)
      if (fields.length !== 1)
        return invalid(`* contents[${index}].parts: each part must hold exactly one kind of data`)
      if (part.text !== undefined && (typeof part.text !== "string" || part.text === "")) {
        return invalid(
          "Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again."
        )
      }
      if (part.functionCall && (typeof part.functionCall.args !== "object" || Array.isArray(part.functionCall.args))) {
        return invalid("* functionCall.args: must be an object")
      }
      if (part.functionResponse) {
        if (typeof part.functionResponse.response !== "object" || Array.isArray(part.functionResponse.response)) {
          return invalid("* functionResponse.response: must be an object")
        }
        if (!calls.has(part.functionResponse.name)) {
          return invalid("Please ensure that function response turn comes immediately after a function call turn.")
        }
      }
    }
    calls = new Set(
      parts.flatMap((part: { functionCall?: { name: string } }) =>
        part.functionCall === undefined ? [] : [part.functionCall.name]
      )
    )
    previous = turn
  }
  const config = body.generationConfig ?? {}
  if (config.temperature != null && !(config.temperature >= 0 && config.temperature <= 2))
    return invalid("temperature: must be in [0.0, 2.0]")
  if (config.topP != null && !(config.topP >= 0 && config.topP <= 1)) return invalid("top_p: must be in [0.0, 1.0]")
  if (config.candidateCount != null && !(config.candidateCount >= 1 && config.candidateCount <= 8))
    return invalid("candidate_count: must be in [1, 8]")
  if ((config.stopSequences ?? []).length > 5) return invalid("stop_sequences: at most 5")
  for (const tool of body.tools ?? []) {
    for (const declaration of tool.functionDeclarations ?? []) {
      const key = hasForbiddenKey(declaration.parameters)
      if (key)
        return invalid(
          `Invalid JSON payload received. Unknown name "${key}" at 'tools[0].function_declarations[0].parameters': Cannot find field.`
        )
    }
  }
  const mode = body.toolConfig?.functionCallingConfig?.mode
  if (mode !== undefined && !["AUTO", "ANY", "NONE", "VALIDATED"].includes(mode))
    return invalid(`Invalid value at 'tool_config.function_calling_config.mode'`)
  const refusal = checkForModel(body, issued)
  return refusal === undefined ? undefined : invalid(refusal.message)
}

// biome-ignore lint: request bodies are read freely
const lastUserText = (body: any): string => {
  const user = [...(body.contents ?? [])].reverse().find((content) => content.role !== "model")
  return (user?.parts ?? []).map((part: { text?: string }) => part.text ?? "").join("")
}

const finishReasons = { stop: "STOP", length: "MAX_TOKENS", tool_calls: "STOP", content_filter: "SAFETY" } as const

const renderFor = (request: ReceivedRequest, reply: Reply) =>
  render(reply, {
    stop: request.body.generationConfig?.stopSequences ?? [],
    maxTokens: request.body.generationConfig?.maxOutputTokens,
    input: estimateTokens([request.body.systemInstruction, request.body.contents])
  })

/**
 * Gemini's running totals: the prompt includes the cached content, the candidates leave
 * out the thoughts, and the total sums them (https://ai.google.dev/api/generate-content#UsageMetadata).
 * Zero counts are left out, as proto3 JSON does.
 */
const usageOf = ({ usage }: ReturnType<typeof renderFor>, visible: number, candidates: number) => {
  const thoughts = usage.reasoning * candidates
  return {
    promptTokenCount: promptTotal(usage),
    candidatesTokenCount: visible * candidates,
    totalTokenCount: promptTotal(usage) + visible * candidates + thoughts,
    ...(usage.cacheRead !== 0 && { cachedContentTokenCount: usage.cacheRead }),
    ...(thoughts !== 0 && { thoughtsTokenCount: thoughts })
  }
}

const candidateCount = (request: ReceivedRequest): number => request.body.generationConfig?.candidateCount ?? 1

// biome-ignore lint: request bodies are read freely
const wantsThoughts = (body: any): boolean => {
  const thinking = body.generationConfig?.thinkingConfig
  return thinking?.includeThoughts === true && thinking.thinkingBudget !== 0
}

/** A thought summary, as thinking models return one when `includeThoughts` asks. */
// biome-ignore lint: request bodies are read freely
const thoughtParts = (body: any): Array<object> =>
  wantsThoughts(body) ? [{ text: `Thinking about: ${lastUserText(body)}`, thought: true }] : []

/** The function-call parts of an answer; on Gemini 3 the first carries a new thought signature. */
const callParts = (request: ReceivedRequest, rendered: Rendered, issue: () => string): Array<object> =>
  rendered.toolCalls.map((call, index) => ({
    functionCall: { name: call.name, args: call.arguments },
    ...(index === 0 && profileOf(request.body.model).signatures && { thoughtSignature: issue() })
  }))

/** One response per streamed event: text increments, running usage totals, the finish reason on the last. */
const responses = (request: ReceivedRequest, rendered: Rendered, calls: Array<object>): Array<object> => {
  const steps: Array<Array<object>> = rendered.pieces.map((text) => [{ text }])
  if (calls.length > 0) steps.push(calls)
  if (steps.length === 0) steps.push([])
  const thoughts = thoughtParts(request.body)
  if (thoughts.length > 0) steps.unshift(thoughts)
  // Thinking comes first, so every event counts all of it; the visible output runs up to the rest.
  const visible = rendered.usage.output - rendered.usage.reasoning
  let produced = 0
  return steps.map((parts, step) => {
    const last = step === steps.length - 1
    produced = last ? visible : Math.min(produced + 1, visible)
    const candidates = Array.from({ length: candidateCount(request) }, (_, index) => ({
      content: { role: "model", parts },
      index,
      ...(last && { finishReason: finishReasons[rendered.finish] })
    }))
    return {
      candidates,
      usageMetadata: usageOf(rendered, produced, candidates.length),
      modelVersion: `${request.body.model}-002`,
      responseId: "resp_fake"
    }
  })
}

const routeOf = (request: ReceivedRequest) =>
  /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/.exec(request.path)

export const geminiProtocol = (apiKey: string): Protocol => {
  // Signatures this fake gave out: a signature it never issued is refused as corrupted.
  const issued = new Set<string>()
  const issue = () => {
    // Bytes that make base64's `+` and `/` appear, as real signatures do.
    const signature = Buffer.from(`\xfb\xff\xfe signature ${issued.size}`, "latin1").toString("base64")
    issued.add(signature)
    return signature
  }
  const streamed = (request: ReceivedRequest, reply: Reply) => {
    const rendered = renderFor(request, reply)
    return responses(request, rendered, callParts(request, rendered, issue))
  }
  return {
    name: "gemini",
    normalize: (request) => ({
      ...request,
      body: { ...(camelize(request.body) as object), model: routeOf(request)?.[1] ?? "unknown" }
    }),
    accept: (request): Answer | ChatCall => {
      const key = request.headers["x-goog-api-key"] ?? request.query.get("key")
      if (key === undefined || key === null) {
        return failure(
          403,
          "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."
        )
      }
      if (key !== apiKey) {
        return failure(400, "API key not valid. Please pass a valid API key.", [
          { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com" }
        ])
      }
      const route = routeOf(request)
      if (request.method !== "POST" || route === null) return failure(404, `Not found: ${request.path}`)
      if (route[2] === "batchEmbedContents") return batchEmbedCall(request, invalid)
      return checkRequest(request.body, issued) ?? { stream: route[2] === "streamGenerateContent" }
    },
    answer: (request, reply) => {
      const rendered = renderFor(request, reply)
      const calls = callParts(request, rendered, issue)
      const all = responses(request, rendered, calls)
      const last = all.at(-1) as { usageMetadata: object; candidates: Array<{ index: number; finishReason: string }> }
      const text = rendered.pieces.join("")
      const parts = [...thoughtParts(request.body), ...(text === "" ? [] : [{ text }]), ...calls]
      const candidates = last.candidates.map((candidate) => ({ ...candidate, content: { role: "model", parts } }))
      return { status: 200, body: { ...last, candidates } }
    },
    streamFrames: (request, reply) =>
      streamed(request, reply).map((response) => `data: ${JSON.stringify(response)}\r\n\r\n`),
    streamBody: (request, reply) =>
      request.query.get("alt") === "sse"
        ? undefined
        : `[${streamed(request, reply)
            .map((r) => JSON.stringify(r))
            .join(",\r\n")}]`,
    error: (status, message) => failure(status, message),
    streamErrorFrame: (message) =>
      `data: ${JSON.stringify({ error: { code: 500, message, status: "INTERNAL" } })}\r\n\r\n`,
    defaultReply: (request) => ({ text: `Echo: ${lastUserText(request.body)}` })
  }
}

export const startGeminiFake = (apiKey = "gemini-fake-key") => startFake(geminiProtocol(apiKey))
