/**
 * What a fake upstream is told to do with the next request, in vendor-neutral terms; each
 * fake renders it in its own wire format. Without a script, a fake answers with an echo.
 */

export interface ScriptedToolCall {
  readonly id?: string
  readonly name: string
  readonly arguments: Record<string, unknown>
}

export interface Reply {
  readonly text?: string
  readonly toolCalls?: ReadonlyArray<ScriptedToolCall>
  /** Defaults to `tool_calls` when there are tool calls, else `stop`; stop sequences and max tokens apply first. */
  readonly finish?: "stop" | "length" | "tool_calls" | "content_filter"
  /**
   * What the upstream reports, in vendor-neutral terms; each fake renders it as its vendor
   * reports usage. Numbers go through as given — fractional, negative, beyond 2³¹ − 1 —
   * so that a test can script usage the gateway must refuse.
   */
  readonly usage?: ScriptedUsage
}

export interface ScriptedUsage {
  /** Input tokens neither read from nor written to a cache. */
  readonly input: number
  /** All output tokens, reasoning included. */
  readonly output: number
  /** Input read from a cache: OpenAI `cached_tokens`, Anthropic `cache_read_input_tokens`, Gemini `cachedContentTokenCount`. */
  readonly cacheRead?: number
  /** Input written to a cache: Anthropic's `cache_creation_input_tokens`; OpenAI and Gemini count it as plain input. */
  readonly cacheWrite?: number
  /** The part of `output` spent reasoning: OpenAI `reasoning_tokens`, Gemini `thoughtsTokenCount`; Anthropic reports only the whole output. */
  readonly reasoning?: number
}

export type Behaviour =
  /** `trickle`: a stream is written a few bytes at a time, splitting events and UTF-8 characters. */
  | { readonly kind: "reply"; readonly reply: Reply; readonly trickle?: boolean }
  /** The vendor's error body for this status; `type` is the vendor's error type or code when it has one. */
  | {
      readonly kind: "error"
      readonly status: number
      readonly message?: string
      readonly type?: string
      readonly headers?: Readonly<Record<string, string>>
    }
  /** Accept the request and never answer. */
  | { readonly kind: "stall" }
  /** Stream: send this many events of the reply, then go silent with the connection open. */
  | { readonly kind: "stallAfter"; readonly events: number; readonly reply?: Reply }
  /** Stream: send this many events, then destroy the connection. */
  | { readonly kind: "cut"; readonly afterEvents: number; readonly reply?: Reply }
  /** Stream: send this many events, then end the response cleanly without the rest. */
  | { readonly kind: "endEarly"; readonly afterEvents: number; readonly reply?: Reply }
  /** Stream: send this many events, then the vendor's in-stream error event. */
  | { readonly kind: "streamError"; readonly afterEvents: number; readonly message: string; readonly type?: string }
  /** An exact answer, for vendor-specific cases recorded from the real APIs. */
  | {
      readonly kind: "raw"
      readonly status: number
      readonly body: string
      readonly headers?: Readonly<Record<string, string>>
    }

/** Fake tokens: one per word, spaces kept with the word before them. */
export const pieces = (text: string): Array<string> => (text === "" ? [] : text.split(/(?<= )/))

export const estimateTokens = (value: unknown): number => Math.ceil(JSON.stringify(value ?? "").length / 4)

export interface Rendered {
  readonly pieces: ReadonlyArray<string>
  readonly toolCalls: ReadonlyArray<ScriptedToolCall>
  readonly finish: "stop" | "length" | "tool_calls" | "content_filter"
  /** The stop sequence that ended the text, if one did. */
  readonly stopSequence: string | undefined
  readonly usage: Required<ScriptedUsage>
}

/** Applies what a real model would: stop sequences cut the text, the token budget truncates it. */
export const render = (
  reply: Reply,
  options: { readonly stop: ReadonlyArray<string>; readonly maxTokens: number | undefined; readonly input: number }
): Rendered => {
  let text = reply.text ?? ""
  let stopSequence: string | undefined
  for (const stop of options.stop) {
    const at = text.indexOf(stop)
    if (stop !== "" && at !== -1) {
      text = text.slice(0, at)
      stopSequence = stop
    }
  }
  let words = pieces(text)
  let finish = reply.finish ?? ((reply.toolCalls ?? []).length > 0 ? "tool_calls" : "stop")
  if (options.maxTokens !== undefined && words.length > options.maxTokens) {
    words = words.slice(0, options.maxTokens)
    finish = "length"
  }
  const toolCalls = finish === "length" ? [] : (reply.toolCalls ?? [])
  const output = reply.usage?.output ?? words.length + toolCalls.length * 10
  return {
    pieces: words,
    toolCalls,
    finish,
    stopSequence: finish === "stop" ? stopSequence : undefined,
    usage: {
      input: reply.usage?.input ?? options.input,
      output,
      cacheRead: reply.usage?.cacheRead ?? 0,
      cacheWrite: reply.usage?.cacheWrite ?? 0,
      reasoning: reply.usage?.reasoning ?? 0
    }
  }
}

/** All billed input: plain, read from a cache and written to one. */
export const promptTotal = (usage: Required<ScriptedUsage>): number => usage.input + usage.cacheRead + usage.cacheWrite

/** The arguments of a tool call cut in two, as upstreams stream them. */
export const halves = (json: string): [string, string] => {
  const middle = Math.ceil(json.length / 2)
  return [json.slice(0, middle), json.slice(middle)]
}
