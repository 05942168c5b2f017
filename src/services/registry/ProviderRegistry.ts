/**
 * Resolves a public model id to its catalog entry and the provider adapter that serves
 * it: the real adapter when its API key is set, else the simulator when simulation is on.
 * A catalog model that nothing can serve stops start-up.
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { GatewayConfig, type GatewayConfigShape } from "../../Config.ts"
import type { CatalogModel, ProviderName } from "../../domain/Catalog.ts"
import { NotFound, quoted } from "../../domain/errors.ts"
import type { Provider } from "../../providers/Provider.ts"
import { makeSimulator } from "../../providers/simulator/Simulator.ts"
import { ModelCatalog } from "./ModelCatalog.ts"

/** The real adapters, by provider: one for each provider whose API key is set. */
export class ProviderAdapters extends Context.Service<
  ProviderAdapters,
  Partial<Record<Exclude<ProviderName, "simulator">, Provider>>
>()("gateway/ProviderAdapters") {
  static readonly layerNone = Layer.succeed(ProviderAdapters, {})

  /**
   * Each adapter owns its connection pool, closed when the layer is released. Adapters are
   * loaded only for the providers configured: a gateway never loads the code of a provider it
   * does not call.
   */
  static readonly layer = Layer.effect(
    ProviderAdapters,
    Effect.gen(function* () {
      const { providers, upstreamTimeouts } = yield* GatewayConfig
      const adapters: Partial<Record<Exclude<ProviderName, "simulator">, Provider>> = {}
      const { openai, anthropic, gemini } = providers
      if (openai.apiKey !== undefined) {
        const { makeOpenAIAdapter } = yield* Effect.promise(() => import("../../providers/openai/OpenAIAdapter.ts"))
        adapters.openai = yield* makeOpenAIAdapter({ ...openai, apiKey: openai.apiKey }, upstreamTimeouts.openai)
      }
      if (anthropic.apiKey !== undefined) {
        const { makeAnthropicAdapter } = yield* Effect.promise(
          () => import("../../providers/anthropic/AnthropicAdapter.ts")
        )
        adapters.anthropic = yield* makeAnthropicAdapter(
          { ...anthropic, apiKey: anthropic.apiKey },
          upstreamTimeouts.anthropic
        )
      }
      if (gemini.apiKey !== undefined) {
        const { makeGeminiAdapter } = yield* Effect.promise(() => import("../../providers/gemini/GeminiAdapter.ts"))
        adapters.gemini = yield* makeGeminiAdapter({ ...gemini, apiKey: gemini.apiKey }, upstreamTimeouts.gemini)
      }
      return adapters
    })
  )
}

export class ProvidersUnavailable extends Schema.TaggedError<ProvidersUnavailable>()("ProvidersUnavailable", {
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `Some catalog models cannot be served:\n${this.problems.map((problem) => `  - ${problem}`).join("\n")}`
  }
}

const keyVariable = { openai: "OPENAI_API_KEY", anthropic: "ANTHROPIC_API_KEY", gemini: "GEMINI_API_KEY" } as const

const hasKey = (config: GatewayConfigShape, provider: Exclude<ProviderName, "simulator">): boolean =>
  config.providers[provider].apiKey !== undefined

export interface ResolvedModel {
  readonly model: CatalogModel
  readonly provider: Provider
}

export class ProviderRegistry extends Context.Service<
  ProviderRegistry,
  {
    /** The catalog entry of a public model id or alias, and the adapter that serves it. */
    readonly resolve: (modelId: string) => Effect.Effect<ResolvedModel, NotFound>
    /** The adapter of a catalog entry (fallbacks resolve through this). */
    readonly providerOf: (model: CatalogModel) => Provider
  }
>()("gateway/ProviderRegistry") {
  static readonly layer = Layer.effect(
    ProviderRegistry,
    Effect.gen(function* () {
      const config = yield* GatewayConfig
      const catalog = yield* ModelCatalog
      const adapters = yield* ProviderAdapters
      const simulator = makeSimulator({ chunkDelayMs: Duration.toMillis(config.providers.simulatorChunkDelay) })

      const problems: Array<string> = []
      const providers = new Map<string, Provider>()
      for (const model of catalog.models) {
        if (model.provider === "simulator") {
          providers.set(model.id, simulator)
          continue
        }
        const adapter = adapters[model.provider]
        if (hasKey(config, model.provider) && adapter !== undefined) {
          providers.set(model.id, adapter)
        } else if (config.providers.simulate) {
          providers.set(model.id, simulator)
        } else {
          problems.push(
            hasKey(config, model.provider)
              ? `${model.id}: no adapter for provider ${model.provider}`
              : `${model.id}: ${keyVariable[model.provider]} is not set (or set SIMULATE_PROVIDERS=true)`
          )
        }
      }
      if (problems.length > 0) return yield* new ProvidersUnavailable({ problems })
      const simulated = catalog.models.filter((model) => providers.get(model.id) === simulator)
      if (simulated.length > 0) {
        const names = simulated.map((model) => model.id).join(", ")
        // In production a simulated model bills users catalog prices for made-up text: say so loudly.
        yield* config.server.environment === "production"
          ? Effect.logWarning(
              `SIMULATE_PROVIDERS is on in production: ${names} answer with SIMULATED text, billed at catalog prices. ` +
                "Never serve real users this way; set the providers' API keys and SIMULATE_PROVIDERS=false"
            )
          : Effect.logInfo(`Simulated models (no API key): ${names}`)
      }

      // Every public name of an entry, aliases included, resolves to the entry itself.
      const resolved = new Map<string, ResolvedModel>()
      for (const model of catalog.models) {
        const target = { model, provider: providers.get(model.id)! }
        resolved.set(model.id, target)
        for (const alias of model.aliases) resolved.set(alias, target)
      }
      return ProviderRegistry.of({
        resolve: (modelId) => {
          const found = resolved.get(modelId)
          return found === undefined
            ? Effect.fail(
                new NotFound({
                  message: `The model ${quoted(modelId)} does not exist or is not served by this gateway`,
                  param: "model"
                })
              )
            : Effect.succeed(found)
        },
        providerOf: (model) => providers.get(model.id)!
      })
    })
  ).pipe(Layer.provide(ModelCatalog.layer))
}
