/**
 * Watches a stream's chunks as they pass, so that however the stream ends it can say what to
 * charge (the policy table of docs/billing.md):
 * - it completed: the provider's final usage (the last usage chunk), else the tokenizer's count;
 * - the client left, or was cut off for not reading: what was metered (`partialCharge`);
 * - the upstream failed after output began, or sent something it could not be understood: what was metered;
 * - the upstream failed before any output (at most the role chunk came): nothing.
 * A stream that never produced a chunk is charged nothing, unless its answer was a protocol error
 * (the upstream did the work): then the tokenizer's count of the prompt and what could be read.
 */
import type { CatalogModel } from "../../domain/Catalog.ts"
import type { ChatCompletionChunk, ChatCompletionRequest, Usage } from "../../domain/Chat.ts"
import type { ProviderError, ProviderErrorReason, ProtocolReason } from "../../domain/ProviderError.ts"
import { countTextTokens } from "../../domain/Tokens.ts"
import { type Outcome, partialCharge, providerCharge, release, tokenizerCharge } from "./Metering.ts"

type Ending =
  | { readonly _tag: "Completed" }
  | { readonly _tag: "Failed"; readonly reason: ProviderErrorReason }
  /** Interrupted: the client left or stopped reading (also the state while the stream runs). */
  | { readonly _tag: "Cut" }

const cut: Ending = { _tag: "Cut" }

export class StreamMeter {
  readonly #request: ChatCompletionRequest
  /** The latest usage the provider reported: each usage chunk is the cumulative usage so far. */
  #usage: Usage | undefined = undefined
  #started = false
  /**
   * What the client was sent of the answer (text, refusals, tool-call names and arguments) and
   * not counted yet. Pieces are counted when a count is needed (a renewal, the end), each once:
   * a long stream is never tokenized again from its start.
   */
  readonly #uncounted: Array<string> = []
  #streamedTokens = 0
  #streamedAny = false
  #ending: Ending = cut
  #unreadable: { readonly model: CatalogModel; readonly text: string } | undefined = undefined

  constructor(request: ChatCompletionRequest) {
    this.#request = request
  }

  readonly observe = (chunk: ChatCompletionChunk): void => {
    this.#started = true
    if (chunk.usage !== undefined && chunk.usage !== null) this.#usage = chunk.usage
    for (const { delta } of chunk.choices) {
      if (delta.content) this.#uncounted.push(delta.content)
      if (delta.refusal) this.#uncounted.push(delta.refusal)
      for (const call of delta.tool_calls ?? []) {
        if (call.function?.name) this.#uncounted.push(call.function.name)
        if (call.function?.arguments) this.#uncounted.push(call.function.arguments)
      }
    }
  }

  /** The tokenizer's count of what was streamed, as `model` (the answering one, fixed once chunks flow) bills it. */
  #streamed(model: CatalogModel): number {
    for (const piece of this.#uncounted) this.#streamedTokens += countTextTokens(piece, model)
    if (this.#uncounted.length > 0) this.#streamedAny = true
    this.#uncounted.length = 0
    return this.#streamedTokens
  }

  /**
   * The answering stream reached its end. Not told when the consumer stopped early (the client
   * left, or was cut off for not reading): that stream stays cut.
   */
  completed(): void {
    this.#ending = { _tag: "Completed" }
  }

  /** The answering stream failed upstream. */
  failed(error: ProviderError): void {
    this.#ending = { _tag: "Failed", reason: error.reason }
  }

  /** An attempt answered with something that could not be understood, before its first chunk. */
  unreadable(model: CatalogModel, reason: ProtocolReason): void {
    this.#unreadable = { model, text: reason.completionText ?? "" }
  }

  /** What to charge now that the stream is over. */
  outcome(answeredBy: CatalogModel): Outcome {
    if (!this.#started) {
      return this.#unreadable === undefined
        ? release
        : tokenizerCharge(this.#request, this.#unreadable.model, this.#unreadable.text)
    }
    const ending = this.#ending
    if (ending._tag === "Completed") {
      return this.#usage === undefined
        ? partialCharge(this.#request, answeredBy, undefined, this.#streamed(answeredBy))
        : providerCharge(answeredBy, this.#usage)
    }
    const streamed = this.#streamed(answeredBy)
    if (ending._tag === "Failed" && ending.reason._tag !== "Protocol" && !this.#streamedAny) return release
    return partialCharge(this.#request, answeredBy, this.#usage, streamed)
  }

  /** What the stream has metered so far, as if it were cut now: what each renewal writes on the hold. */
  sofar(answeredBy: CatalogModel): Outcome {
    return this.#started ? partialCharge(this.#request, answeredBy, this.#usage, this.#streamed(answeredBy)) : release
  }
}
