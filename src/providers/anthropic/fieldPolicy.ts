/**
 * What the Anthropic translator does with each OpenAI request field, against the Messages API
 * (https://platform.claude.com/docs/en/api/messages). Tested against the translator in
 * test/unit/providers/anthropicFieldPolicy.test.ts.
 */
import { defaultTier, dropped, type FieldPolicy, gateway, mapped, refused, textOnly } from "../fieldPolicy.ts"
import { isNeutral } from "../translateCommon.ts"

export const fieldPolicy: FieldPolicy = {
  model: gateway("The catalog entry names the upstream model."),
  messages: mapped(
    "System and developer messages become `system`, tool results `tool_result` blocks, echoed `thinking_blocks` go back with their signatures, PDF `file` parts become `document` blocks, and a final assistant message is followed by a placeholder user turn so that Claude writes a new reply rather than continue it."
  ),
  stream: gateway("The gateway streams from Anthropic when the client streams."),
  stream_options: gateway("Anthropic always reports usage in streams; the gateway sends it when `include_usage` asks."),
  max_tokens: gateway("The completion budget the gateway holds is sent as `max_tokens`."),
  max_completion_tokens: gateway("The completion budget the gateway holds is sent as `max_tokens`."),
  temperature: mapped(
    "Sent as `temperature` (0–1, above 1 refused); refused by the newest models except at 1, and while thinking (refused when `reasoning_effort` asks for thinking, which the catalog's default thinking yields to)."
  ),
  top_p: mapped(
    "Sent as `top_p`; Claude 4.5 and later take it only without `temperature` (it is then left out), and only from 0.95 while thinking."
  ),
  frequency_penalty: refused("Anthropic has no penalties: 0 is left out, other values refused.", {
    message: "frequency_penalty: Anthropic models have no penalties; send 0 or omit it",
    harmless: isNeutral
  }),
  presence_penalty: refused("Anthropic has no penalties: 0 is left out, other values refused.", {
    message: "presence_penalty: Anthropic models have no penalties; send 0 or omit it",
    harmless: isNeutral
  }),
  n: refused("Claude returns one choice: 1 is left out, more refused.", {
    message: "n: Anthropic models return one choice; n must be 1",
    harmless: isNeutral
  }),
  stop: mapped("Sent as `stop_sequences`; whitespace-only sequences, which Anthropic rejects, are refused."),
  tools: mapped("Function tools become Anthropic tools with `input_schema`."),
  tool_choice: mapped(
    "`auto`, `required`, `none` and a named function become `auto`, `any`, `none` and `tool`; a forced choice is refused while thinking."
  ),
  parallel_tool_calls: mapped("`false` becomes `disable_parallel_tool_use`."),
  response_format: mapped(
    "`json_schema` becomes `output_config.format` on models with structured outputs, otherwise (and `json_object` always) a forced tool whose input is returned as the message content."
  ),
  user: mapped(
    "Replaced by the gateway's id of the authenticated user (PROVIDER_USER_ID), sent as `metadata.user_id`."
  ),
  seed: dropped("Anthropic has no seed, and OpenAI's is a best-effort hint."),
  reasoning_effort: mapped(
    "Becomes the catalog's thinking for the model: a `thinking.budget_tokens` below `max_tokens`, or adaptive thinking with `output_config.effort`; refused on models that do not think (except `none`)."
  ),
  verbosity: dropped(
    "Anthropic has no answer-length control apart from thinking effort, which `reasoning_effort` sets."
  ),
  logprobs: refused("Anthropic returns no log probabilities: `false` is left out, `true` refused.", {
    message: "logprobs: Anthropic models return no log probabilities",
    harmless: isNeutral
  }),
  top_logprobs: refused("Anthropic returns no log probabilities: 0 is left out, more refused.", {
    message: "top_logprobs: Anthropic models return no log probabilities",
    harmless: isNeutral
  }),
  logit_bias: refused("Anthropic takes no logit bias: an empty map is left out, any bias refused.", {
    message: "logit_bias: Anthropic models take no logit bias",
    harmless: isNeutral
  }),
  service_tier: refused(
    "`auto` and `default` are Anthropic's own default and left out; OpenAI's other tiers (priced apart) are refused.",
    {
      message: "service_tier: Anthropic models are served at the default tier; send auto, default or omit it",
      harmless: defaultTier
    }
  ),
  store: dropped("OpenAI's stored completions have no Anthropic counterpart; nothing is stored."),
  metadata: dropped("OpenAI's metadata tags stored completions; Anthropic's `metadata` holds only a user id."),
  prediction: dropped("Predicted outputs only speed up OpenAI answers; the answer is the same without them."),
  modalities: refused('Claude answers in text: `["text"]` is left out, audio refused.', {
    message: "modalities: Anthropic models answer in text only",
    harmless: textOnly
  }),
  audio: refused("Claude gives no audio output.", { message: "audio: Anthropic models answer in text only" }),
  web_search_options: refused("The gateway offers no web search for Anthropic models.", {
    message: "web_search_options: web search is not offered for Anthropic models"
  }),
  prompt_cache_key: dropped("Anthropic caches by prompt prefix (`cache_control`) and takes no routing key."),
  safety_identifier: mapped(
    "Replaced by the gateway's id of the authenticated user, sent as `metadata.user_id` (abuse detection)."
  ),
  functions: refused("Deprecated by OpenAI; send `tools`.", {
    message: "functions: deprecated by OpenAI; send tools and tool_choice"
  }),
  function_call: refused("Deprecated by OpenAI; send `tool_choice`.", {
    message: "function_call: deprecated by OpenAI; send tools and tool_choice"
  })
}
