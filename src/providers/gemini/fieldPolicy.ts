/**
 * What the Gemini translator does with each field of an OpenAI Chat Completions request, and the
 * refusals that depend on a field's value alone. Sources: the generateContent reference
 * (https://ai.google.dev/api/generate-content), thinking (https://ai.google.dev/gemini-api/docs/thinking),
 * structured output (https://ai.google.dev/gemini-api/docs/structured-output), function calling
 * (https://ai.google.dev/gemini-api/docs/function-calling).
 */
import * as Result from "effect/Result"
import type { ChatCompletionRequest } from "../../domain/Chat.ts"
import type { UnsupportedReason } from "../../domain/ProviderError.ts"
import type { FieldPolicy } from "../fieldPolicy.ts"
import { unsupported } from "../translateCommon.ts"

export const fieldPolicy: FieldPolicy = {
  model: { treatment: "gateway", note: "Resolved in the catalog; the entry's upstream model goes in the URL." },
  messages: {
    treatment: "mapped",
    note: "Become contents (roles user and model, same-role turns merged) and systemInstruction; a conversation ending with the assistant gets a placeholder user turn, so Gemini writes a new reply as OpenAI does."
  },
  stream: { treatment: "gateway", note: "Chooses streamGenerateContent (alt=sse) or generateContent." },
  stream_options: {
    treatment: "gateway",
    note: "Gemini always reports usage; the gateway sends it when include_usage asks."
  },
  max_tokens: {
    treatment: "gateway",
    note: "The gateway's completion budget, sent as generationConfig.maxOutputTokens."
  },
  max_completion_tokens: {
    treatment: "gateway",
    note: "The gateway's completion budget, sent as generationConfig.maxOutputTokens (thinking included)."
  },
  temperature: { treatment: "mapped", note: "generationConfig.temperature (same 0–2 range)." },
  top_p: { treatment: "mapped", note: "generationConfig.topP." },
  frequency_penalty: {
    treatment: "mapped",
    note: "generationConfig.frequencyPenalty; models that refuse penalties (Gemini 2.5 and 3, catalog unsupported_parameters) drop 0 and refuse other values."
  },
  presence_penalty: {
    treatment: "mapped",
    note: "generationConfig.presencePenalty; models that refuse penalties (Gemini 2.5 and 3, catalog unsupported_parameters) drop 0 and refuse other values."
  },
  n: { treatment: "mapped", note: "generationConfig.candidateCount." },
  stop: { treatment: "mapped", note: "generationConfig.stopSequences." },
  tools: {
    treatment: "mapped",
    note: "functionDeclarations, with parametersJsonSchema (JSON Schema) on models that take it, else parameters in the OpenAPI subset."
  },
  tool_choice: {
    treatment: "mapped",
    note: "toolConfig.functionCallingConfig: auto AUTO, none NONE, required ANY, a named function ANY with allowedFunctionNames."
  },
  parallel_tool_calls: {
    treatment: "dropped",
    note: "Gemini has no switch for parallel function calls; the model decides."
  },
  response_format: {
    treatment: "mapped",
    note: "responseMimeType application/json, with the json_schema as responseJsonSchema (or responseSchema in the OpenAPI subset on older models)."
  },
  user: { treatment: "dropped", note: "Gemini has no end-user field." },
  seed: { treatment: "mapped", note: "generationConfig.seed." },
  reasoning_effort: {
    treatment: "mapped",
    note: "thinkingConfig as the catalog's thinking says (thinkingBudget on Gemini 2.5, thinkingLevel on Gemini 3, never both) with includeThoughts, whose summaries return as reasoning_content; an effort the model lacks is refused, and dropped on models that do not think."
  },
  verbosity: { treatment: "dropped", note: "Gemini has no verbosity control; the prompt decides the length." },
  logprobs: {
    treatment: "refused",
    note: "true is refused: the gateway does not translate Gemini's logprobsResult; false is dropped."
  },
  top_logprobs: { treatment: "refused", note: "Refused when set, as log probabilities are not returned." },
  logit_bias: { treatment: "refused", note: "Refused when not empty: Gemini has no token bias." },
  service_tier: {
    treatment: "refused",
    note: "auto and default are dropped (standard tier, billed at the catalog price); other tiers are refused, as the gateway neither asks for nor prices them."
  },
  store: { treatment: "dropped", note: "OpenAI's stored completions have no Gemini counterpart; nothing is stored." },
  metadata: { treatment: "dropped", note: "OpenAI dashboard tags; Gemini has no counterpart." },
  prediction: {
    treatment: "dropped",
    note: "Predicted outputs only speed OpenAI up; the answer is the same without them."
  },
  modalities: { treatment: "refused", note: 'Only text output is served: anything but ["text"] is refused.' },
  audio: { treatment: "refused", note: "Audio output is not served through Gemini: refused when set." },
  web_search_options: {
    treatment: "refused",
    note: "Refused when set: the gateway does not map it to Gemini's Google Search grounding."
  },
  prompt_cache_key: { treatment: "dropped", note: "Gemini caches prompts implicitly; no key is needed." },
  safety_identifier: { treatment: "dropped", note: "Gemini has no end-user identifier." },
  functions: { treatment: "refused", note: "The deprecated functions are refused: send tools instead." },
  function_call: { treatment: "refused", note: "The deprecated function_call is refused: send tool_choice instead." }
}

const set = (value: unknown) => value !== undefined && value !== null

/** The refusals of the table that depend on a field's value alone, checked before translating. */
export const refusedFields = (request: ChatCompletionRequest): Result.Result<void, UnsupportedReason> => {
  if (request.logprobs === true) return unsupported("logprobs", "logprobs are not supported for Gemini models")
  if (set(request.top_logprobs)) return unsupported("top_logprobs", "top_logprobs are not supported for Gemini models")
  if (set(request.logit_bias) && Object.keys(request.logit_bias ?? {}).length > 0) {
    return unsupported("logit_bias", "logit_bias is not supported for Gemini models")
  }
  const tier = request.service_tier
  if (set(tier) && tier !== "auto" && tier !== "default") {
    return unsupported("service_tier", `service_tier "${tier}" is not supported for Gemini models`)
  }
  const modalities = request.modalities
  if (set(modalities) && (modalities ?? []).some((modality) => modality !== "text")) {
    return unsupported("modalities", "Gemini models answer with text only through this gateway")
  }
  if (set(request.audio)) return unsupported("audio", "audio output is not supported for Gemini models")
  if (set(request.web_search_options)) {
    return unsupported("web_search_options", "web_search_options is not supported for Gemini models")
  }
  if (set(request.functions)) return unsupported("functions", "functions is deprecated: send tools instead")
  if (set(request.function_call)) {
    return unsupported("function_call", "function_call is deprecated: send tool_choice instead")
  }
  return Result.void
}
