/**
 * The catalog loader beyond prices: required limits, capability combinations the translators
 * rely on, and aliases that resolve to exactly one entry; each bad catalog stops start-up with
 * every problem named.
 */
import { Cause, Effect, Exit, Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { GatewayConfig } from "../../src/Config.ts"
import type { CatalogModel } from "../../src/domain/Catalog.ts"
import { buildCatalog, builtInModels, CatalogInvalid, ModelCatalog } from "../../src/services/registry/ModelCatalog.ts"

const entry = {
  id: "m1",
  provider: "openai",
  upstream_model: "gpt-4.1",
  input_price_per_1m: 2,
  output_price_per_1m: 8,
  max_output_tokens: 32768,
  context_window: 1047576
}
const claude = { ...entry, id: "c1", provider: "anthropic", upstream_model: "claude-x", max_output_tokens: 64000 }

const problemsOf = (entries: ReadonlyArray<unknown>): Array<string> => {
  const result = buildCatalog(entries, "models.json")
  if (!(result instanceof CatalogInvalid)) throw new Error("expected the catalog to be refused")
  return [...result.problems]
}

const modelsOf = (entries: ReadonlyArray<unknown>): ReadonlyArray<CatalogModel> => {
  const result = buildCatalog(entries, "models.json")
  if (result instanceof CatalogInvalid) throw result
  return result
}

describe("required limits", () => {
  it("an entry without max_output_tokens or context_window names both, saying where to find them", () => {
    const { max_output_tokens: _output, context_window: _window, ...bare } = entry
    expect(problemsOf([bare])).toEqual([
      `models.json models[0] ("m1"): max_output_tokens: Missing key: the model's maximum output tokens, from the provider's model page`,
      `models.json models[0] ("m1"): context_window: Missing key: the model's context window in tokens, from the provider's model page`
    ])
  })

  it("every problem of an entry is listed, not only the first", () => {
    const problems = problemsOf([{ ...entry, provider: "azure", input_price_per_1m: -1, context_window: 0 }])
    expect(problems).toHaveLength(3)
    expect(problems.join("\n")).toMatch(/provider:.*\n.*input_price_per_1m:.*\n.*context_window:/)
  })

  it("the output cannot be larger than the context window that holds it", () => {
    expect(problemsOf([{ ...entry, max_output_tokens: 2_000_000 }])).toEqual([
      'models.json models[0] ("m1"): max_output_tokens (2000000) is above context_window (1047576), which holds the output too'
    ])
  })

  it("start-up stops on a MODELS_FILE that misses them, naming the file", async () => {
    const directory = mkdtempSync(join(tmpdir(), "catalog-"))
    const file = join(directory, "models.json")
    const { context_window: _window, ...bare } = entry
    writeFileSync(file, JSON.stringify({ models: [bare] }))
    const exit = await Effect.runPromiseExit(
      Effect.provide(
        Effect.service(ModelCatalog),
        ModelCatalog.layer.pipe(Layer.provide(GatewayConfig.layerTest({ MODELS_FILE: file })))
      )
    )
    expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain(`${file} models[0] ("m1"): context_window`)
  })
})

describe("capabilities", () => {
  it.each([
    [
      "effort thinking outside OpenAI",
      { ...claude, reasoning: true, thinking: { kind: "effort" } },
      'thinking.kind "effort" passes reasoning_effort to OpenAI; anthropic takes a budget or a level'
    ],
    [
      "effort thinking on a model not marked as reasoning",
      { ...entry, thinking: { kind: "effort" } },
      'thinking.kind "effort" needs reasoning: true (only reasoning models take reasoning_effort)'
    ],
    [
      "a budget on an OpenAI model",
      { ...entry, reasoning: true, thinking: { kind: "budget", budgets: { low: 1024 } } },
      'thinking.kind "budget" is for Anthropic and Gemini; OpenAI models take kind "effort"'
    ],
    [
      "a budget that leaves no room for the answer",
      { ...claude, thinking: { kind: "budget", budgets: { low: 1024, high: 64000 } } },
      "thinking.budgets.high (64000) must be below max_output_tokens (64000)"
    ],
    [
      "a default effort the map does not list",
      { ...claude, thinking: { kind: "level", levels: { low: "LOW", high: "HIGH" }, default: "medium" } },
      'thinking.default "medium" is not one of thinking.levels (low, high)'
    ],
    [
      "an empty budget map",
      { ...claude, thinking: { kind: "budget", budgets: {} } },
      "thinking.budgets names no effort"
    ],
    [
      "a gateway field among the refused ones",
      { ...entry, unsupported_parameters: ["temperature", "max_tokens"] },
      "unsupported_parameters: max_tokens is decided by the gateway, not refused by the model"
    ],
    [
      "an exclusive group of one field",
      { ...claude, exclusive_parameters: [["temperature", "temperature"]] },
      "exclusive_parameters: [temperature, temperature] needs at least two different fields"
    ],
    [
      "tool-emulated structured outputs on OpenAI",
      { ...entry, structured_outputs: "tool" },
      'structured_outputs "tool" emulates JSON output with a tool; OpenAI models constrain it natively'
    ]
  ])("refuses %s", (_, bad, problem) => {
    expect(problemsOf([bad])).toEqual([`models.json models[0] (${JSON.stringify(bad.id)}): ${problem}`])
  })

  it("lists the problems of every entry in one message", () => {
    const problems = problemsOf([
      { ...entry, thinking: { kind: "effort" } },
      { ...claude, thinking: { kind: "budget", budgets: { high: 99999 } } }
    ])
    expect(problems).toHaveLength(2)
    expect(new CatalogInvalid({ problems }).message).toMatch(
      /^Invalid model catalog:\n {2}- .*\("m1"\).*\n {2}- .*\("c1"\)/
    )
  })

  it("keeps well-formed capabilities", () => {
    const [model] = modelsOf([
      {
        ...claude,
        thinking: { kind: "budget", budgets: { none: 0, low: 2048, high: 32000 }, default: "low" },
        exclusive_parameters: [["temperature", "top_p"]],
        unsupported_parameters: ["n"],
        structured_outputs: "tool"
      }
    ])
    expect(model).toMatchObject({
      thinking: { kind: "budget", budgets: { none: 0, low: 2048, high: 32000 }, default: "low" },
      exclusiveParameters: [["temperature", "top_p"]],
      unsupportedParameters: ["n"],
      structuredOutputs: "tool"
    })
  })

  it("the built-in catalog passes its own rules; its OpenAI reasoning models take reasoning_effort", () => {
    const models = modelsOf(builtInModels)
    const reasoning = models.filter((model) => model.provider === "openai" && model.reasoning)
    expect(reasoning.map((model) => model.id)).toEqual(
      expect.arrayContaining(["o3", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5.4-mini"])
    )
    expect(reasoning.every((model) => model.thinking?.kind === "effort")).toBe(true)
    expect(models.find((model) => model.id === "gpt-4o")).toMatchObject({
      reasoning: false,
      maxOutputTokens: 16384,
      contextWindow: 128000
    })
  })
})

describe("aliases", () => {
  const catalog = () =>
    ModelCatalog.make(
      modelsOf([
        { ...entry, aliases: ["default", "m1-latest"] },
        { ...claude, fallbacks: ["default"] }
      ])
    )

  it("resolve to their entry, and fallbacks may name them", () => {
    const { find, models } = catalog()
    expect(find("default")).toBe(find("m1"))
    expect(find("m1-latest")?.id).toBe("m1")
    expect(models.map((model) => model.id)).toEqual(["m1", "c1"])
    expect(find("c1")?.fallbacks.map((name) => find(name)?.id)).toEqual(["m1"])
  })

  it("are listed after their entry, rooted in it", () => {
    expect(catalog().infos.map((info) => [info.id, info.root])).toEqual([
      ["m1", "m1"],
      ["default", "m1"],
      ["m1-latest", "m1"],
      ["c1", "c1"]
    ])
  })

  it("collide with nothing, and each collision names both models", () => {
    expect(
      problemsOf([
        { ...entry, aliases: ["m1", "c1", "shared"] },
        { ...claude, aliases: ["shared", "c1-short"], fallbacks: ["c1-short"] }
      ])
    ).toEqual([
      'models.json ("m1"): alias "m1" is its own id',
      'models.json ("m1"): alias "c1" is the id of another model',
      'models.json ("c1"): alias "shared" is already an alias of "m1"',
      'models.json ("c1"): fallback "c1-short" is not another model of the catalog'
    ])
  })
})
