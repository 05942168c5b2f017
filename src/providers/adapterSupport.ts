/**
 * What the three adapters do alike around their vendor calls: turning a thrown upstream
 * failure into a ProviderError, a translation refusal into one, and minting ids.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import type { CatalogModel } from "../domain/Catalog.ts"
import { ProviderError, type ProviderErrorReason } from "../domain/ProviderError.ts"

export type Vendor = "openai" | "anthropic" | "google"

export type Fail = (reason: ProviderErrorReason) => ProviderError

export const failFor =
  (provider: Vendor, model: CatalogModel): Fail =>
  (reason) =>
    new ProviderError({ provider, model: model.id, reason })

/** What a vendor's thrown error means; `nowMs` resolves `Retry-After` dates. */
export type ReasonOf = (error: unknown, nowMs: number) => ProviderErrorReason

export const failWith =
  (reasonOf: ReasonOf, fail: Fail) =>
  (error: unknown): Effect.Effect<never, ProviderError> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(fail(reasonOf(error, now))))

/** For `Stream.catch`: the stream fails with what the vendor's error means. */
export const streamFailWith =
  (reasonOf: ReasonOf, fail: Fail) =>
  (error: unknown): Stream.Stream<never, ProviderError> =>
    Stream.fromEffect(failWith(reasonOf, fail)(error))

/** A promise-returning vendor call; interrupting the effect aborts `signal`, and with it the request. */
export const callUpstream = <A>(
  run: (signal: AbortSignal) => PromiseLike<A>,
  reasonOf: ReasonOf,
  fail: Fail
): Effect.Effect<A, ProviderError> =>
  Effect.tryPromise({ try: run, catch: (error) => error }).pipe(Effect.catch(failWith(reasonOf, fail)))

/** An abort signal that fires when the enclosing scope closes: a stream's request lives as long as the stream. */
export const scopedAbortSignal: Effect.Effect<AbortSignal, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => new AbortController()),
    (controller) => Effect.sync(() => controller.abort())
  ),
  (controller) => controller.signal
)

export const fromTranslation = <A>(
  result: Result.Result<A, ProviderErrorReason>,
  fail: Fail
): Effect.Effect<A, ProviderError> =>
  Result.isSuccess(result) ? Effect.succeed(result.success) : Effect.fail(fail(result.failure))

export const newCompletionId = Effect.sync(() => `chatcmpl-${randomUUID().replaceAll("-", "")}`)

export const nowSeconds = Effect.map(Clock.currentTimeMillis, (ms) => Math.floor(ms / 1000))
