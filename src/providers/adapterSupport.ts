/**
 * What the three adapters do alike around their vendor calls (UpstreamHttp.ts does the
 * calls): making the client, failing as the provider and bounding every call, turning a
 * translation refusal into a ProviderError, and minting ids.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import type { UpstreamTimeouts } from "../Config.ts"
import type { CatalogModel, ProviderName } from "../domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionChunk } from "../domain/Chat.ts"
import { ProviderError, type ProviderErrorReason } from "../domain/ProviderError.ts"
import { boundCall, boundStream } from "./Bounds.ts"
import type { EmbeddingProviderRequest, EmbeddingResult, Provider, ProviderRequest } from "./Provider.ts"
import { type KeyedEndpoint, makeUpstreamHttp, type UpstreamHttp, type UpstreamVendor } from "./UpstreamHttp.ts"

export type Vendor = Exclude<ProviderName, "simulator">

export type Fail = (reason: ProviderErrorReason) => ProviderError

export const failFor =
  (provider: Vendor, model: CatalogModel): Fail =>
  (reason) =>
    new ProviderError({ provider, model: model.id, reason })

export const fromTranslation = <A>(
  result: Result.Result<A, ProviderErrorReason>,
  fail: Fail
): Effect.Effect<A, ProviderError> =>
  Result.isSuccess(result) ? Effect.succeed(result.success) : Effect.fail(fail(result.failure))

export const newCompletionId = Effect.sync(() => `chatcmpl-${randomUUID().replaceAll("-", "")}`)

export const nowSeconds = Effect.map(Clock.currentTimeMillis, (ms) => Math.floor(ms / 1000))

/** Bounds a stream's opening and the gaps between its events (Bounds.ts). */
export type BoundOpen = <A>(
  open: Effect.Effect<Stream.Stream<A, ProviderError>, ProviderError, Scope.Scope>
) => Stream.Stream<A, ProviderError>

/** An adapter's own part: its calls over its vendor's client, failing with `fail`. */
export interface VendorCalls {
  readonly complete: (input: ProviderRequest, fail: Fail) => Effect.Effect<ChatCompletion, ProviderError>
  /** `bound` goes around the effect that opens the upstream stream. */
  readonly stream: (
    input: ProviderRequest,
    fail: Fail,
    bound: BoundOpen
  ) => Stream.Stream<ChatCompletionChunk, ProviderError>
  /** Embeddings, for vendors that have them. */
  readonly embed?: (input: EmbeddingProviderRequest, fail: Fail) => Effect.Effect<EmbeddingResult, ProviderError>
}

/**
 * An adapter for one endpoint: the vendor's client, and its calls, each failing as this provider and the
 * request's model and bounded by the upstream timeouts (Bounds.ts), so that no adapter can leave either out.
 */
export const makeAdapter = (provider: Vendor, vendor: UpstreamVendor, calls: (http: UpstreamHttp) => VendorCalls) =>
  Effect.fnUntraced(function* (endpoint: KeyedEndpoint, timeouts: UpstreamTimeouts) {
    const { complete, stream, embed } = calls(yield* makeUpstreamHttp(vendor, endpoint, timeouts))
    return {
      name: provider,
      complete: (input) => {
        const fail = failFor(provider, input.model)
        return boundCall(complete(input, fail), timeouts, fail, input.maxTokens)
      },
      stream: (input) => {
        const fail = failFor(provider, input.model)
        return stream(input, fail, (open) => boundStream(open, timeouts, fail))
      },
      // No output: only the total timeout bounds an embeddings call.
      ...(embed === undefined
        ? {}
        : {
            embed: (input: EmbeddingProviderRequest) => {
              const fail = failFor(provider, input.model)
              return boundCall(embed(input, fail), timeouts, fail, 0)
            }
          })
    } satisfies Provider
  })
