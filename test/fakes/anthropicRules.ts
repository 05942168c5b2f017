/**
 * What the real Messages API refuses on current Claude models, by model generation, after Anthropic's
 * docs (thinking-troubleshooting, extended-thinking, effort, structured-outputs) and the error messages
 * the API returns:
 * - Claude 4.5 and later: `temperature` together with `top_p`;
 * - thinking (a budget on ≤ 4.6, adaptive on ≥ 4.6, on by default from 5): sampling other than the
 *   defaults, forced tool use, a budget under 1,024 or not below `max_tokens`, a tool-use turn that does
 *   not open with its thinking block, thinking blocks whose signature does not match;
 * - without thinking: thinking blocks in the final assistant turn;
 * - Claude 4.6 and later: a final assistant turn (prefill); 4.7 and later: budgets, and sampling other
 *   than the defaults.
 */
import { createHash } from "node:crypto"

/** A model's generation: claude-3-haiku-… is 3, claude-opus-4-5-… 4.5, claude-opus-5 5. */
export const generationOf = (model: string): number => {
  const current = /^claude-(?:opus|sonnet|haiku|fable|mythos)-(\d+)(?:-(\d))?(?:-\d{8})?$/.exec(model)
  const legacy = /^claude-(\d)(?:-(\d))?-/.exec(model)
  const match = current ?? legacy
  return match === null ? 3 : Number(match[1]) + (match[2] === undefined ? 0 : Number(match[2]) / 10)
}

/** Anthropic's documented test string that makes the model answer with a redacted thinking block. */
export const redactedThinkingTrigger =
  "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253"

/** The fake's signature of a thinking text: any change to the text (or a made-up signature) fails to verify. */
export const signatureOf = (thinking: string): string =>
  createHash("sha256").update(`fake-thinking:${thinking}`).digest("base64")

export const redactedData = (model: string): string => `EmwKAhgB${Buffer.from(model).toString("base64")}`

// biome-ignore lint: request bodies are checked field by field
type Body = any

/** Whether the model thinks on this request. */
export const thinksOn = (body: Body): boolean => {
  const type = body.thinking?.type
  if (type === "enabled" || type === "adaptive") return true
  return type === undefined && generationOf(body.model) >= 5
}

const isSet = (value: unknown) => value !== undefined && value !== null

const thinkingProblem = (body: Body, generation: number): string | undefined => {
  const thinking = body.thinking
  if (thinking === undefined) return undefined
  if (!["enabled", "adaptive", "disabled"].includes(thinking?.type))
    return "thinking.type: Input tag found does not match"
  if (generation < 3.7) return "thinking: this model does not support extended thinking"
  if (thinking.type === "enabled") {
    if (generation >= 4.7) {
      return "thinking.type.enabled is not supported for this model. Use thinking.type.adaptive and output_config.effort to control thinking behavior."
    }
    if (!Number.isInteger(thinking.budget_tokens) || thinking.budget_tokens < 1024) {
      return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
    }
    if (thinking.budget_tokens >= body.max_tokens) return "`max_tokens` must be greater than `thinking.budget_tokens`"
  }
  if (thinking.type === "adaptive" && generation < 4.6) return "thinking.type.adaptive is not supported for this model"
  if (thinking.type === "disabled" && /^claude-(opus-5-5|fable)/.test(body.model)) {
    return "thinking.type.disabled is not supported for this model"
  }
  return undefined
}

const outputConfigProblem = (body: Body, generation: number): string | undefined => {
  const config = body.output_config
  if (config === undefined) return undefined
  if (isSet(config.effort)) {
    const levels = [
      "low",
      "medium",
      "high",
      ...(generation >= 4.6 ? ["max"] : []),
      ...(generation >= 4.7 ? ["xhigh"] : [])
    ]
    if (generation < 4.5 || (generation === 4.5 && !body.model.startsWith("claude-opus"))) {
      return "output_config.effort: effort is not supported for this model"
    }
    if (!levels.includes(config.effort)) return `output_config.effort: Input should be ${levels.join(", ")}`
  }
  if (isSet(config.format)) {
    if (generation < 4.5) return "output_config.format: structured outputs are not supported for this model"
    if (config.format.type !== "json_schema" || config.format.schema?.type === undefined) {
      return "output_config.format: expected {type: 'json_schema', schema}"
    }
  }
  return undefined
}

const samplingProblem = (body: Body, generation: number, thinking: boolean): string | undefined => {
  if (generation >= 4.5 && isSet(body.temperature) && isSet(body.top_p)) {
    return "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
  }
  if (generation >= 4.7) {
    if (isSet(body.temperature) && body.temperature !== 1)
      return "temperature: this model only accepts the default of 1"
    if (isSet(body.top_p) && body.top_p < 0.99) return "top_p: this model only accepts values of 0.99 or above"
    if (isSet(body.top_k)) return "top_k: this model does not support top_k"
  }
  if (!thinking) return undefined
  if (isSet(body.temperature) && body.temperature !== 1) {
    return "`temperature` may only be set to 1 when thinking is enabled or in adaptive mode."
  }
  if (isSet(body.top_p) && body.top_p < 0.95) {
    return "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled or in adaptive mode."
  }
  if (isSet(body.top_k)) return "`top_k` must be unset when thinking is enabled or in adaptive mode."
  const forced = body.tool_choice?.type
  if (forced === "any" || forced === "tool") return "Thinking may not be enabled when tool_choice forces tool use."
  return undefined
}

const blocksOf = (message: Body): Array<Body> => (Array.isArray(message?.content) ? message.content : [])

const thinkingBlockProblem = (body: Body, thinking: boolean): string | undefined => {
  for (const [index, message] of body.messages.entries()) {
    for (const [at, block] of blocksOf(message).entries()) {
      const where = `messages.${index}.content.${at}`
      if (block.type === "thinking" && block.signature !== signatureOf(block.thinking ?? "")) {
        return `${where}: Invalid \`signature\` in \`thinking\` block`
      }
      if (block.type === "redacted_thinking" && !String(block.data).startsWith("EmwKAhgB")) {
        return `${where}: Invalid \`data\` in \`redacted_thinking\` block`
      }
    }
  }
  const lastAssistant = body.messages.findLastIndex((message: Body) => message.role === "assistant")
  if (lastAssistant === -1) return undefined
  const blocks = blocksOf(body.messages[lastAssistant])
  const hasThinking = blocks.some((block) => block.type === "thinking" || block.type === "redacted_thinking")
  if (!thinking) {
    return hasThinking
      ? `messages.${lastAssistant}.content: When thinking is disabled, an \`assistant\` message in the final position cannot contain \`thinking\`. To use thinking blocks, enable \`thinking\` in your request.`
      : undefined
  }
  const answered = blocksOf(body.messages.at(-1)).some((block) => block.type === "tool_result")
  const first = blocks[0]?.type
  if (!answered || !blocks.some((block) => block.type === "tool_use")) return undefined
  if (first === "thinking" || first === "redacted_thinking") return undefined
  return `messages.${lastAssistant}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`.`
}

/** The first rule of a current model that the request breaks, as the API words it. */
export const currentModelProblem = (body: Body): string | undefined => {
  const generation = generationOf(body.model)
  const thinking = thinksOn(body)
  const choice = body.tool_choice
  if (choice?.type === "tool" && !(body.tools ?? []).some((tool: Body) => tool.name === choice.name)) {
    return `tool_choice.name: no tool named ${choice.name}`
  }
  if (generation >= 4.6 && body.messages.at(-1)?.role === "assistant") {
    return "This model does not support assistant message prefill. The conversation must end with a user message."
  }
  return (
    thinkingProblem(body, generation) ??
    outputConfigProblem(body, generation) ??
    samplingProblem(body, generation, thinking) ??
    thinkingBlockProblem(body, thinking)
  )
}
