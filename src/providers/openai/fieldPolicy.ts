/**
 * What the OpenAI translator (`translateRequest.ts`) does with each field of a chat request.
 * The canonical request is OpenAI's, so nearly everything passes unchanged; fields the gateway
 * does not know at all pass too. For every model, the catalog's `unsupported_parameters` and
 * `exclusive_parameters` apply first (`applyParameterRules`): a refused field at its neutral value
 * is dropped, at any other value refused with 400.
 */
import { type FieldPolicy, gateway, passed } from "../fieldPolicy.ts"

export const fieldPolicy: FieldPolicy = {
  model: gateway("Replaced by the catalog entry's upstream model; the answer names the catalog entry."),
  messages: passed(
    "Sent as given, without the gateway's own reasoning_content and thinking_blocks, which OpenAI refuses on messages."
  ),
  stream: gateway("Decided by the endpoint the client called; sent as true for streams only."),
  stream_options: gateway(
    "Replaced by include_usage: true on streams, as billing needs the usage; clients still get it only if they asked."
  ),
  max_tokens: gateway(
    "The completion budget the balance pays for (at most the model's maximum); sent as max_completion_tokens to reasoning models, which refuse max_tokens."
  ),
  max_completion_tokens: gateway("The completion budget the balance pays for, at most the model's maximum output."),
  temperature: passed("Sent unchanged, unless the model's unsupported_parameters name it (as for reasoning models)."),
  top_p: passed("Sent unchanged."),
  frequency_penalty: passed("Sent unchanged."),
  presence_penalty: passed("Sent unchanged."),
  n: passed("Sent unchanged; the hold covers a full budget for every choice."),
  stop: passed("Sent unchanged."),
  tools: passed("Sent unchanged."),
  tool_choice: passed("Sent unchanged."),
  parallel_tool_calls: passed("Sent unchanged."),
  response_format: passed("Sent unchanged: json_object and json_schema (strict included) are OpenAI's own."),
  user: passed("Replaced by the gateway's id of the authenticated user (PROVIDER_USER_ID), sent on every request."),
  seed: passed("Sent unchanged."),
  reasoning_effort: passed(
    'Sent unchanged to models the catalog marks thinking: {kind: "effort"}; dropped for the others, which do not reason and would refuse it.'
  ),
  verbosity: passed("Sent unchanged."),
  logprobs: passed("Sent unchanged; the answer's log probabilities come back as OpenAI sends them."),
  top_logprobs: passed("Sent unchanged."),
  logit_bias: passed("Sent unchanged."),
  service_tier: passed(
    'Sent unchanged, except "priority", refused with 400: the catalog prices the standard tier, which would leave part of a priority call unbilled.'
  ),
  store: passed("Sent unchanged."),
  metadata: passed("Sent unchanged."),
  prediction: passed("Sent unchanged; rejected prediction tokens are part of the billed completion tokens."),
  modalities: passed("Sent unchanged; generated audio comes back in message.audio."),
  audio: passed("Sent unchanged."),
  web_search_options: passed(
    "Sent unchanged; the answer's citations come back in message.annotations (per-search fees are not in the catalog)."
  ),
  prompt_cache_key: passed("Sent unchanged."),
  safety_identifier: passed("Replaced by the gateway's id of the authenticated user (PROVIDER_USER_ID)."),
  functions: passed("Sent unchanged; a function_call in the answer comes back as OpenAI sends it."),
  function_call: passed("Sent unchanged.")
}
