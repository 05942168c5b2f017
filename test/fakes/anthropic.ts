/**
 * A fake Anthropic Messages API, strict where the real one is (2023-06-01 rules): either
 * auth header style, `anthropic-version` required, `max_tokens` required, roles only
 * `user`/`assistant` with the first `user`, no empty text blocks, temperature 0..1, no
 * whitespace-only stop sequences, tool results answering the previous turn's tool uses,
 * no trailing whitespace in a final assistant turn, and the rules of current models
 * (`anthropicRules.ts`). Streams send `event:` + `data:` pairs with a `ping`; overload is 529.
 *
 * With thinking on, answers open with a thinking block signed by the fake (a redacted one when the
 * user's text holds Anthropic's test trigger); a forced tool choice with no scripted tool call
 * answers with that tool, its input the scripted text read as JSON.
 */
import { currentModelProblem, redactedData, redactedThinkingTrigger, signatureOf, thinksOn } from "./anthropicRules.ts"
import { type Answer, type ChatCall, type Protocol, type ReceivedRequest, startFake } from "./FakeUpstream.ts"
import { estimateTokens, halves, pieces, type Reply, render, type ScriptedToolCall } from "./script.ts"

const errorTypes: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error"
}

const failure = (status: number, message: string, type?: string): Answer => ({
  status,
  body: { type: "error", error: { type: type ?? errorTypes[status] ?? "api_error", message }, request_id: "req_fake" }
})
const invalid = (message: string) => failure(400, message)

// biome-ignore lint: request bodies are checked field by field
const checkBlocks = (role: string, content: any, at: string, previousToolUses: Set<string>): Answer | undefined => {
  if (typeof content === "string")
    return content === "" ? invalid(`${at}: text content blocks must be non-empty`) : undefined
  if (!Array.isArray(content) || content.length === 0) return invalid(`${at}.content: expected a non-empty list`)
  for (const [index, block] of content.entries()) {
    const where = `${at}.content.${index}`
    switch (block?.type) {
      case "text":
        if (typeof block.text !== "string" || block.text === "")
          return invalid(`${where}: text content blocks must be non-empty`)
        break
      case "image": {
        const source = block.source
        const ok =
          (source?.type === "base64" && typeof source.media_type === "string" && typeof source.data === "string") ||
          (source?.type === "url" && typeof source.url === "string")
        if (!ok) return invalid(`${where}.source: invalid image source`)
        break
      }
      case "document": {
        const source = block.source
        if (role !== "user") return invalid(`${where}: document blocks are only allowed in user messages`)
        if (source?.type !== "base64" || source.media_type !== "application/pdf" || typeof source.data !== "string") {
          return invalid(`${where}.source: expected a base64 application/pdf source`)
        }
        break
      }
      case "thinking":
      case "redacted_thinking":
        if (role !== "assistant")
          return invalid(`${where}: ${block.type} blocks are only allowed in assistant messages`)
        if (block.type === "thinking" && typeof block.signature !== "string") {
          return invalid(`${where}.signature: Field required`)
        }
        break
      case "tool_use":
        if (role !== "assistant") return invalid(`${where}: tool_use blocks are only allowed in assistant messages`)
        if (typeof block.input !== "object" || block.input === null || Array.isArray(block.input)) {
          return invalid(`${where}.input: Input should be a valid dictionary`)
        }
        break
      case "tool_result":
        if (role !== "user") return invalid(`${where}: tool_result blocks are only allowed in user messages`)
        if (!previousToolUses.has(block.tool_use_id)) {
          return invalid(
            `${where}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${block.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`
          )
        }
        break
      default:
        return invalid(
          `${where}.type: Input tag '${block?.type}' found using 'type' does not match any of the expected tags`
        )
    }
  }
  return undefined
}

// biome-ignore lint: request bodies are checked field by field
const checkRequest = (body: any): Answer | undefined => {
  if (typeof body?.model !== "string") return invalid("model: Field required")
  if (body.max_tokens === undefined) return invalid("max_tokens: Field required")
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1)
    return invalid("max_tokens: must be a positive integer")
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return invalid("messages: at least one message is required")
  if (body.temperature != null && !(body.temperature >= 0 && body.temperature <= 1)) {
    return invalid("temperature: range: 0..1")
  }
  if (body.top_p != null && !(body.top_p >= 0 && body.top_p <= 1)) return invalid("top_p: range: 0..1")
  if ((body.stop_sequences ?? []).some((stop: unknown) => typeof stop !== "string" || stop.trim() === "")) {
    return invalid("stop_sequences: each stop sequence must contain non-whitespace")
  }
  if (body.system !== undefined && typeof body.system !== "string" && !Array.isArray(body.system)) {
    return invalid("system: Input should be a valid string or list")
  }
  for (const tool of body.tools ?? []) {
    if (typeof tool?.name !== "string" || tool.input_schema?.type !== "object") return invalid("tools: invalid tool")
  }
  let toolUses = new Set<string>()
  for (const [index, message] of body.messages.entries()) {
    const at = `messages.${index}`
    if (message?.role === "system") {
      return invalid(
        `${at}.role: Unexpected role "system". The Messages API accepts a top-level \`system\` parameter, not "system" as an input message role.`
      )
    }
    if (message?.role !== "user" && message?.role !== "assistant")
      return invalid(`${at}.role: Input should be 'user' or 'assistant'`)
    if (index === 0 && message.role !== "user") return invalid('messages: first message must use the "user" role')
    const problem = checkBlocks(message.role, message.content, at, toolUses)
    if (problem) return problem
    toolUses = new Set(
      Array.isArray(message.content)
        ? message.content
            .filter((block: { type: string }) => block.type === "tool_use")
            .map((block: { id: string }) => block.id)
        : []
    )
  }
  const last = body.messages.at(-1)
  const lastText = typeof last.content === "string" ? last.content : last.content.at(-1)?.text
  if (last.role === "assistant" && typeof lastText === "string" && lastText !== lastText.trimEnd()) {
    return invalid("messages: final assistant content cannot end with trailing whitespace")
  }
  const problem = currentModelProblem(body)
  return problem === undefined ? undefined : invalid(problem)
}

// biome-ignore lint: request bodies are read freely
const lastUserText = (body: any): string => {
  const user = [...body.messages].reverse().find((message) => message.role === "user")
  const content = user?.content
  return typeof content === "string"
    ? content
    : (content ?? []).map((block: { text?: string }) => block.text ?? "").join("")
}

const stopReasons = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  content_filter: "refusal"
} as const

/** A forced tool choice always yields a call of that tool (for `any`, the first tool). */
const forcedReply = (request: ReceivedRequest, reply: Reply): Reply => {
  const choice = request.body.tool_choice
  if ((choice?.type !== "tool" && choice?.type !== "any") || (reply.toolCalls ?? []).length > 0) return reply
  const name: string = choice.type === "tool" ? choice.name : request.body.tools[0].name
  let input: ScriptedToolCall["arguments"] = {}
  try {
    const parsed: unknown = JSON.parse(reply.text ?? "{}")
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) input = parsed as typeof input
  } catch {
    // not JSON: the tool is called without input
  }
  return { ...reply, text: undefined, toolCalls: [{ name, arguments: input }] }
}

type ThinkingContent =
  { type: "thinking"; thinking: string; signature: string } | { type: "redacted_thinking"; data: string }

/** The thinking block an answer opens with, when the model thinks on this request. */
const thinkingOf = (request: ReceivedRequest): ThinkingContent | undefined => {
  const body = request.body
  if (!thinksOn(body)) return undefined
  const asked = lastUserText(body)
  if (asked.includes(redactedThinkingTrigger)) return { type: "redacted_thinking", data: redactedData(body.model) }
  const thinking = body.thinking?.display === "omitted" ? "" : `Thinking about: ${asked || "the tool results"}`
  return { type: "thinking", thinking, signature: signatureOf(thinking) }
}

const renderFor = (request: ReceivedRequest, reply: Reply) => {
  const rendered = render(forcedReply(request, reply), {
    stop: request.body.stop_sequences ?? [],
    maxTokens: request.body.max_tokens,
    input: estimateTokens([request.body.system, request.body.messages])
  })
  const thinking = thinkingOf(request)
  const thought = thinking?.type === "thinking" ? pieces(thinking.thinking).length : 0
  const output = reply.usage === undefined ? rendered.usage.output + thought : rendered.usage.output
  return { ...rendered, thinking, usage: { ...rendered.usage, output } }
}

const messageOf = (request: ReceivedRequest, rendered: ReturnType<typeof renderFor>) => ({
  id: "msg_fake",
  type: "message",
  role: "assistant",
  model: request.body.model,
  stop_reason: rendered.stopSequence !== undefined ? "stop_sequence" : stopReasons[rendered.finish],
  stop_sequence: rendered.stopSequence ?? null,
  usage: {
    input_tokens: rendered.usage.input,
    output_tokens: rendered.usage.output,
    cache_creation_input_tokens: rendered.usage.cacheWrite,
    cache_read_input_tokens: rendered.usage.cacheRead
  }
})

const toolId = (index: number, call: { id?: string }) => call.id ?? `toolu_fake${index}`

const event = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`

export const anthropicProtocol = (apiKey: string): Protocol => ({
  name: "anthropic",
  accept: (request): Answer | ChatCall => {
    const headers = request.headers
    if (headers["x-api-key"] !== apiKey && headers.authorization !== `Bearer ${apiKey}`) {
      return failure(401, "invalid x-api-key")
    }
    if (typeof headers["anthropic-version"] !== "string") return invalid("anthropic-version: header is required")
    if (request.method !== "POST" || request.path !== "/v1/messages") return failure(404, `Not found: ${request.path}`)
    return checkRequest(request.body) ?? { stream: request.body.stream === true }
  },
  answer: (request, reply) => {
    const rendered = renderFor(request, reply)
    const text = rendered.pieces.join("")
    const content = [
      ...(rendered.thinking === undefined ? [] : [rendered.thinking]),
      ...(text === "" ? [] : [{ type: "text", text }]),
      ...rendered.toolCalls.map((call, n) => ({
        type: "tool_use",
        id: toolId(n, call),
        name: call.name,
        input: call.arguments
      }))
    ]
    return { status: 200, body: { ...messageOf(request, rendered), content } }
  },
  streamFrames: (request, reply) => {
    const rendered = renderFor(request, reply)
    const { stop_reason, stop_sequence, usage, ...message } = messageOf(request, rendered)
    const frames = [
      event("message_start", {
        message: {
          ...message,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...usage, output_tokens: 1 }
        }
      })
    ]
    let block = 0
    const thinking = rendered.thinking
    if (thinking?.type === "redacted_thinking") {
      frames.push(event("content_block_start", { index: block, content_block: thinking }))
      frames.push(event("content_block_stop", { index: block++ }))
    } else if (thinking !== undefined) {
      frames.push(event("content_block_start", { index: block, content_block: { type: "thinking", thinking: "" } }))
      for (const piece of pieces(thinking.thinking)) {
        frames.push(event("content_block_delta", { index: block, delta: { type: "thinking_delta", thinking: piece } }))
      }
      const signature = { type: "signature_delta", signature: thinking.signature }
      frames.push(event("content_block_delta", { index: block, delta: signature }))
      frames.push(event("content_block_stop", { index: block++ }))
    }
    if (rendered.pieces.length > 0) {
      frames.push(event("content_block_start", { index: block, content_block: { type: "text", text: "" } }))
      frames.push(event("ping", {}))
      for (const text of rendered.pieces)
        frames.push(event("content_block_delta", { index: block, delta: { type: "text_delta", text } }))
      frames.push(event("content_block_stop", { index: block++ }))
    }
    for (const [n, call] of rendered.toolCalls.entries()) {
      const content_block = { type: "tool_use", id: toolId(n, call), name: call.name, input: {} }
      frames.push(event("content_block_start", { index: block, content_block }))
      // A tool called without arguments streams one empty piece and nothing else.
      const json = JSON.stringify(call.arguments)
      for (const partial_json of ["", ...(json === "{}" ? [] : halves(json))]) {
        frames.push(event("content_block_delta", { index: block, delta: { type: "input_json_delta", partial_json } }))
      }
      frames.push(event("content_block_stop", { index: block++ }))
    }
    // Cumulative, and repeating the input counts of message_start, as the API now sends it.
    frames.push(event("message_delta", { delta: { stop_reason, stop_sequence }, usage }))
    frames.push(event("message_stop", {}))
    return frames
  },
  error: (status, message, type) => failure(status, message, type),
  streamErrorFrame: (message, type) => event("error", { error: { type: type ?? "overloaded_error", message } }),
  defaultReply: (request) => ({ text: `Echo: ${lastUserText(request.body)}` })
})

export const startAnthropicFake = (apiKey = "sk-ant-fake") => startFake(anthropicProtocol(apiKey))
