import * as Redacted from "effect/Redacted"
import { createHmac } from "node:crypto"
import { describe, expect, it } from "vitest"
import type { GatewayConfigShape } from "../../src/Config.ts"
import { makeProviderUserId } from "../../src/services/auth/ProviderUserId.ts"

const hashed = (key: string) =>
  makeProviderUserId({
    providerUserId: { mode: "hashed", key: Redacted.make(key) },
    secret: undefined
  } as unknown as GatewayConfigShape["auth"])

const direct = (key: string, subject: string) =>
  `user_${createHmac("sha256", key).update("llm-gateway provider user id\u0000").update(subject).digest("base64url").slice(0, 32)}`

describe("provider user ids", () => {
  it("are the keyed hash of the subject, the same on every request, from memory or computed again", () => {
    const idOf = hashed("key-1")
    expect(idOf("alice")).toBe(direct("key-1", "alice"))
    expect(idOf("alice")).toBe(direct("key-1", "alice"))
    expect(idOf("bob")).toBe(direct("key-1", "bob"))
    expect(idOf("bob")).not.toBe(idOf("alice"))
    expect(hashed("key-2")("alice")).not.toBe(idOf("alice"))
  })

  it("stay right past the number of subjects remembered (the memory is cleared, never wrong)", () => {
    const idOf = hashed("key-1")
    for (let i = 0; i < 25_000; i++) idOf(`user-${i}`)
    for (const i of [0, 9_999, 10_000, 24_999]) expect(idOf(`user-${i}`)).toBe(direct("key-1", `user-${i}`))
  })
})
