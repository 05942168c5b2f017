/**
 * A fake OpenAI Chat Completions and embeddings API (base URL `<url>/v1`), strict where the
 * real one is (`openaiRules.ts`, `openaiEmbeddings.ts`): Bearer auth, message shapes and keys, unknown request fields,
 * parameter ranges, `stream_options` only with `stream`, tool results answering earlier
 * tool calls, what reasoning models refuse, strict structured-output schemas. Streams
 * follow OpenAI's framing: data-only events, the role first, `usage: null` on every chunk
 * and one usage chunk when `include_usage`, `data: [DONE]` last. `logprobs: true` gets
 * each piece's log probability; `received` keeps every request body as sent.
 */
import { type Answer, type ChatCall, type Protocol, type ReceivedRequest, startFake } from "./FakeUpstream.ts"
import { embeddingsCall } from "./openaiEmbeddings.ts"
import { checkOpenAIRequest, invalid } from "./openaiRules.ts"
import { estimateTokens, halves, promptTotal, type Reply, render } from "./script.ts"

// biome-ignore lint: request bodies are read freely
export const lastUserText = (body: any): string => {
  const user = [...(body?.messages ?? [])].reverse().find((message) => message.role === "user")
  const content = user?.content
  return typeof content === "string"
    ? content
    : (content ?? []).map((part: { text?: string }) => part.text ?? "").join("")
}

export const renderFor = (request: ReceivedRequest, reply: Reply) =>
  render(reply, {
    stop:
      request.body.stop == null ? [] : typeof request.body.stop === "string" ? [request.body.stop] : request.body.stop,
    maxTokens: request.body.max_completion_tokens ?? request.body.max_tokens ?? undefined,
    input: estimateTokens(request.body.messages)
  })

/**
 * The log probability of each piece, in OpenAI's shape, when the request asked for them (the
 * numbers are made up; their shape is not).
 */
// biome-ignore lint: request bodies are read freely
export const logprobsOf = (body: any, pieces: ReadonlyArray<string>) => {
  if (body.logprobs !== true) return null
  const entry = (token: string, rank: number) => ({
    token,
    logprob: -0.25 * (rank + 1),
    bytes: [...Buffer.from(token, "utf8")]
  })
  return {
    content: pieces.map((piece) => ({
      ...entry(piece, 0),
      top_logprobs: Array.from({ length: body.top_logprobs ?? 0 }, (_, rank) =>
        entry(rank === 0 ? piece : `alt${rank}`, rank)
      )
    })),
    refusal: null
  }
}

/** OpenAI reports cache reads within the prompt and reasoning within the completion; cache writes are plain input. */
const usageOf = ({ usage }: ReturnType<typeof renderFor>, choices: number) => ({
  prompt_tokens: promptTotal(usage),
  completion_tokens: usage.output * choices,
  total_tokens: promptTotal(usage) + usage.output * choices,
  prompt_tokens_details: { cached_tokens: usage.cacheRead, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: usage.reasoning * choices,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0
  }
})

const snapshot = (model: string) => `${model}-0613`
export const callId = (index: number, call: { id?: string }) => call.id ?? `call_fake${index}`
// biome-ignore lint: request bodies are read freely
const serviceTier = (body: any) => (body.service_tier === "flex" ? "flex" : "default")

export const openaiProtocol = (apiKey: string): Protocol => ({
  name: "openai",
  accept: (request): Answer | ChatCall => {
    if (request.headers.authorization !== `Bearer ${apiKey}`) {
      const shown = (request.headers.authorization ?? "").replace(/^Bearer /, "").slice(0, 6)
      return invalid(`Incorrect API key provided: ${shown}****.`, null, "invalid_api_key", 401)
    }
    if (request.method === "GET" && request.path === "/v1/models") {
      return {
        status: 200,
        body: { object: "list", data: [{ id: "gpt-4", object: "model", created: 1, owned_by: "openai" }] }
      }
    }
    if (request.method === "POST" && request.path === "/v1/embeddings") return embeddingsCall(request.body)
    if (request.method !== "POST" || request.path !== "/v1/chat/completions") {
      return invalid(`Invalid URL (${request.method} ${request.path})`, null, null, 404)
    }
    return checkOpenAIRequest(request.body) ?? { stream: request.body.stream === true }
  },
  answer: (request, reply) => {
    const rendered = renderFor(request, reply)
    const choices = Array.from({ length: request.body.n ?? 1 }, (_, index) => {
      const text = rendered.pieces.join("")
      const toolCalls = rendered.toolCalls.map((call, n) => ({
        id: callId(n, call),
        type: "function",
        function: { name: call.name, arguments: JSON.stringify(call.arguments) }
      }))
      return {
        index,
        message: {
          role: "assistant",
          content: toolCalls.length > 0 && text === "" ? null : text,
          refusal: null,
          annotations: [],
          ...(toolCalls.length > 0 && { tool_calls: toolCalls })
        },
        logprobs: logprobsOf(request.body, rendered.pieces),
        finish_reason: rendered.finish
      }
    })
    return {
      status: 200,
      body: {
        id: "chatcmpl-fake",
        object: "chat.completion",
        created: 1717000000,
        model: snapshot(request.body.model),
        system_fingerprint: "fp_fake",
        service_tier: serviceTier(request.body),
        choices,
        usage: usageOf(rendered, choices.length)
      }
    }
  },
  streamFrames: (request, reply) => {
    const rendered = renderFor(request, reply)
    const includeUsage = request.body.stream_options?.include_usage === true
    const base = {
      id: "chatcmpl-fake",
      object: "chat.completion.chunk",
      created: 1717000000,
      model: snapshot(request.body.model),
      system_fingerprint: "fp_fake",
      service_tier: serviceTier(request.body)
    }
    const frame = (choices: unknown, extra: object = {}) =>
      `data: ${JSON.stringify({ ...base, choices, ...(includeUsage && { usage: null }), obfuscation: "x1", ...extra })}\n\n`
    const frames: Array<string> = []
    for (let index = 0; index < (request.body.n ?? 1); index++) {
      const delta = (value: object, logprobs: unknown = null) =>
        frame([{ index, delta: value, logprobs, finish_reason: null }])
      frames.push(delta({ role: "assistant", content: rendered.toolCalls.length > 0 ? null : "", refusal: null }))
      for (const piece of rendered.pieces) frames.push(delta({ content: piece }, logprobsOf(request.body, [piece])))
      for (const [n, call] of rendered.toolCalls.entries()) {
        const [first, second] = halves(JSON.stringify(call.arguments))
        frames.push(
          delta({
            tool_calls: [
              { index: n, id: callId(n, call), type: "function", function: { name: call.name, arguments: "" } }
            ]
          })
        )
        frames.push(delta({ tool_calls: [{ index: n, function: { arguments: first } }] }))
        frames.push(delta({ tool_calls: [{ index: n, function: { arguments: second } }] }))
      }
      frames.push(frame([{ index, delta: {}, logprobs: null, finish_reason: rendered.finish }]))
    }
    if (includeUsage) frames.push(frame([], { usage: usageOf(rendered, request.body.n ?? 1) }))
    frames.push("data: [DONE]\n\n")
    return frames
  },
  error: (status, message, type) => {
    const kind = status === 429 ? "requests" : status >= 500 ? "server_error" : "invalid_request_error"
    const code =
      type ??
      (status === 401
        ? "invalid_api_key"
        : status === 404
          ? "model_not_found"
          : status === 429
            ? "rate_limit_exceeded"
            : null)
    return {
      status,
      body: { error: { message, type: type === "insufficient_quota" ? type : kind, param: null, code } }
    }
  },
  streamErrorFrame: (message, type) =>
    `data: ${JSON.stringify({ error: { message, type: type ?? "server_error", param: null, code: null } })}\n\n`,
  defaultReply: (request) => ({ text: `Echo: ${lastUserText(request.body)}` })
})

export const startOpenAIFake = (apiKey = "sk-fake-openai") => startFake(openaiProtocol(apiKey))
