/**
 * Gemini generateContent responses → OpenAI shapes: the whole response, and the stream
 * (`alt=sse`: one complete response per event, text as increments, usage as running
 * totals) as a reducer. Gemini has no tool-call finish reason and no call ids: a
 * candidate that called a function finishes with `tool_calls`, and ids are minted. Pure.
 */
import { Result } from "effect"
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChunkChoice,
  FinishReason,
  ToolCall,
  Usage
} from "../../domain/Chat.ts"
import { type ProviderErrorReason, TransportReason } from "../../domain/ProviderError.ts"
import { decoder, type StreamTranslator } from "../StreamTranslator.ts"
import { chunkOf, type ResponseContext, roleChunk } from "../translateCommon.ts"
import { geminiErrorReason } from "./errors.ts"
import { type Candidate, ErrorBody, GenerateContentResponse, type UsageMetadata } from "./wire.ts"

const filtered = new Set([
  "SAFETY",
  "RECITATION",
  "LANGUAGE",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION"
])

/** null while the candidate goes on. */
export const finishReason = (reason: string | undefined, calledTools: boolean): FinishReason | null => {
  if (reason === undefined || reason === "FINISH_REASON_UNSPECIFIED") return null
  if (reason === "MAX_TOKENS") return "length"
  if (filtered.has(reason)) return "content_filter"
  return calledTools ? "tool_calls" : "stop"
}

/** `candidatesTokenCount` leaves out thinking, `promptTokenCount` tool-use prompts; both are billed. */
export const usageOf = (usage: UsageMetadata): Usage => {
  const prompt = (usage.promptTokenCount ?? 0) + (usage.toolUsePromptTokenCount ?? 0)
  const completion = (usage.candidatesTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0)
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: usage.cachedContentTokenCount ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage.thoughtsTokenCount ?? 0 }
  }
}

const toolCallId = (context: ResponseContext, choice: number, call: number) =>
  `call_${context.id.replace(/^chatcmpl-/, "")}_${choice}_${call}`

interface CandidateParts {
  readonly text: string | undefined
  readonly calls: ReadonlyArray<{ readonly name: string; readonly arguments: string }>
}

const partsOf = (candidate: Candidate): CandidateParts => {
  let text: string | undefined
  const calls: Array<{ name: string; arguments: string }> = []
  for (const part of candidate.content?.parts ?? []) {
    if (part.thought === true) continue
    if (part.text !== undefined) text = (text ?? "") + part.text
    if (part.functionCall !== undefined) {
      calls.push({ name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) })
    }
  }
  return { text, calls }
}

export const toChatCompletion = (
  response: GenerateContentResponse,
  context: ResponseContext
): Result.Result<ChatCompletion, ProviderErrorReason> => {
  const candidates = response.candidates ?? []
  const usage = response.usageMetadata === undefined ? {} : { usage: usageOf(response.usageMetadata) }
  const base = { id: context.id, object: "chat.completion" as const, created: context.created, model: context.model }
  if (candidates.length === 0) {
    // A blocked prompt: HTTP 200, no candidates, and the reason in promptFeedback.
    if (response.promptFeedback?.blockReason === undefined) {
      return Result.fail(new TransportReason({ message: "Gemini answered without candidates or a block reason" }))
    }
    const message = { role: "assistant" as const, content: null }
    return Result.succeed({
      ...base,
      choices: [{ index: 0, message, finish_reason: "content_filter", logprobs: null }],
      ...usage
    })
  }
  const choices = candidates.map((candidate, position) => {
    const index = candidate.index ?? position
    const { text, calls } = partsOf(candidate)
    const toolCalls: Array<ToolCall> = calls.map((call, n) => ({
      id: toolCallId(context, index, n),
      type: "function",
      function: call
    }))
    return {
      index,
      message: {
        role: "assistant" as const,
        content: text ?? (toolCalls.length > 0 ? null : ""),
        ...(toolCalls.length > 0 && { tool_calls: toolCalls })
      },
      finish_reason: finishReason(candidate.finishReason, toolCalls.length > 0) ?? "stop",
      logprobs: null
    }
  })
  return Result.succeed({ ...base, choices, ...usage })
}

/** Marks the moment the upstream accepted the stream: the role chunk goes out then, before the first token. */
export const streamOpened: unique symbol = Symbol("gemini stream opened")
export type StreamEvent = typeof streamOpened | string

export interface StreamState {
  /** Tool calls seen so far, per choice: ids and OpenAI indexes continue across events. */
  readonly toolCalls: ReadonlyMap<number, number>
  readonly finished: ReadonlySet<number>
  /** The latest running total: the last one is the whole answer's. */
  readonly usage: UsageMetadata | undefined
}

const decodeResponse = decoder(GenerateContentResponse, "Gemini stream event")
const decodeError = decoder(ErrorBody, "Gemini error event")

const parseJson = (data: string): Result.Result<unknown, TransportReason> => {
  try {
    return Result.succeed(JSON.parse(data))
  } catch {
    return Result.fail(new TransportReason({ message: "Gemini sent a stream event that is not JSON" }))
  }
}

const candidateChunks = (
  state: StreamState,
  context: ResponseContext,
  candidate: Candidate,
  position: number
): readonly [StreamState, ReadonlyArray<ChunkChoice>] => {
  const index = candidate.index ?? position
  const { text, calls } = partsOf(candidate)
  const before = state.toolCalls.get(index) ?? 0
  const out: Array<ChunkChoice> = []
  const toolCalls = calls.map((call, n) => ({
    index: before + n,
    id: toolCallId(context, index, before + n),
    type: "function" as const,
    function: call
  }))
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
  return [next, out]
}

export const streamStep = (
  state: StreamState,
  context: ResponseContext,
  choiceCount: number,
  response: GenerateContentResponse
): readonly [StreamState, ReadonlyArray<ChatCompletionChunk>] => {
  let next: StreamState = response.usageMetadata === undefined ? state : { ...state, usage: response.usageMetadata }
  const candidates = response.candidates ?? []
  const chunks: Array<ChatCompletionChunk> = []
  if (candidates.length === 0 && response.promptFeedback?.blockReason !== undefined) {
    const open = Array.from({ length: choiceCount }, (_, index) => index).filter((index) => !next.finished.has(index))
    next = { ...next, finished: new Set([...next.finished, ...open]) }
    for (const index of open) chunks.push(chunkOf(context, [{ index, delta: {}, finish_reason: "content_filter" }]))
  }
  for (const [position, candidate] of candidates.entries()) {
    const [after, choices] = candidateChunks(next, context, candidate, position)
    next = after
    for (const choice of choices) chunks.push(chunkOf(context, [choice]))
  }
  return [next, chunks]
}

export const streamTranslator = (
  context: ResponseContext,
  choiceCount: number
): StreamTranslator<StreamEvent, StreamState> => ({
  initial: { toolCalls: new Map(), finished: new Set(), usage: undefined },
  step: (state, event) => {
    if (event === streamOpened) return Result.succeed([state, [roleChunk(context, choiceCount)]])
    return Result.flatMap(parseJson(event), (raw) => {
      if (typeof raw === "object" && raw !== null && "error" in raw) {
        return Result.flatMap(decodeError(raw), (body) => Result.fail(geminiErrorReason(undefined, body, undefined, 0)))
      }
      return Result.map(decodeResponse(raw), (response) => streamStep(state, context, choiceCount, response))
    })
  },
  // Gemini ends a stream by closing it, finished or cut; an unfinished candidate means it was cut.
  end: (state) =>
    state.finished.size < choiceCount
      ? Result.fail(new TransportReason({ message: "The Gemini stream ended before every candidate finished" }))
      : Result.succeed(state.usage === undefined ? [] : [chunkOf(context, [], usageOf(state.usage))])
})
