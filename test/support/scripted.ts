/**
 * Chat requests for service-level billing tests: inputs with unique ids, and a provider that
 * records what it was asked and answers as the simulator unless the test scripts otherwise.
 */
import { Effect, Stream } from "effect"
import { expect } from "vitest"
import type { ChatCompletionRequest } from "../../src/domain/Chat.ts"
import * as Money from "../../src/domain/Money.ts"
import { OverloadedReason, ProviderError, TimeoutReason } from "../../src/domain/ProviderError.ts"
import type { Provider, ProviderRequest } from "../../src/providers/Provider.ts"
import { makeSimulator } from "../../src/providers/simulator/Simulator.ts"
import { ChatCompletions, type ChatInput } from "../../src/services/chat/ChatCompletions.ts"
import { ModelCatalog } from "../../src/services/registry/ModelCatalog.ts"
import { accountOf, holdsOf, ledgerOf } from "./billing.ts"
import { RequestRecord } from "../../src/services/telemetry/RequestRecord.ts"

export const simulator = makeSimulator({ chunkDelayMs: 0 })
export const usd = (text: string) => Money.parse(text)!

let users = 0
export const newUser = (label: string) => `${label}-${++users}-${Math.random().toString(36).slice(2, 8)}`

let requests = 0
export const inputFor = (userId: string, request: Partial<ChatCompletionRequest> = {}): ChatInput => {
  const requestId = `req-${userId}-${++requests}`
  return {
    user: { id: userId, role: "user", tokenExpiresAt: 0 },
    request: { model: "gpt-4", messages: [{ role: "user", content: "Привет, как дела?" }], ...request },
    requestId,
    observer: new RequestRecord({ requestId, method: "POST", route: "/v1/chat/completions" }),
    admission: Effect.void,
    upstreamCalled: Effect.void
  }
}

export const scripted = (overrides: Partial<Provider> = {}) => {
  const requests: Array<ProviderRequest> = []
  const provider: Provider = {
    name: "openai",
    complete: (request) => {
      requests.push(request)
      return (overrides.complete ?? simulator.complete)(request)
    },
    stream: (request) => {
      requests.push(request)
      return (overrides.stream ?? simulator.stream)(request)
    }
  }
  return { provider, requests }
}

export const overloaded = new ProviderError({
  provider: "openai",
  model: "gpt-4",
  reason: new OverloadedReason({ message: "busy", status: 529 })
})
export const timedOut = new ProviderError({
  provider: "openai",
  model: "gpt-4",
  reason: new TimeoutReason({ message: "slow" })
})

export const catalogModel = (id: string) =>
  Effect.gen(function* () {
    return (yield* ModelCatalog).find(id)!
  })

/** Consumes a stream the way the HTTP layer does, in a scope that closes (and settles) when it is done. */
export const consume = (input: ChatInput, take?: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const chat = yield* ChatCompletions
      const { chunks } = yield* chat.stream(input)
      return yield* Stream.runCollect(take === undefined ? chunks : Stream.take(chunks, take))
    })
  )

/** The account is as it was opened: its initial balance, nothing held, no other transaction. */
export const expectOnlyInitial = (userId: string, initial: string) =>
  Effect.gen(function* () {
    const ledger = yield* ledgerOf(userId)
    expect(ledger.map((row) => row.kind)).toEqual(["initial"])
    const account = (yield* accountOf(userId))!
    expect(usd(account.balance)).toBe(usd(initial))
    expect(usd(account.held)).toBe(0n)
    expect(yield* holdsOf(userId)).toEqual([])
  })
