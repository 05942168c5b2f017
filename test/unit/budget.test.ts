/**
 * The completion budget a request asks for: the client's limit when the model can write it, a
 * 400 naming the field when it cannot (as OpenAI answers), the model's maximum output when the
 * client names none.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { ChatCompletionRequest } from "../../src/domain/Chat.ts"
import { requestedMaxTokens } from "../../src/services/chat/ChatCompletions.ts"
import { testModel } from "../support/billingModels.ts"
import { failure, success } from "../support/result.ts"

const model = { ...testModel("gpt-4o", { input: "2.5", output: "10" }), maxOutputTokens: 16384 }
const hello: ChatCompletionRequest = { model: "gpt-4o", messages: [{ role: "user", content: "Hi" }] }

describe("requested completion budget", () => {
  it("is the model's maximum output when the client names no limit", () => {
    expect(success(requestedMaxTokens(hello, model))).toBe(16384)
    expect(success(requestedMaxTokens({ ...hello, max_tokens: null, max_completion_tokens: null }, model))).toBe(16384)
  })

  it("is the client's limit up to the model's maximum, max_completion_tokens first", () => {
    expect(success(requestedMaxTokens({ ...hello, max_tokens: 300 }, model))).toBe(300)
    expect(success(requestedMaxTokens({ ...hello, max_completion_tokens: 16384 }, model))).toBe(16384)
    expect(success(requestedMaxTokens({ ...hello, max_tokens: 100, max_completion_tokens: 200 }, model))).toBe(200)
  })

  it.each(["max_tokens", "max_completion_tokens"] as const)(
    "a %s above the model's maximum is a 400 naming it",
    (field) => {
      const refused = failure(requestedMaxTokens({ ...hello, [field]: 16385 }, model))
      expect(refused._tag).toBe("ValidationError")
      expect(refused.param).toBe(field)
      expect(refused.message).toBe(
        `${field} is too large: 16385. The model gpt-4o supports at most 16384 completion tokens.`
      )
    }
  )

  it("the field checked is the one that decides the budget", () => {
    const result = requestedMaxTokens({ ...hello, max_tokens: 99999, max_completion_tokens: 100 }, model)
    expect(Result.isSuccess(result) && result.success).toBe(100)
  })
})
