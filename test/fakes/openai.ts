/**
 * A fake OpenAI Chat Completions API (base URL `<url>/v1`), strict where the real one
 * is: Bearer auth, message shapes, parameter ranges, `stream_options` only with
 * `stream`, tool results answering earlier tool calls. Streams follow OpenAI's framing:
 * data-only events, the role first, `usage: null` on every chunk and one usage chunk
 * when `include_usage`, `data: [DONE]` last.
 */
import { type Answer, type ChatCall, type Protocol, type ReceivedRequest, startFake } from "./FakeUpstream.ts"
import { estimateTokens, halves, promptTotal, type Reply, render } from "./script.ts"

const invalid = (message: string, param: string | null = null, code: string | null = null, status = 400): Answer => ({
  status,
  body: { error: { message, type: "invalid_request_error", param, code } }
})

const roles = new Set(["system", "developer", "user", "assistant", "tool"])
const partTypes = new Set(["text", "image_url", "input_audio", "file"])

// biome-ignore lint: request bodies are checked field by field
const checkMessages = (messages: any): Answer | undefined => {
  if (!Array.isArray(messages) || messages.length === 0)
    return invalid("messages: must be a non-empty array", "messages")
  const callIds = new Set<string>()
  for (const [index, message] of messages.entries()) {
    const at = `messages[${index}]`
    if (!roles.has(message?.role)) return invalid(`${at}.role: invalid value`, `${at}.role`)
    const content = message.content
    if (Array.isArray(content)) {
      if (content.some((part) => !partTypes.has(part?.type)))
        return invalid(`${at}.content: invalid part`, `${at}.content`)
    } else if (
      typeof content !== "string" &&
      !(content == null && message.role === "assistant" && message.tool_calls)
    ) {
      return invalid(`${at}.content: expected a string or an array of parts`, `${at}.content`)
    }
    for (const call of message.tool_calls ?? []) {
      if (call?.type !== "function" || typeof call.id !== "string" || typeof call.function?.arguments !== "string") {
        return invalid(`${at}.tool_calls: each call needs id, type "function" and string arguments`, `${at}.tool_calls`)
      }
      callIds.add(call.id)
    }
    if (message.role === "tool" && !callIds.has(message.tool_call_id)) {
      return invalid(
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
        `${at}.role`
      )
    }
  }
  return undefined
}

// biome-ignore lint: request bodies are checked field by field
const checkRequest = (body: any): Answer | undefined => {
  if (typeof body?.model !== "string" || body.model === "") return invalid("you must provide a model parameter")
  const problem = checkMessages(body.messages)
  if (problem) return problem
  const range = (name: string, min: number, max: number) =>
    body[name] != null && !(typeof body[name] === "number" && body[name] >= min && body[name] <= max)
  if (range("temperature", 0, 2)) return invalid("temperature: must be between 0 and 2", "temperature")
  if (range("top_p", 0, 1)) return invalid("top_p: must be between 0 and 1", "top_p")
  if (range("n", 1, 128) || (body.n != null && !Number.isInteger(body.n))) return invalid("n: invalid", "n")
  if (body.stream_options != null && body.stream !== true) {
    return invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options")
  }
  if (Array.isArray(body.stop) && body.stop.length > 4) return invalid("stop: at most 4 sequences", "stop")
  if (body.tool_choice != null && !(Array.isArray(body.tools) && body.tools.length > 0)) {
    return invalid(
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      "tool_choice"
    )
  }
  return undefined
}

// biome-ignore lint: request bodies are read freely
const lastUserText = (body: any): string => {
  const user = [...(body?.messages ?? [])].reverse().find((message) => message.role === "user")
  const content = user?.content
  return typeof content === "string"
    ? content
    : (content ?? []).map((part: { text?: string }) => part.text ?? "").join("")
}

const renderFor = (request: ReceivedRequest, reply: Reply) =>
  render(reply, {
    stop:
      request.body.stop == null ? [] : typeof request.body.stop === "string" ? [request.body.stop] : request.body.stop,
    maxTokens: request.body.max_completion_tokens ?? request.body.max_tokens ?? undefined,
    input: estimateTokens(request.body.messages)
  })

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
const callId = (index: number, call: { id?: string }) => call.id ?? `call_fake${index}`

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
    if (request.method !== "POST" || request.path !== "/v1/chat/completions") {
      return invalid(`Invalid URL (${request.method} ${request.path})`, null, null, 404)
    }
    return checkRequest(request.body) ?? { stream: request.body.stream === true }
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
        logprobs: null,
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
        service_tier: "default",
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
      system_fingerprint: "fp_fake"
    }
    const frame = (choices: unknown, extra: object = {}) =>
      `data: ${JSON.stringify({ ...base, choices, ...(includeUsage && { usage: null }), obfuscation: "x1", ...extra })}\n\n`
    const frames: Array<string> = []
    for (let index = 0; index < (request.body.n ?? 1); index++) {
      const delta = (value: object) => frame([{ index, delta: value, logprobs: null, finish_reason: null }])
      frames.push(delta({ role: "assistant", content: rendered.toolCalls.length > 0 ? null : "", refusal: null }))
      for (const piece of rendered.pieces) frames.push(delta({ content: piece }))
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
