/**
 * Canonical request → OpenAI request. The canonical shapes are OpenAI's, so the request passes
 * through as the client sent it, fields the gateway does not know included (an OpenAI-compatible
 * server's extensions, or OpenAI fields newer than the gateway). The gateway changes only what it
 * owns: the upstream model, the completion budget (billing depends on it) and streamed usage;
 * plus the catalog's parameter rules, and its own message fields, which OpenAI would refuse.
 * `fieldPolicy.ts` says what happens to each known field. Pure.
 */
import * as Result from "effect/Result"
import type { ChatCompletionRequest, ChatMessage } from "../../domain/Chat.ts"
import type { UnsupportedReason } from "../../domain/ProviderError.ts"
import type { ProviderRequest } from "../Provider.ts"
import { applyParameterRules, isSet, unsupported } from "../translateCommon.ts"

export type OpenAIRequest = Omit<
  ChatCompletionRequest,
  "stream" | "stream_options" | "max_tokens" | "max_completion_tokens"
> & {
  readonly max_tokens?: number
  readonly max_completion_tokens?: number
  readonly stream?: true
  readonly stream_options?: { readonly include_usage: true }
  /** Fields the gateway does not know, as the client sent them. */
  readonly [field: string]: unknown
}

/** An explicit `null` means "not set"; some OpenAI-compatible servers refuse it, so it is not sent. */
const withoutNulls = <T extends object>(fields: T): { [K in keyof T]: Exclude<T[K], null> } =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null)) as {
    [K in keyof T]: Exclude<T[K], null>
  }

const hasCacheControl = (message: ChatMessage): boolean =>
  Array.isArray(message.content) && message.content.some((part) => part.type === "text" && "cache_control" in part)

/**
 * Messages without the gateway's reasoning fields (`reasoning_content`, `thinking_blocks`, which
 * answers from other providers carry and clients echo back) and Claude's `cache_control` (OpenAI caches
 * on its own): OpenAI refuses a message with a key it does not know ("Additional properties are not
 * allowed"). Most requests have none to remove.
 */
const withoutGatewayFields = (messages: ReadonlyArray<ChatMessage>): ReadonlyArray<ChatMessage> =>
  messages.some(
    (message) =>
      message.reasoning_content !== undefined || message.thinking_blocks !== undefined || hasCacheControl(message)
  )
    ? messages.map(({ reasoning_content: _text, thinking_blocks: _blocks, ...message }) =>
        hasCacheControl(message) && Array.isArray(message.content)
          ? {
              ...message,
              content: message.content.map((part) => (part.type === "text" ? { type: "text", text: part.text } : part))
            }
          : message
      )
    : messages

export const toOpenAIRequest = (
  input: ProviderRequest,
  stream: boolean
): Result.Result<OpenAIRequest, UnsupportedReason> =>
  Result.flatMap(applyParameterRules(input.request, input.model), (request) => {
    const { model } = input
    const {
      stream: _stream,
      stream_options: _options,
      max_tokens,
      max_completion_tokens,
      reasoning_effort,
      messages,
      ...rest
    } = request
    // The catalog's prices are the standard tier's; priority processing costs more than they charge.
    if (rest.service_tier === "priority") {
      return unsupported(
        "service_tier",
        `service_tier "priority" is not served: the gateway bills ${model.id} at its standard-tier prices`
      )
    }
    // Reasoning models refuse max_tokens (https://platform.openai.com/docs/guides/reasoning); for the
    // others the client's choice of field is kept, as some older compatible servers know only max_tokens.
    const budget =
      model.reasoning || (isSet(max_completion_tokens) && !isSet(max_tokens))
        ? { max_completion_tokens: input.maxTokens }
        : { max_tokens: input.maxTokens }
    return Result.succeed({
      ...withoutNulls(rest),
      model: model.upstreamModel,
      messages: withoutGatewayFields(messages),
      // Only models that reason take it; others refuse it, and it has nothing to change there.
      ...(isSet(reasoning_effort) && model.thinking?.kind === "effort" && { reasoning_effort }),
      ...budget,
      // Usage is always asked for, so that billing has it; the HTTP layer hides it from clients who did not ask.
      ...(stream && { stream: true as const, stream_options: { include_usage: true as const } })
    })
  })
