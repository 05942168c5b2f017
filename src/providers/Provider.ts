/**
 * The one contract every provider adapter implements. Requests and answers are the
 * canonical (OpenAI-shaped) types of `domain/Chat.ts`; adapters translate at their edge.
 */
import type { Effect, Stream } from "effect"
import type { CatalogModel, ProviderName } from "../domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../domain/Chat.ts"
import type { ProviderError } from "../domain/ProviderError.ts"

export interface ProviderRequest {
  /** The client's request, validated. */
  readonly request: ChatCompletionRequest
  /** The catalog entry that answers: it names the upstream model. */
  readonly model: CatalogModel
  /** The completion budget decided by the gateway; adapters always send it upstream. */
  readonly maxTokens: number
  readonly requestId: string
}

/**
 * Failures are ProviderErrors. A request the provider cannot serve (`n > 1` or
 * `temperature` above 1 on Anthropic, …) fails with reason `Unsupported`, naming the
 * field, before any upstream call; cancelling the effect or the stream aborts the
 * upstream request.
 */
export interface Provider {
  readonly name: ProviderName | "simulator"
  /**
   * A whole completion. `model` in the answer is the public id of `request.model`, and
   * `usage` is present whenever the upstream reported it.
   */
  readonly complete: (request: ProviderRequest) => Effect.Effect<ChatCompletion, ProviderError>
  /**
   * A streamed completion: the first chunk carries `delta.role`, tool-call deltas carry
   * their `index`, every choice ends with a `finish_reason`, and when the upstream reports
   * usage the stream ends with one usage chunk (`choices: []`), whether or not the client
   * asked for it; the HTTP layer drops it for clients that did not.
   */
  readonly stream: (request: ProviderRequest) => Stream.Stream<ChatCompletionChunk, ProviderError>
}
