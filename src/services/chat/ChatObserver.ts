/**
 * What the chat and embeddings pipelines tell whoever watches a request: the phases it goes through and the facts it learns,
 * never a decision. The request's telemetry record implements it (the metrics, the log line and the exporters are
 * made from what it was told); the pipeline neither reads it back nor knows what becomes of it. Each call is
 * quick, synchronous and never fails: the hot path only pays a method call.
 */
import type { CatalogModel } from "../../domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../domain/Chat.ts"
import type { Settlement } from "../billing/Billing.ts"
import type { Outcome } from "../billing/Metering.ts"

/** What every upstream request (chat or embeddings) goes through: the upstream phase, its attempts, the settle. */
export interface UpstreamObserver {
  /** The upstream phase begins: attempts, retry waits and fallbacks, until the answer or a stream's first chunk. */
  upstreamStarted(): void
  upstreamEnded(): void
  /** One upstream attempt is sent. */
  attemptStarted(): void
  /** An attempt answered, or failed for a reason that says something about the upstream's health. */
  attemptEnded(model: string, succeeded: boolean): void
  /** What the request was charged: `settlement` is undefined when billing could not record it yet. */
  settled(outcome: Outcome, settlement: Settlement | undefined): void
}

export interface ChatObserver extends UpstreamObserver {
  /** The model the client named is in the catalog; `stream` says which path serves the request. */
  chatStarted(model: CatalogModel, request: ChatCompletionRequest, stream: boolean): void
  /** `model` of `provider` answered with the whole completion. */
  completed(model: CatalogModel, provider: string, completion: ChatCompletion): void
  /** `model` of `provider` sent a stream's first chunk: its attempt succeeded, the answer streams from it. */
  streamAnswered(model: CatalogModel, provider: string): void
  /** A chunk of the answer, on its way to the client. */
  streamed(chunk: ChatCompletionChunk): void
  /** The answer's stream is over, however it ended. */
  streamEnded(): void
}

export interface EmbeddingObserver extends UpstreamObserver {
  /** The embedding model the client named is in the catalog. */
  embeddingStarted(model: CatalogModel): void
  /** `model` of `provider` answered with the vectors. */
  embedded(model: CatalogModel, provider: string): void
}
