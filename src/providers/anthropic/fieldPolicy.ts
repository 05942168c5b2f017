/**
 * What the Anthropic translator does with each OpenAI request field, against the Messages API
 * (https://platform.claude.com/docs/en/api/messages). Tested against the translator in
 * test/unit/providers/anthropicFieldPolicy.test.ts.
 */
import type { FieldPolicy } from "../fieldPolicy.ts"

export const fieldPolicy: FieldPolicy = {
  model: { treatment: "gateway", note: "The catalog entry names the upstream model." },
  messages: {
    treatment: "mapped",
    note: "System and developer messages become `system`, tool results `tool_result` blocks, echoed `thinking_blocks` go back with their signatures, PDF `file` parts become `document` blocks, and a final assistant message is followed by a placeholder user turn so that Claude writes a new reply rather than continue it."
  },
  stream: { treatment: "gateway", note: "The gateway streams from Anthropic when the client streams." },
  stream_options: {
    treatment: "gateway",
    note: "Anthropic always reports usage in streams; the gateway sends it when `include_usage` asks."
  },
  max_tokens: { treatment: "gateway", note: "The completion budget the gateway holds is sent as `max_tokens`." },
  max_completion_tokens: {
    treatment: "gateway",
    note: "The completion budget the gateway holds is sent as `max_tokens`."
  },
  temperature: {
    treatment: "mapped",
    note: "Sent as `temperature` (0–1, above 1 refused); refused by the newest models except at 1, and while thinking (refused when `reasoning_effort` asks for thinking, which the catalog's default thinking yields to)."
  },
  top_p: {
    treatment: "mapped",
    note: "Sent as `top_p`; Claude 4.5 and later take it only without `temperature` (it is then left out), and only from 0.95 while thinking."
  },
  frequency_penalty: { treatment: "refused", note: "Anthropic has no penalties: 0 is left out, other values refused." },
  presence_penalty: { treatment: "refused", note: "Anthropic has no penalties: 0 is left out, other values refused." },
  n: { treatment: "refused", note: "Claude returns one choice: 1 is left out, more refused." },
  stop: {
    treatment: "mapped",
    note: "Sent as `stop_sequences`; whitespace-only sequences, which Anthropic rejects, are refused."
  },
  tools: { treatment: "mapped", note: "Function tools become Anthropic tools with `input_schema`." },
  tool_choice: {
    treatment: "mapped",
    note: "`auto`, `required`, `none` and a named function become `auto`, `any`, `none` and `tool`; a forced choice is refused while thinking."
  },
  parallel_tool_calls: { treatment: "mapped", note: "`false` becomes `disable_parallel_tool_use`." },
  response_format: {
    treatment: "mapped",
    note: "`json_schema` becomes `output_config.format` on models with structured outputs, otherwise (and `json_object` always) a forced tool whose input is returned as the message content."
  },
  user: {
    treatment: "mapped",
    note: "Replaced by the gateway's id of the authenticated user (PROVIDER_USER_ID), sent as `metadata.user_id`."
  },
  seed: { treatment: "dropped", note: "Anthropic has no seed, and OpenAI's is a best-effort hint." },
  reasoning_effort: {
    treatment: "mapped",
    note: "Becomes the catalog's thinking for the model: a `thinking.budget_tokens` below `max_tokens`, or adaptive thinking with `output_config.effort`; refused on models that do not think (except `none`)."
  },
  verbosity: {
    treatment: "dropped",
    note: "Anthropic has no answer-length control apart from thinking effort, which `reasoning_effort` sets."
  },
  logprobs: {
    treatment: "refused",
    note: "Anthropic returns no log probabilities: `false` is left out, `true` refused."
  },
  top_logprobs: { treatment: "refused", note: "Anthropic returns no log probabilities: 0 is left out, more refused." },
  logit_bias: {
    treatment: "refused",
    note: "Anthropic takes no logit bias: an empty map is left out, any bias refused."
  },
  service_tier: {
    treatment: "refused",
    note: "`auto` and `default` are Anthropic's own default and left out; OpenAI's other tiers (priced apart) are refused."
  },
  store: {
    treatment: "dropped",
    note: "OpenAI's stored completions have no Anthropic counterpart; nothing is stored."
  },
  metadata: {
    treatment: "dropped",
    note: "OpenAI's metadata tags stored completions; Anthropic's `metadata` holds only a user id."
  },
  prediction: {
    treatment: "dropped",
    note: "Predicted outputs only speed up OpenAI answers; the answer is the same without them."
  },
  modalities: { treatment: "refused", note: 'Claude answers in text: `["text"]` is left out, audio refused.' },
  audio: { treatment: "refused", note: "Claude gives no audio output." },
  web_search_options: {
    treatment: "refused",
    note: "The gateway offers no web search for Anthropic models."
  },
  prompt_cache_key: {
    treatment: "dropped",
    note: "Anthropic caches by prompt prefix (`cache_control`) and takes no routing key."
  },
  safety_identifier: {
    treatment: "mapped",
    note: "Replaced by the gateway's id of the authenticated user, sent as `metadata.user_id` (abuse detection)."
  },
  functions: { treatment: "refused", note: "Deprecated by OpenAI; send `tools`." },
  function_call: { treatment: "refused", note: "Deprecated by OpenAI; send `tool_choice`." }
}
