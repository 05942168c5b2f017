/**
 * What the Gemini translator does with each field of an OpenAI Chat Completions request, and the
 * refusals that depend on a field's value alone (the translator checks them before translating). Sources: the generateContent reference
 * (https://ai.google.dev/api/generate-content), thinking (https://ai.google.dev/gemini-api/docs/thinking),
 * structured output (https://ai.google.dev/gemini-api/docs/structured-output), function calling
 * (https://ai.google.dev/gemini-api/docs/function-calling).
 */
import { defaultTier, dropped, type FieldPolicy, gateway, mapped, refused, textOnly } from "../fieldPolicy.ts"
import { isNeutral } from "../translateCommon.ts"

export const fieldPolicy: FieldPolicy = {
  model: gateway("Resolved in the catalog; the entry's upstream model goes in the URL."),
  messages: mapped(
    "Become contents (roles user and model, same-role turns merged) and systemInstruction; a conversation ending with the assistant gets a placeholder user turn, so Gemini writes a new reply as OpenAI does."
  ),
  stream: gateway("Chooses streamGenerateContent (alt=sse) or generateContent."),
  stream_options: gateway("Gemini always reports usage; the gateway sends it when include_usage asks."),
  max_tokens: gateway("The gateway's completion budget, sent as generationConfig.maxOutputTokens."),
  max_completion_tokens: gateway(
    "The gateway's completion budget, sent as generationConfig.maxOutputTokens (thinking included)."
  ),
  temperature: mapped("generationConfig.temperature (same 0–2 range)."),
  top_p: mapped("generationConfig.topP."),
  frequency_penalty: mapped(
    "generationConfig.frequencyPenalty; models that refuse penalties (Gemini 2.5 and 3, catalog unsupported_parameters) drop 0 and refuse other values."
  ),
  presence_penalty: mapped(
    "generationConfig.presencePenalty; models that refuse penalties (Gemini 2.5 and 3, catalog unsupported_parameters) drop 0 and refuse other values."
  ),
  n: mapped("generationConfig.candidateCount."),
  stop: mapped("generationConfig.stopSequences."),
  tools: mapped(
    "functionDeclarations, with parametersJsonSchema (JSON Schema) on models that take it, else parameters in the OpenAPI subset."
  ),
  tool_choice: mapped(
    "toolConfig.functionCallingConfig: auto AUTO, none NONE, required ANY, a named function ANY with allowedFunctionNames."
  ),
  parallel_tool_calls: dropped("Gemini has no switch for parallel function calls; the model decides."),
  response_format: mapped(
    "responseMimeType application/json, with the json_schema as responseJsonSchema (or responseSchema in the OpenAPI subset on older models)."
  ),
  user: dropped("Gemini has no end-user field."),
  seed: mapped("generationConfig.seed."),
  reasoning_effort: mapped(
    "thinkingConfig as the catalog's thinking says (thinkingBudget on Gemini 2.5, thinkingLevel on Gemini 3, never both) with includeThoughts, whose summaries return as reasoning_content; an effort the model lacks is refused, and dropped on models that do not think."
  ),
  verbosity: dropped("Gemini has no verbosity control; the prompt decides the length."),
  logprobs: refused("true is refused: the gateway does not translate Gemini's logprobsResult; false is dropped.", {
    message: "logprobs are not supported for Gemini models",
    harmless: isNeutral
  }),
  top_logprobs: refused("Refused when set, as log probabilities are not returned.", {
    message: "top_logprobs are not supported for Gemini models"
  }),
  logit_bias: refused("Refused when not empty: Gemini has no token bias.", {
    message: "logit_bias is not supported for Gemini models",
    harmless: isNeutral
  }),
  service_tier: refused(
    "auto and default are dropped (standard tier, billed at the catalog price); other tiers are refused, as the gateway neither asks for nor prices them.",
    {
      message: (tier) => `service_tier "${String(tier)}" is not supported for Gemini models`,
      harmless: defaultTier
    }
  ),
  store: dropped("OpenAI's stored completions have no Gemini counterpart; nothing is stored."),
  metadata: dropped("OpenAI dashboard tags; Gemini has no counterpart."),
  prediction: dropped("Predicted outputs only speed OpenAI up; the answer is the same without them."),
  modalities: refused('Only text output is served: anything but ["text"] is refused.', {
    message: "Gemini models answer with text only through this gateway",
    harmless: textOnly
  }),
  audio: refused("Audio output is not served through Gemini: refused when set.", {
    message: "audio output is not supported for Gemini models"
  }),
  web_search_options: refused("Refused when set: the gateway does not map it to Gemini's Google Search grounding.", {
    message: "web_search_options is not supported for Gemini models"
  }),
  prompt_cache_key: dropped("Gemini caches prompts implicitly; no key is needed."),
  safety_identifier: dropped("Gemini has no end-user identifier."),
  functions: refused("The deprecated functions are refused: send tools instead.", {
    message: "functions is deprecated: send tools instead"
  }),
  function_call: refused("The deprecated function_call is refused: send tool_choice instead.", {
    message: "function_call is deprecated: send tool_choice instead"
  })
}
