/**
 * Gemini generateContent responses → OpenAI shapes: the whole response, and the stream
 * (`alt=sse`: one complete response per event, text as increments, usage as running
 * totals) as a reducer. Gemini has no tool-call finish reason and no call ids: a
 * candidate that called a function finishes with `tool_calls`, and ids are minted. Pure.
 */
import * as Result from "effect/Result"
import type {
  AssistantMessage,
  ChatCompletion,
  ChatCompletionChunk,
  ChunkChoice,
  ToolCall,
  Usage
} from "../../domain/Chat.ts"
import { ProtocolReason, type ProviderErrorReason, TransportReason } from "../../domain/ProviderError.ts"
import { decoder, type Step, type StreamTranslator } from "../StreamTranslator.ts"
import { chunkOf, type ResponseContext, roleChunk } from "../translateCommon.ts"
import { checkedUsage, countProblem, unusableUsage } from "../usage.ts"
import { candidateFailure, candidatesText, finishReason, partsOf, toolCallId } from "./candidate.ts"
import { geminiErrorReason } from "./errors.ts"
import { type Candidate, ErrorBody, GenerateContentResponse, type UsageMetadata } from "./wire.ts"

/**
 * Gemini's counts (https://ai.google.dev/api/generate-content#UsageMetadata):
 * `promptTokenCount` already includes the cached content, which `cachedContentTokenCount`
 * reports; `candidatesTokenCount` leaves out thinking (`thoughtsTokenCount`) and
 * `promptTokenCount` leaves out the tool-use prompts (`toolUsePromptTokenCount`), while
 * `totalTokenCount` sums all four. Thinking is billed as output and tool-use prompts as
 * input, so they join the completion and the prompt.
 */
export const usageOf = (usage: UsageMetadata): Result.Result<Usage, string> => {
  const problem =
    countProblem("promptTokenCount", usage.promptTokenCount) ??
    countProblem("candidatesTokenCount", usage.candidatesTokenCount) ??
    countProblem("totalTokenCount", usage.totalTokenCount) ??
    countProblem("cachedContentTokenCount", usage.cachedContentTokenCount) ??
    countProblem("thoughtsTokenCount", usage.thoughtsTokenCount) ??
    countProblem("toolUsePromptTokenCount", usage.toolUsePromptTokenCount)
  if (problem !== undefined) return Result.fail(problem)
  const prompt = (usage.promptTokenCount ?? 0) + (usage.toolUsePromptTokenCount ?? 0)
  const completion = (usage.candidatesTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0)
  return checkedUsage({
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: usage.cachedContentTokenCount ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage.thoughtsTokenCount ?? 0 }
  })
}

/** The same running total as before: Gemini repeats it on events that generated nothing billable. */
const sameMetadata = (a: UsageMetadata | undefined, b: UsageMetadata): boolean =>
  a !== undefined &&
  a.promptTokenCount === b.promptTokenCount &&
  a.candidatesTokenCount === b.candidatesTokenCount &&
  a.totalTokenCount === b.totalTokenCount &&
  a.cachedContentTokenCount === b.cachedContentTokenCount &&
  a.thoughtsTokenCount === b.thoughtsTokenCount &&
  a.toolUsePromptTokenCount === b.toolUsePromptTokenCount

const usageFailure = (problem: string, candidates: ReadonlyArray<Candidate> | undefined) =>
  unusableUsage("Gemini", problem, candidatesText(candidates ?? []))

export const toChatCompletion = (
  response: GenerateContentResponse,
  context: ResponseContext
): Result.Result<ChatCompletion, ProviderErrorReason> => {
  const candidates = response.candidates ?? []
  const checked = response.usageMetadata === undefined ? undefined : usageOf(response.usageMetadata)
  if (checked !== undefined && Result.isFailure(checked)) return Result.fail(usageFailure(checked.failure, candidates))
  const usage = checked === undefined ? {} : { usage: checked.success }
  const base = { id: context.id, object: "chat.completion" as const, created: context.created, model: context.model }
  if (candidates.length === 0) {
    // A blocked prompt: HTTP 200, no candidates, and the reason in promptFeedback.
    if (response.promptFeedback?.blockReason === undefined) {
      return Result.fail(new ProtocolReason({ message: "Gemini answered without candidates or a block reason" }))
    }
    const message = { role: "assistant" as const, content: null }
    return Result.succeed({
      ...base,
      choices: [{ index: 0, message, finish_reason: "content_filter", logprobs: null }],
      ...usage
    })
  }
  const choices = []
  for (const [position, candidate] of candidates.entries()) {
    const failed = candidateFailure(candidate)
    if (failed !== undefined) return Result.fail(failed)
    const index = candidate.index ?? position
    const { text, reasoning, calls } = partsOf(candidate)
    const toolCalls: Array<ToolCall> = calls.map((call, n) => ({
      id: toolCallId(context, index, n, call),
      type: "function",
      function: { name: call.name, arguments: call.arguments }
    }))
    const message: AssistantMessage = {
      role: "assistant",
      content: text ?? (toolCalls.length > 0 ? null : ""),
      ...(reasoning !== undefined && { reasoning_content: reasoning }),
      ...(toolCalls.length > 0 && { tool_calls: toolCalls })
    }
    choices.push({
      index,
      message,
      finish_reason: finishReason(candidate.finishReason, toolCalls.length > 0) ?? "stop",
      logprobs: null
    })
  }
  return Result.succeed({ ...base, choices, ...usage })
}

/** Marks the moment the upstream accepted the stream: the role chunk goes out then, before the first token. */
export const streamOpened: unique symbol = Symbol("gemini stream opened")
export type StreamEvent = typeof streamOpened | string

export interface StreamState {
  /** Tool calls seen so far, per choice: ids and OpenAI indexes continue across events. */
  readonly toolCalls: ReadonlyMap<number, number>
  readonly finished: ReadonlySet<number>
  /** The latest running total as Gemini sent it (the last one is the whole answer's) and as sent on. */
  readonly usage: UsageMetadata | undefined
  readonly reported: Usage | undefined
  /** Whether the last chunk out was the usage chunk. */
  readonly usageLast: boolean
}

const decodeResponse = decoder(GenerateContentResponse, "Gemini stream event")
const decodeError = decoder(ErrorBody, "Gemini error event")

/** A whole body or event that is not JSON: Gemini answered, but not in its protocol. */
const parseJson = (text: string, what: string): Result.Result<unknown, ProtocolReason> => {
  try {
    return Result.succeed(JSON.parse(text))
  } catch {
    return Result.fail(new ProtocolReason({ message: `Gemini sent ${what} that is not JSON` }))
  }
}

const candidateChunks = (
  state: StreamState,
  context: ResponseContext,
  candidate: Candidate,
  position: number
): Result.Result<readonly [StreamState, ReadonlyArray<ChunkChoice>], ProtocolReason> => {
  const failed = candidateFailure(candidate)
  if (failed !== undefined) return Result.fail(failed)
  const index = candidate.index ?? position
  const { text, reasoning, calls } = partsOf(candidate)
  const before = state.toolCalls.get(index) ?? 0
  const out: Array<ChunkChoice> = []
  const toolCalls = calls.map((call, n) => ({
    index: before + n,
    id: toolCallId(context, index, before + n, call),
    type: "function" as const,
    function: { name: call.name, arguments: call.arguments }
  }))
  if (reasoning !== undefined && reasoning !== "") {
    out.push({ index, delta: { reasoning_content: reasoning }, finish_reason: null })
  }
  if (text !== undefined && text !== "") out.push({ index, delta: { content: text }, finish_reason: null })
  if (toolCalls.length > 0) out.push({ index, delta: { tool_calls: toolCalls }, finish_reason: null })
  const total = before + calls.length
  const finish = finishReason(candidate.finishReason, total > 0)
  if (finish !== null) out.push({ index, delta: {}, finish_reason: finish })
  const next: StreamState = {
    ...state,
    toolCalls: total === before ? state.toolCalls : new Map(state.toolCalls).set(index, total),
    finished: finish === null ? state.finished : new Set(state.finished).add(index)
  }
  return Result.succeed([next, out])
}

/**
 * One event: its candidates' chunks, then a usage chunk when the running total changed, so
 * that billing knows the exact counts so far if the stream is cut.
 */
export const streamStep = (
  state: StreamState,
  context: ResponseContext,
  choiceCount: number,
  response: GenerateContentResponse
): Result.Result<Step<StreamState>, ProtocolReason> => {
  const metadata = response.usageMetadata
  let reported: Usage | undefined
  if (metadata !== undefined && !sameMetadata(state.usage, metadata)) {
    const checked = usageOf(metadata)
    if (Result.isFailure(checked)) return Result.fail(usageFailure(checked.failure, response.candidates))
    reported = checked.success
  }
  let next = state
  const candidates = response.candidates ?? []
  const chunks: Array<ChatCompletionChunk> = []
  if (candidates.length === 0 && response.promptFeedback?.blockReason !== undefined) {
    const open = Array.from({ length: choiceCount }, (_, index) => index).filter((index) => !next.finished.has(index))
    next = { ...next, finished: new Set([...next.finished, ...open]) }
    for (const index of open) chunks.push(chunkOf(context, [{ index, delta: {}, finish_reason: "content_filter" }]))
  }
  for (const [position, candidate] of candidates.entries()) {
    const step = candidateChunks(next, context, candidate, position)
    if (Result.isFailure(step)) return Result.fail(step.failure)
    const [after, choices] = step.success
    next = after
    for (const choice of choices) chunks.push(chunkOf(context, [choice]))
  }
  if (reported !== undefined) {
    chunks.push(chunkOf(context, [], reported))
    return Result.succeed([{ ...next, usage: metadata, reported, usageLast: true }, chunks])
  }
  if (chunks.length > 0 && next.usageLast) next = { ...next, usageLast: false }
  return Result.succeed([next, chunks])
}

export const streamTranslator = (
  context: ResponseContext,
  choiceCount: number
): StreamTranslator<StreamEvent, StreamState> => ({
  initial: { toolCalls: new Map(), finished: new Set(), usage: undefined, reported: undefined, usageLast: false },
  step: (state, event) => {
    if (event === streamOpened) return Result.succeed([state, [roleChunk(context, choiceCount)]])
    return Result.flatMap(parseJson(event, "a stream event"), (raw) => {
      if (typeof raw === "object" && raw !== null && "error" in raw) {
        return Result.flatMap(decodeError(raw), (body) =>
          Result.fail(geminiErrorReason({ status: undefined, body, text: event, headers: {} }, 0))
        )
      }
      return Result.flatMap(decodeResponse(raw), (response) => streamStep(state, context, choiceCount, response))
    })
  },
  // Gemini ends a stream by closing it, finished or cut; an unfinished candidate means it was cut.
  // A finished stream ends with its usage, sent again when chunks followed it.
  end: (state) => {
    if (state.finished.size < choiceCount) {
      return Result.fail(new TransportReason({ message: "The Gemini stream ended before every candidate finished" }))
    }
    return Result.succeed(state.reported === undefined || state.usageLast ? [] : [chunkOf(context, [], state.reported)])
  }
})
