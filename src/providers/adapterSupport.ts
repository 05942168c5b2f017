/**
 * What the three adapters do alike around their vendor calls (UpstreamHttp.ts does the
 * calls): turning a translation refusal into a ProviderError, and minting ids.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { randomUUID } from "node:crypto"
import type { CatalogModel, ProviderName } from "../domain/Catalog.ts"
import { ProviderError, type ProviderErrorReason } from "../domain/ProviderError.ts"

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
