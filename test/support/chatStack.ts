/**
 * The chat services without HTTP — ChatCompletions over Resilience, CircuitBreakers and the
 * ProviderRegistry — serving a small catalog through a scripted provider, with billing that
 * never refuses, so that tests can drive every timing rule with TestClock.
 */
import { Effect, Layer } from "effect"
import { GatewayConfig, type RawEnv } from "../../src/Config.ts"
import type { CatalogEntryJson } from "../../src/domain/Catalog.ts"
import { ChatCompletions, type ChatInput } from "../../src/services/chat/ChatCompletions.ts"
import { buildCatalog, CatalogInvalid, ModelCatalog } from "../../src/services/registry/ModelCatalog.ts"
import { ProviderAdapters, ProviderRegistry } from "../../src/services/registry/ProviderRegistry.ts"
import { CircuitBreakers } from "../../src/services/resilience/CircuitBreakers.ts"
import { Resilience } from "../../src/services/resilience/Resilience.ts"
import { type ResilienceEvent, ResilienceEvents } from "../../src/services/resilience/ResilienceEvents.ts"
import { RequestRecord } from "../../src/services/telemetry/RequestRecord.ts"
import { freeBilling } from "./freeBilling.ts"
import type { ScriptedProvider } from "./scriptedProvider.ts"

const entry = (id: string, fallbacks: ReadonlyArray<string> = []): CatalogEntryJson => ({
  id,
  provider: "openai",
  upstream_model: id,
  input_price_per_1m: 1,
  output_price_per_1m: 2,
  max_output_tokens: 4096,
  context_window: 128000,
  fallbacks
})

/** `primary` falls back to `backup`, then `spare`; `other` has no fallback. */
const models = buildCatalog(
  [entry("primary", ["backup", "spare"]), entry("backup"), entry("spare"), entry("other")],
  "test catalog"
)
if (models instanceof CatalogInvalid) throw models

/** Jitter is off unless a test turns it on, so that delays are exact. Events go to `events` when given. */
export const chatStack = (provider: ScriptedProvider, env: RawEnv = {}, events?: Array<ResilienceEvent>) =>
  ChatCompletions.layer.pipe(
    Layer.provideMerge(Resilience.layer),
    Layer.provideMerge(freeBilling()),
    Layer.provideMerge(CircuitBreakers.layer),
    Layer.provideMerge(ProviderRegistry.layer),
    Layer.provideMerge(Layer.succeed(ProviderAdapters, { openai: provider })),
    Layer.provideMerge(Layer.succeed(ModelCatalog, ModelCatalog.make(models))),
    Layer.provideMerge(GatewayConfig.layerTest({ OPENAI_API_KEY: "test-key", RETRY_JITTER: "false", ...env })),
    Layer.provideMerge(
      events === undefined
        ? Layer.empty
        : Layer.succeed(ResilienceEvents, (event) => Effect.sync(() => void events.push(event)))
    )
  )

export const chatInput = (model: string, requestId = "req_test"): ChatInput => ({
  user: { id: "user-test", role: "user", tokenExpiresAt: 0 },
  request: { model, messages: [{ role: "user", content: "hello" }] },
  requestId,
  record: new RequestRecord({ requestId, method: "POST", route: "/v1/chat/completions" }),
  admission: Effect.void,
  upstreamCalled: Effect.void
})
