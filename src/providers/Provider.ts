/**
 * The one contract every provider adapter implements. Requests and answers are the
 * canonical (OpenAI-shaped) types of `domain/Chat.ts`; adapters translate at their edge.
 */
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { CatalogModel, ProviderName } from "../domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../domain/Chat.ts"
import type { EmbeddingInputs } from "../domain/Embeddings.ts"
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

export interface EmbeddingProviderRequest {
  readonly inputs: EmbeddingInputs
  /** The embedding model of the catalog that answers. */
  readonly model: CatalogModel
  /** The vector length asked for; undefined: the model's own. */
  readonly dimensions: number | undefined
  /** The end user as providers see it: the gateway's id of the authenticated user. */
  readonly user: string | undefined
  readonly requestId: string
}

export interface EmbeddingResult {
  /** One vector of floats per input, in the order of the inputs. */
  readonly vectors: ReadonlyArray<ReadonlyArray<number>>
  /** The input tokens the provider reported (a token count); undefined when it reports none (Gemini). */
  readonly promptTokens: number | undefined
}

/**
 * Failures are ProviderErrors. A request the provider cannot serve (`n > 1` or
 * `temperature` above 1 on Anthropic, …) fails with reason `Unsupported`, naming the
 * field, before any upstream call; cancelling the effect or the stream aborts the
 * upstream request. A successful upstream answer that cannot be understood (undecodable,
 * or usage that is not token counts) fails with reason `Protocol`, never `Transport`,
 * which stays for connections that fail and streams cut before their end.
 *
 * Usage is the provider's, in OpenAI's shape (`Usage` in domain/Chat.ts): `prompt_tokens`
 * all billed input, `completion_tokens` all output, with cache reads, cache writes and
 * reasoning in the details when the provider reports them. Every count in it is a
 * non-negative integer ≤ 2³¹ − 1 and every detail within its total.
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
   * their `index`, every choice ends with a `finish_reason`.
   *
   * Usage travels in usage chunks (`choices: []`), whether or not the client asked for
   * it. A stream may carry several: each holds the cumulative usage known so far, sent as
   * soon as the upstream reports a change (Anthropic's input counts at `message_start`,
   * right after the role chunk; Gemini's running totals). The last usage chunk of a stream
   * that ended normally is the final usage, and it is the stream's last chunk. So billing
   * takes the latest usage chunk seen (exact counts even when a stream is cut), and the
   * HTTP layer sends clients who asked `include_usage` only the last one, at the end.
   */
  readonly stream: (request: ProviderRequest) => Stream.Stream<ChatCompletionChunk, ProviderError>
  /**
   * Embeddings, for providers that have them (Anthropic has none). Inputs the provider cannot take
   * (token arrays on Gemini) fail with reason `Unsupported` before any upstream call.
   */
  readonly embed?: (request: EmbeddingProviderRequest) => Effect.Effect<EmbeddingResult, ProviderError>
}
