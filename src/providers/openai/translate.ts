/**
 * OpenAI answers → canonical. The canonical shapes are OpenAI's, so answers pass through
 * with what clients use (log probabilities, `service_tier`, `system_fingerprint`, citations,
 * audio), read leniently (`wire.ts`: what compatible servers send differently is normalised to
 * OpenAI's shape, finish reasons mapped by `finishReason.ts`); their usage is checked. `model`
 * becomes the public id of the catalog entry that answered. Pure.
 */
import * as Result from "effect/Result"
import type { AssistantMessage, ChatCompletion, ChatCompletionChunk, ChunkChoice, Usage } from "../../domain/Chat.ts"
import { type ProtocolReason, TransportReason } from "../../domain/ProviderError.ts"
import { decoder, type Step, type StreamTranslator } from "../StreamTranslator.ts"
import { checkedUsage, completionTextOf, deltaTextOf, sameUsage, unusableUsage } from "../usage.ts"
import { toFinishReason } from "./finishReason.ts"
import {
  Chunk,
  Completion,
  type ChunkChoice as WireChunkChoice,
  type Delta,
  type Message,
  type Usage as OpenAIUsage
} from "./wire.ts"

const decodeCompletion = decoder(Completion, "OpenAI completion")
const decodeChunk = decoder(Chunk, "OpenAI stream chunk")

/** OpenAI's usage, checked; the details the gateway prices are kept, the others (audio, predictions) dropped. */
export const usageOf = (usage: OpenAIUsage): Result.Result<Usage, string> => {
  const cached = usage.prompt_tokens_details?.cached_tokens
  const reasoning = usage.completion_tokens_details?.reasoning_tokens
  return checkedUsage({
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
    ...(cached !== undefined && cached !== null && { prompt_tokens_details: { cached_tokens: cached } }),
    ...(reasoning !== undefined && reasoning !== null && { completion_tokens_details: { reasoning_tokens: reasoning } })
  })
}

/** What the answer says about itself besides its choices, when the upstream sent it. */
const answerExtras = (answer: {
  readonly system_fingerprint?: string | null
  readonly service_tier?: string | null
}) => ({
  ...(answer.system_fingerprint !== undefined && { system_fingerprint: answer.system_fingerprint }),
  ...(answer.service_tier !== undefined && answer.service_tier !== null && { service_tier: answer.service_tier })
})

const reasoningOf = (message: Message | Delta): string | null | undefined =>
  message.reasoning_content ?? message.reasoning

const toMessage = (message: Message): AssistantMessage => {
  const { tool_calls, function_call, refusal, annotations, audio, thinking_blocks } = message
  const reasoning = reasoningOf(message)
  return {
    role: "assistant",
    content: message.content ?? null,
    ...(tool_calls !== undefined && tool_calls !== null && tool_calls.length > 0 && { tool_calls }),
    ...(function_call !== undefined && function_call !== null && { function_call }),
    ...(refusal !== undefined && { refusal }),
    ...(annotations !== undefined && annotations !== null && { annotations }),
    ...(audio !== undefined && audio !== null && { audio }),
    ...(reasoning !== undefined && reasoning !== null && { reasoning_content: reasoning }),
    ...(thinking_blocks !== undefined && thinking_blocks !== null && { thinking_blocks })
  }
}

export const toChatCompletion = (raw: unknown, publicModel: string): Result.Result<ChatCompletion, ProtocolReason> =>
  Result.flatMap(decodeCompletion(raw), (completion) => {
    const answer: ChatCompletion = {
      id: completion.id,
      object: "chat.completion",
      created: completion.created,
      model: publicModel,
      choices: completion.choices.map((choice) => ({
        index: choice.index,
        message: toMessage(choice.message),
        finish_reason: toFinishReason(choice.finish_reason),
        ...(choice.logprobs !== undefined && { logprobs: choice.logprobs })
      })),
      ...answerExtras(completion)
    }
    const { usage } = completion
    if (usage === undefined || usage === null) return Result.succeed(answer)
    return Result.match(usageOf(usage), {
      onSuccess: (checked) => Result.succeed({ ...answer, usage: checked }),
      onFailure: (problem) => Result.fail(unusableUsage("OpenAI", problem, completionTextOf(answer.choices)))
    })
  })

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** A delta in OpenAI's shape: only the fields present, compatible servers' nulls left out. Runs per chunk. */
const toDelta = (delta: Delta): ChunkChoice["delta"] => {
  const out: Mutable<ChunkChoice["delta"]> = {}
  if (delta.role !== undefined && delta.role !== null) out.role = delta.role
  if (delta.content !== undefined) out.content = delta.content
  if (delta.tool_calls !== undefined && delta.tool_calls !== null) out.tool_calls = delta.tool_calls
  if (delta.function_call !== undefined && delta.function_call !== null) out.function_call = delta.function_call
  if (delta.refusal !== undefined) out.refusal = delta.refusal
  if (delta.audio !== undefined && delta.audio !== null) out.audio = delta.audio
  const reasoning = reasoningOf(delta)
  if (reasoning !== undefined && reasoning !== null) out.reasoning_content = reasoning
  if (delta.thinking_blocks !== undefined && delta.thinking_blocks !== null) out.thinking_blocks = delta.thinking_blocks
  return out
}

const toChunkChoice = (choice: WireChunkChoice): ChunkChoice => ({
  index: choice.index,
  delta: toDelta(choice.delta),
  finish_reason: toFinishReason(choice.finish_reason),
  ...(choice.logprobs !== undefined && { logprobs: choice.logprobs })
})

export interface StreamState {
  readonly finished: ReadonlySet<number>
  /** The chunk of the latest usage reported: a stream that ends normally ends with it. */
  readonly usageChunk: ChatCompletionChunk | undefined
  /** Whether the last chunk out was the usage chunk. */
  readonly usageLast: boolean
}

const initial: StreamState = { finished: new Set(), usageChunk: undefined, usageLast: false }

/**
 * Chunks pass through with the public model. Usage goes out as a usage chunk
 * (`choices: []`) of its own: OpenAI sends one before `[DONE]`, but compatible servers
 * may put it on a chunk that still has choices, or on every chunk (vLLM's continuous usage
 * stats); a usage chunk goes out whenever the usage changed. A stream that ended normally
 * ends with its latest usage. OpenAI closes a stream the same way whether it finished or
 * was cut, so the end checks that every choice finished.
 */
export const streamTranslator = (publicModel: string, choiceCount: number): StreamTranslator<unknown, StreamState> => ({
  initial,
  step: (state, raw) =>
    Result.flatMap(decodeChunk(raw), (chunk): Result.Result<Step<StreamState>, ProtocolReason> => {
      const { usage } = chunk
      const out: ChatCompletionChunk = {
        id: chunk.id,
        object: "chat.completion.chunk",
        created: chunk.created,
        model: publicModel,
        choices: chunk.choices.map(toChunkChoice),
        ...answerExtras(chunk)
      }
      let finished = state.finished
      for (const choice of out.choices) {
        if (choice.finish_reason !== null && !finished.has(choice.index)) {
          finished = new Set(finished).add(choice.index)
        }
      }
      if (usage === undefined || usage === null) {
        if (chunk.choices.length === 0) return Result.succeed([state, []])
        const next = finished === state.finished && !state.usageLast ? state : { ...state, finished, usageLast: false }
        return Result.succeed([next, [out]])
      }
      const checked = usageOf(usage)
      if (Result.isFailure(checked)) {
        return Result.fail(unusableUsage("OpenAI", checked.failure, deltaTextOf(out.choices)))
      }
      if (out.choices.length > 0 && sameUsage(state.usageChunk?.usage ?? undefined, checked.success)) {
        return Result.succeed([{ ...state, finished, usageLast: false }, [out]])
      }
      const usageChunk: ChatCompletionChunk = { ...out, choices: [], usage: checked.success }
      const next = { finished, usageChunk, usageLast: true }
      return Result.succeed([next, chunk.choices.length === 0 ? [usageChunk] : [out, usageChunk]])
    }),
  end: (state) => {
    if (state.finished.size < choiceCount) {
      return Result.fail(new TransportReason({ message: "The OpenAI stream ended before every choice finished" }))
    }
    return Result.succeed(state.usageChunk === undefined || state.usageLast ? [] : [state.usageChunk])
  }
})
