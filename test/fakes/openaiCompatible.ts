/**
 * A fake OpenAI-compatible server (base URL `<url>/v1`) that answers as vLLM's OpenAI server
 * does (https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html): it takes fields
 * OpenAI does not know (its own sampling extensions: `top_k`, `min_p`, `repetition_penalty`, …)
 * and `max_tokens` for any model, and answers with `null` for the optional objects OpenAI leaves
 * out, `stop_reason` and other extra fields, `tool_calls: []`, log probability objects, and usage
 * on every stream chunk (continuous usage stats) besides the final usage chunk. `quirks` sets
 * the finish reason it reports (vLLM's own `abort`, say) until `reset`.
 */
import { type Answer, type ChatCall, type FakeUpstream, type Protocol, startFake } from "./FakeUpstream.ts"
import { callId, lastUserText, logprobsOf, renderFor } from "./openai.ts"
import { checkMessages, checkParameters, invalid } from "./openaiRules.ts"
import { halves, promptTotal } from "./script.ts"

export interface Quirks {
  /** Reported instead of the rendered finish reason. */
  finishReason: string | undefined
}

const usageOf = (prompt: number, completion: number) => ({
  prompt_tokens: prompt,
  total_tokens: prompt + completion,
  completion_tokens: completion,
  prompt_tokens_details: null
})

const compatibleProtocol = (apiKey: string, quirks: Quirks): Protocol => ({
  name: "openai-compatible",
  accept: (request): Answer | ChatCall => {
    if (request.headers.authorization !== `Bearer ${apiKey}`) return { status: 401, body: { error: "Unauthorized" } }
    if (request.method !== "POST" || request.path !== "/v1/chat/completions") {
      return invalid(`Invalid URL (${request.method} ${request.path})`, null, null, 404)
    }
    if (typeof request.body?.model !== "string") return invalid("model: field required", "model")
    return (
      checkMessages(request.body.messages, false) ??
      checkParameters(request.body) ?? { stream: request.body.stream === true }
    )
  },
  answer: (request, reply) => {
    const rendered = renderFor(request, reply)
    const choices = Array.from({ length: request.body.n ?? 1 }, (_, index) => ({
      index,
      message: {
        role: "assistant",
        content: rendered.toolCalls.length > 0 ? null : rendered.pieces.join(""),
        refusal: null,
        annotations: null,
        audio: null,
        function_call: null,
        tool_calls: rendered.toolCalls.map((call, n) => ({
          id: callId(n, call),
          type: "function",
          function: { name: call.name, arguments: JSON.stringify(call.arguments) }
        })),
        reasoning_content: null
      },
      logprobs: logprobsOf(request.body, rendered.pieces),
      finish_reason: quirks.finishReason ?? rendered.finish,
      stop_reason: null
    }))
    const prompt = promptTotal(rendered.usage)
    return {
      status: 200,
      body: {
        id: "chatcmpl-vllm",
        object: "chat.completion",
        created: 1764547200,
        model: request.body.model,
        choices,
        service_tier: null,
        system_fingerprint: null,
        usage: usageOf(prompt, rendered.usage.output * choices.length),
        prompt_logprobs: null,
        kv_transfer_params: null
      }
    }
  },
  streamFrames: (request, reply) => {
    const rendered = renderFor(request, reply)
    const prompt = promptTotal(rendered.usage)
    const includeUsage = request.body.stream_options?.include_usage === true
    let written = 0
    const frame = (choices: ReadonlyArray<object>, usage: object) =>
      `data: ${JSON.stringify({ id: "chatcmpl-vllm", object: "chat.completion.chunk", created: 1764547200, model: request.body.model, choices, usage })}\n\n`
    const delta = (index: number, value: object, tokens: number, logprobs: unknown = null) => {
      written += tokens
      return frame([{ index, delta: value, logprobs, finish_reason: null }], usageOf(prompt, written))
    }
    const frames: Array<string> = []
    for (let index = 0; index < (request.body.n ?? 1); index++) {
      frames.push(delta(index, { role: "assistant", content: "" }, 0))
      for (const piece of rendered.pieces) {
        frames.push(delta(index, { content: piece }, 1, logprobsOf(request.body, [piece])))
      }
      for (const [n, call] of rendered.toolCalls.entries()) {
        const [first, second] = halves(JSON.stringify(call.arguments))
        const start = {
          index: n,
          id: callId(n, call),
          type: "function",
          function: { name: call.name, arguments: first }
        }
        frames.push(delta(index, { tool_calls: [start] }, 5))
        frames.push(delta(index, { tool_calls: [{ index: n, function: { arguments: second } }] }, 5))
      }
      const finish = quirks.finishReason ?? rendered.finish
      const choice = { index, delta: { content: "" }, logprobs: null, finish_reason: finish, stop_reason: null }
      frames.push(frame([choice], usageOf(prompt, written)))
    }
    // The final usage is what the whole answer is billed (scripted usage included).
    if (includeUsage) frames.push(frame([], usageOf(prompt, rendered.usage.output * (request.body.n ?? 1))))
    frames.push("data: [DONE]\n\n")
    return frames
  },
  error: (status, message) => ({
    status,
    body: {
      error: { message, type: status >= 500 ? "InternalServerError" : "BadRequestError", param: null, code: status }
    }
  }),
  streamErrorFrame: (message) =>
    `data: ${JSON.stringify({ error: { message, type: "InternalServerError", code: 500 } })}\n\n`,
  defaultReply: (request) => ({ text: `Echo: ${lastUserText(request.body)}` })
})

export interface CompatibleFake extends FakeUpstream {
  readonly quirks: Quirks
}

export const startOpenAICompatibleFake = async (apiKey = "sk-fake-vllm"): Promise<CompatibleFake> => {
  const quirks: Quirks = { finishReason: undefined }
  const fake = await startFake(compatibleProtocol(apiKey, quirks))
  return {
    ...fake,
    quirks,
    reset: () => {
      fake.reset()
      quirks.finishReason = undefined
    }
  }
}
