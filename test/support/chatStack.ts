/**
 * The chat services without HTTP — ChatCompletions over Resilience, CircuitBreakers and the
 * ProviderRegistry, as production wires them — serving a small catalog through a scripted provider,
 * with billing that never refuses (Billing.layerTest), so that tests can drive every timing rule
 * with TestClock.
 */
import { Effect, Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { GatewayConfig, type RawEnv } from "../../src/Config.ts"
import type { CatalogEntryJson } from "../../src/domain/Catalog.ts"
import { ChatCompletions, type ChatInput } from "../../src/services/chat/ChatCompletions.ts"
import { ProviderAdapters } from "../../src/services/registry/ProviderRegistry.ts"
import { CircuitBreakers } from "../../src/services/resilience/CircuitBreakers.ts"
import { type ResilienceEvent, ResilienceEvents } from "../../src/services/resilience/ResilienceEvents.ts"
import { RequestRecord } from "../../src/services/telemetry/RequestRecord.ts"
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

/** `primary` falls back to `backup`, then `spare`; `other` has no fallback. Read as MODELS_FILE, as production reads a catalog. */
const modelsFile = join(mkdtempSync(join(tmpdir(), "chat-stack-")), "models.json")
writeFileSync(
  modelsFile,
  JSON.stringify({ models: [entry("primary", ["backup", "spare"]), entry("backup"), entry("spare"), entry("other")] })
)

/** Jitter is off unless a test turns it on, so that delays are exact. Events go to `events` when given. */
export const chatStack = (provider: ScriptedProvider, env: RawEnv = {}, events?: Array<ResilienceEvent>) =>
  Layer.mergeAll(ChatCompletions.layerTest, CircuitBreakers.layer).pipe(
    Layer.provide(Layer.succeed(ProviderAdapters, { openai: provider })),
    Layer.provide(
      events === undefined
        ? Layer.empty
        : Layer.succeed(ResilienceEvents, (event) => Effect.sync(() => void events.push(event)))
    ),
    Layer.provideMerge(
      GatewayConfig.layerTest({ OPENAI_API_KEY: "test-key", RETRY_JITTER: "false", MODELS_FILE: modelsFile, ...env })
    )
  )

export const chatInput = (model: string, requestId = "req_test"): ChatInput => ({
  user: { id: "user-test", role: "user", tokenExpiresAt: 0 },
  request: { model, messages: [{ role: "user", content: "hello" }] },
  requestId,
  observer: new RequestRecord({ requestId, method: "POST", route: "/v1/chat/completions" }),
  admission: Effect.void,
  upstreamCalled: Effect.void
})
