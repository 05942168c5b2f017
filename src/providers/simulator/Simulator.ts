/**
 * A provider that answers without any upstream: deterministic replies (the same request
 * gets the same answer), realistic token usage, streamed word by word with a small delay.
 * It serves models whose provider has no API key in development (SIMULATE_PROVIDERS).
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  FinishReason,
  ToolCall,
  Usage
} from "../../domain/Chat.ts"
import { countEmbeddingInput, contentText, countPromptTokens } from "../../domain/Tokens.ts"
import type { EmbeddingProviderRequest, EmbeddingResult, Provider, ProviderRequest } from "../Provider.ts"

const vocabulary = (
  "the gateway answers every request with care and keeps each account exact while streams flow quickly " +
  "through retries limits and breakers so clients see steady honest latency across providers models and regions"
).split(" ")

/** FNV-1a: a small stable hash, so replies depend only on the request. */
const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

interface SimulatedChoice {
  /** The reply as pieces of one token each, spaces included. */
  readonly tokens: ReadonlyArray<string>
  readonly toolCall: ToolCall | undefined
  readonly finishReason: FinishReason
}

const lastUserText = (request: ChatCompletionRequest): string => {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]!
    if (message.role === "user") return contentText(message.content)
  }
  return ""
}

const chosenTool = (request: ChatCompletionRequest) => {
  const tools = request.tools ?? []
  const choice = request.tool_choice
  if (tools.length === 0 || choice === undefined || choice === null || choice === "none" || choice === "auto") {
    return undefined
  }
  return choice === "required" ? tools[0] : tools.find((tool) => tool.function.name === choice.function.name)
}

const simulateChoice = (
  request: ChatCompletionRequest,
  index: number,
  maxTokens: number,
  id: string
): SimulatedChoice => {
  const tool = chosenTool(request)
  if (tool !== undefined) {
    return {
      tokens: [],
      toolCall: {
        id: `call_${id.slice(-12)}_${index}`,
        type: "function",
        function: { name: tool.function.name, arguments: "{}" }
      },
      finishReason: "tool_calls"
    }
  }
  const prompt = lastUserText(request)
  let seed = hash(`${request.model}\u0000${prompt}\u0000${index}`)
  const length = 8 + (seed % 24)
  const words = ["Simulated", "reply:"]
  for (let i = 0; i < length; i++) {
    seed = Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) >>> 0
    words.push(vocabulary[seed % vocabulary.length]!)
  }
  let text = words.join(" ") + "."
  let finishReason: FinishReason = "stop"
  const stops =
    request.stop === undefined || request.stop === null
      ? []
      : typeof request.stop === "string"
        ? [request.stop]
        : request.stop
  for (const stop of stops) {
    const at = stop === "" ? -1 : text.indexOf(stop)
    if (at !== -1) text = text.slice(0, at)
  }
  let tokens = text.split(/(?<= )/)
  if (tokens.length > maxTokens) {
    tokens = tokens.slice(0, maxTokens)
    finishReason = "length"
  }
  return { tokens, toolCall: undefined, finishReason }
}

const simulate = (input: ProviderRequest) => {
  const { request } = input
  const id = `chatcmpl-sim${hash(input.requestId).toString(16)}`
  const choices = Array.from({ length: request.n ?? 1 }, (_, index) =>
    simulateChoice(request, index, input.maxTokens, id)
  )
  const completionTokens = choices.reduce((sum, choice) => sum + choice.tokens.length + (choice.toolCall ? 8 : 0), 0)
  const promptTokens = countPromptTokens(request, input.model)
  const usage: Usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens
  }
  return { id, choices, usage }
}

/** The length a simulated vector has when neither the request nor the catalog says (OpenAI's small model). */
const defaultDimensions = 1536

/**
 * A unit vector that depends only on the model and the input: values from a generator seeded by the
 * input's hash, scaled to length 1 as real embeddings are, and exact in float32 (what base64 carries).
 */
const simulatedVector = (seedText: string, dimensions: number): ReadonlyArray<number> => {
  let seed = hash(seedText)
  const values = new Array<number>(dimensions)
  let sum = 0
  for (let i = 0; i < dimensions; i++) {
    // mulberry32: a small generator whose sequence never collapses to a constant.
    seed = (seed + 0x6d2b79f5) >>> 0
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    const value = ((t ^ (t >>> 14)) >>> 0) / 0x100000000 - 0.5
    values[i] = value
    sum += value * value
  }
  const norm = Math.sqrt(sum) || 1
  return values.map((value) => Math.fround(value / norm))
}

/** Deterministic vectors of the requested length; usage is the gateway's tokenizer count, as if reported. */
export const simulateEmbeddings = (input: EmbeddingProviderRequest): EmbeddingResult => {
  const dimensions = input.dimensions ?? input.model.dimensions ?? defaultDimensions
  const seeds =
    input.inputs._tag === "Texts" ? input.inputs.texts : input.inputs.tokens.map((tokens) => tokens.join(","))
  return {
    vectors: seeds.map((seed) => simulatedVector(`${input.model.id}\u0000${seed}`, dimensions)),
    promptTokens: countEmbeddingInput(input.inputs, input.model)
  }
}

export const makeSimulator = (options: { readonly chunkDelayMs: number }): Provider => {
  const delay = options.chunkDelayMs > 0 ? Effect.sleep(options.chunkDelayMs) : Effect.void

  const complete = (input: ProviderRequest) =>
    Effect.gen(function* () {
      const { id, choices, usage } = simulate(input)
      const created = Math.floor((yield* Effect.clockWith((clock) => clock.currentTimeMillis)) / 1000)
      yield* delay
      const completion: ChatCompletion = {
        id,
        object: "chat.completion",
        created,
        model: input.model.id,
        choices: choices.map((choice, index) => ({
          index,
          message: choice.toolCall
            ? { role: "assistant", content: null, tool_calls: [choice.toolCall] }
            : { role: "assistant", content: choice.tokens.join("") },
          finish_reason: choice.finishReason
        })),
        usage
      }
      return completion
    })

  const stream = (input: ProviderRequest): Stream.Stream<ChatCompletionChunk> =>
    Stream.unwrap(
      Effect.gen(function* () {
        const { id, choices, usage } = simulate(input)
        const created = Math.floor((yield* Effect.clockWith((clock) => clock.currentTimeMillis)) / 1000)
        const chunk = (
          choicesPart: ChatCompletionChunk["choices"],
          extra?: Partial<ChatCompletionChunk>
        ): ChatCompletionChunk => ({
          id,
          object: "chat.completion.chunk",
          created,
          model: input.model.id,
          choices: choicesPart,
          ...extra
        })
        const perChoice = choices.map((choice, index): ReadonlyArray<ChatCompletionChunk> => [
          chunk([{ index, delta: { role: "assistant", content: "" }, finish_reason: null }]),
          ...(choice.toolCall
            ? [
                chunk([
                  {
                    index,
                    delta: {
                      tool_calls: [
                        { index: 0, id: choice.toolCall.id, type: "function", function: choice.toolCall.function }
                      ]
                    },
                    finish_reason: null
                  }
                ])
              ]
            : choice.tokens.map((token) => chunk([{ index, delta: { content: token }, finish_reason: null }]))),
          chunk([{ index, delta: {}, finish_reason: choice.finishReason }])
        ])
        const all = [...perChoice.flat(), chunk([], { usage })]
        return Stream.fromIterable(all).pipe(Stream.tap(() => delay))
      })
    )

  const embed = (input: EmbeddingProviderRequest) => Effect.as(delay, simulateEmbeddings(input))

  return { name: "simulator", complete, stream, embed }
}
