/**
 * What one request did, written as it happens and read once when it is over (for the
 * metrics, the request log line, Langfuse and Sentry). A plain mutable object: the hot path
 * only assigns fields and reads a monotonic clock. The HTTP middleware writes who asked and how
 * it was answered; the chat pipeline tells it the rest through its `ChatObserver` side.
 */
import type * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import type { CatalogModel } from "../../domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../domain/Chat.ts"
import type { ApiError } from "../../domain/errors.ts"
import type { Outcome } from "../billing/Metering.ts"
import type { Settlement } from "../billing/Billing.ts"
import type { ChatObserver, EmbeddingObserver } from "../chat/ChatObserver.ts"

/** Monotonic milliseconds, sub-millisecond precision. */
export const now = (): number => performance.now()

/** Told of each upstream attempt's outcome (the recent outcomes behind `/health/detailed`). */
export type AttemptListener = (model: string, succeeded: boolean) => void

const ignoreAttempts: AttemptListener = () => {}

/** Milliseconds as headers and log lines show them: two decimals. */
export const round2 = (ms: number): number => Math.round(ms * 100) / 100

/** The text of an answer, for exporters that were allowed to keep it (LANGFUSE_LOG_CONTENT). */
const contentOf = (completion: ChatCompletion): string =>
  completion.choices
    .map((choice) => (typeof choice.message.content === "string" ? choice.message.content : ""))
    .join("\n")

export class RequestRecord implements ChatObserver, EmbeddingObserver {
  readonly requestId: string
  readonly method: string
  readonly route: string
  /** Monotonic milliseconds (`performance.now()`); `performance.timeOrigin + startedAt` is the epoch time. */
  readonly startedAt: number
  readonly onAttempt: AttemptListener
  /** Whether Langfuse wants the prompt and completion text. */
  readonly keepsContent: boolean

  status = 0
  /** The client's own id for the request (a validated correlation id), beside the gateway's `requestId`. */
  clientRequestId: string | undefined = undefined
  userId: string | undefined = undefined
  /** The error the client was answered with, if any. */
  error: ApiError | undefined = undefined
  /** What escaped every handler (a bug): reported to Sentry, never shown to the client. */
  defect: Cause.Cause<unknown> | undefined = undefined

  // --- Model requests (chat and embeddings) only ---
  /** The model the client asked for. */
  model: CatalogModel | undefined = undefined
  /** Chat requests only. */
  request: ChatCompletionRequest | undefined = undefined
  stream = false
  /** The model and provider that answered. */
  answeredBy: CatalogModel | undefined = undefined
  provider: string | undefined = undefined
  /** Start of the upstream phase (attempts, retry waits and fallbacks). */
  upstreamStartedAt = 0
  /** Length of the upstream phase: until the answer, or a stream's first chunk. */
  upstreamMs = 0
  attemptStartedAt = 0
  /** Streams: from sending the answering attempt to its first chunk. */
  firstChunkMs: number | undefined = undefined
  /** Time spent in the gateway before the response (or a stream's first event) was ready, upstream phase excluded. */
  overheadMs: number | undefined = undefined
  /** Until the answer, or the end of the stream. */
  answeredAt = 0
  usage: Extract<Outcome, { _tag: "Charge" }> | undefined = undefined
  settlement: Settlement | undefined = undefined
  /** A stream that failed after it began. */
  streamFailure: string | undefined = undefined
  completionText: string | undefined = undefined

  constructor(options: {
    readonly requestId: string
    readonly method: string
    readonly route: string
    readonly onAttempt?: AttemptListener
    readonly keepsContent?: boolean
  }) {
    this.requestId = options.requestId
    this.method = options.method
    this.route = options.route
    this.startedAt = now()
    this.onAttempt = options.onAttempt ?? ignoreAttempts
    this.keepsContent = options.keepsContent ?? false
  }

  elapsedMs(): number {
    return now() - this.startedAt
  }

  chatStarted(model: CatalogModel, request: ChatCompletionRequest, stream: boolean): void {
    this.model = model
    this.request = request
    this.stream = stream
  }

  embeddingStarted(model: CatalogModel): void {
    this.model = model
  }

  embedded(model: CatalogModel, provider: string): void {
    this.answered(model, provider)
  }

  /**
   * The rate limiter refused the request after the handler had begun (they run concurrently):
   * it is recorded as before, a refusal and not an LLM request.
   */
  rateLimited(): void {
    this.model = undefined
    this.request = undefined
    this.settlement = undefined
  }

  upstreamStarted(): void {
    this.upstreamStartedAt = now()
  }

  upstreamEnded(): void {
    this.upstreamMs = now() - this.upstreamStartedAt
  }

  attemptStarted(): void {
    this.attemptStartedAt = now()
  }

  attemptEnded(model: string, succeeded: boolean): void {
    this.onAttempt(model, succeeded)
    if (succeeded) {
      this.answeredAt = now()
      if (this.stream) this.firstChunkMs = this.answeredAt - this.attemptStartedAt
    }
  }

  answered(model: CatalogModel, provider: string): void {
    this.answeredBy = model
    this.provider = provider
  }

  completed(model: CatalogModel, provider: string, completion: ChatCompletion): void {
    this.answered(model, provider)
    if (this.keepsContent) this.completionText = contentOf(completion)
  }

  streamAnswered(model: CatalogModel, provider: string): void {
    this.attemptEnded(model.id, true)
    this.answered(model, provider)
  }

  streamEnded(): void {
    this.answeredAt = now()
  }

  settled(outcome: Outcome, settlement: Settlement | undefined): void {
    if (outcome._tag === "Charge") this.usage = outcome
    this.settlement = settlement
  }

  /** Streams, when content is kept: appends the chunk's text. */
  streamed(chunk: ChatCompletionChunk): void {
    if (!this.keepsContent) return
    for (const choice of chunk.choices) {
      if (choice.delta.content) this.completionText = (this.completionText ?? "") + choice.delta.content
    }
  }

  /** `x-gateway-overhead-ms` and `x-upstream-latency-ms`, as of now; fixes the overhead the metrics report. */
  timingHeaders(): Record<string, string> {
    this.overheadMs = Math.max(0, this.elapsedMs() - this.upstreamMs)
    return {
      "x-gateway-overhead-ms": String(round2(this.overheadMs)),
      "x-upstream-latency-ms": String(round2(this.upstreamMs))
    }
  }
}

/** The record of the request being served; outside a request (tests of services), a throwaway one. */
export const CurrentRequest = Context.Reference<RequestRecord>("gateway/telemetry/CurrentRequest", {
  defaultValue: () => new RequestRecord({ requestId: "", method: "", route: "" })
})
