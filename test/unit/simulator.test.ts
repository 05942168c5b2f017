import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { ChatCompletionRequest } from "../../src/domain/Chat.ts"
import { makeSimulator } from "../../src/providers/simulator/Simulator.ts"
import { buildCatalog, builtInModels } from "../../src/services/registry/ModelCatalog.ts"

const models = buildCatalog(builtInModels, "built-in")
if (!Array.isArray(models)) throw new Error("catalog")
const gpt4 = models.find((model) => model.id === "gpt-4")!
const simulator = makeSimulator({ chunkDelayMs: 0 })

const request = (overrides: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
  model: "gpt-4",
  messages: [{ role: "user", content: "Tell me about Effect" }],
  ...overrides
})
const input = (overrides: Partial<ChatCompletionRequest> = {}, maxTokens = 100) => ({
  request: request(overrides),
  model: gpt4,
  maxTokens,
  requestId: "req_1"
})

describe("simulator", () => {
  it.effect("answers the same request the same way, with consistent usage", () =>
    Effect.gen(function* () {
      const first = yield* simulator.complete(input())
      const second = yield* simulator.complete(input())
      assert.deepStrictEqual(first.choices, second.choices)
      assert.strictEqual(first.model, "gpt-4")
      const usage = first.usage!
      assert.strictEqual(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens)
      assert.isAbove(usage.prompt_tokens, 4)
    })
  )

  it.effect("stops at the completion budget with finish_reason length", () =>
    Effect.gen(function* () {
      const completion = yield* simulator.complete(input({}, 3))
      assert.strictEqual(completion.choices[0]!.finish_reason, "length")
      assert.strictEqual(completion.usage!.completion_tokens, 3)
    })
  )

  it.effect("honours stop sequences and n", () =>
    Effect.gen(function* () {
      const completion = yield* simulator.complete(input({ stop: ["reply"], n: 2 }))
      assert.strictEqual(completion.choices.length, 2)
      assert.strictEqual(completion.choices[0]!.message.content, "Simulated ")
    })
  )

  it.effect("calls the required tool", () =>
    Effect.gen(function* () {
      const tools = [{ type: "function" as const, function: { name: "get_weather" } }]
      const completion = yield* simulator.complete(input({ tools, tool_choice: "required" }))
      const choice = completion.choices[0]!
      assert.strictEqual(choice.finish_reason, "tool_calls")
      assert.strictEqual(choice.message.tool_calls![0]!.function.name, "get_weather")
    })
  )

  it.effect("streams role first, content, a finish reason, then one usage chunk", () =>
    Effect.gen(function* () {
      const chunks = yield* Stream.runCollect(simulator.stream(input()))
      const whole = yield* simulator.complete(input())
      assert.strictEqual(chunks[0]!.choices[0]!.delta.role, "assistant")
      const text = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? "")).join("")
      assert.strictEqual(text, whole.choices[0]!.message.content)
      assert.strictEqual(chunks.at(-2)!.choices[0]!.finish_reason, "stop")
      assert.deepStrictEqual(chunks.at(-1)!.choices, [])
      assert.deepStrictEqual(chunks.at(-1)!.usage, whole.usage)
    })
  )
})
