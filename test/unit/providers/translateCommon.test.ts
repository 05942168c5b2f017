/**
 * The helpers every vendor's translator shares: text of mixed content, stop sequences, data URLs
 * and image types, tool arguments as an object, and the catalog's parameter rules with OpenAI's
 * neutral values (a refused field set to its neutral value is dropped, any other value is a 400).
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { ChatCompletionRequest } from "../../../src/domain/Chat.ts"
import {
  catalogParameterRules,
  imageTypeOfUrl,
  parseArguments,
  parseDataUrl,
  stopSequences,
  textOf
} from "../../../src/providers/translateCommon.ts"

const request = (fields: Record<string, unknown>) =>
  ({ model: "m", messages: [{ role: "user", content: "Hi" }], ...fields }) as ChatCompletionRequest

describe("the translators' shared helpers", () => {
  it("read the text of any content, and the stop sequences of any request", () => {
    expect([textOf(null), textOf(undefined), textOf("Hi")]).toEqual(["", "", "Hi"])
    const parts = [
      { type: "text", text: "What is " },
      { type: "image_url", image_url: { url: "https://x/a.png" } },
      { type: "text", text: "this?" }
    ]
    expect(textOf(parts as never)).toBe("What is this?")
    expect([stopSequences(request({})), stopSequences(request({ stop: null }))]).toEqual([[], []])
    expect([stopSequences(request({ stop: "END" })), stopSequences(request({ stop: ["a", "b"] }))]).toEqual([
      ["END"],
      ["a", "b"]
    ])
  })

  it("read a data URL only when the whole URL is one, and an image type from the path's extension", () => {
    expect(parseDataUrl("data:image/png;base64,AAAA")).toEqual({ mediaType: "image/png", data: "AAAA" })
    expect(parseDataUrl("https://x/?u=data:image/png;base64,AAAA")).toBeUndefined()
    expect(parseDataUrl("data:image/png,AAAA")).toBeUndefined()
    expect(imageTypeOfUrl("https://x/cat.PNG?size=2")).toBe("image/png")
    expect(imageTypeOfUrl("https://x/cat.webp#top")).toBe("image/webp")
    expect(imageTypeOfUrl("https://x/cat.png.txt")).toBe("image/jpeg")
    expect(imageTypeOfUrl("https://x/cat")).toBe("image/jpeg")
  })

  it("take tool arguments as a JSON object, an empty string as {}, and refuse anything else", () => {
    expect(parseArguments(' {"city":"Paris"} ', "p")).toEqual(Result.succeed({ city: "Paris" }))
    expect(parseArguments("  ", "p")).toEqual(Result.succeed({}))
    for (const text of ["[1]", "null", "3", '"x"', "{"]) {
      const refused = parseArguments(text, "messages[1].tool_calls[0].function.arguments")
      expect(Result.isFailure(refused) && refused.failure).toMatchObject({
        param: "messages[1].tool_calls[0].function.arguments",
        message:
          "messages[1].tool_calls[0].function.arguments must be a JSON object, as the upstream takes tool arguments as an object"
      })
    }
  })

  it("drop a refused field set to OpenAI's neutral value, and refuse any other value with the neutral one named", () => {
    const neutral = {
      temperature: 1,
      top_p: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      n: 1,
      logprobs: false,
      top_logprobs: 0,
      parallel_tool_calls: true,
      stop: [],
      logit_bias: {}
    }
    const fields = Object.keys(neutral)
    const model = { id: "strict", unsupportedParameters: [...fields, "seed"], exclusiveParameters: [] }
    expect(catalogParameterRules(request(neutral), model)).toEqual(Result.succeed(new Set(fields)))
    const otherwise = {
      temperature: 0.5,
      top_p: 0.9,
      presence_penalty: 1,
      frequency_penalty: 1,
      n: 2,
      logprobs: true,
      top_logprobs: 3,
      parallel_tool_calls: false,
      stop: ["x"],
      logit_bias: { "50256": -100 }
    }
    for (const [field, value] of Object.entries(otherwise)) {
      const refused = catalogParameterRules(request({ [field]: value }), model)
      expect(Result.isFailure(refused) && refused.failure).toMatchObject({
        param: field,
        message: `The model strict does not support ${field}; leave it out or set it to ${
          { stop: "[]", logit_bias: "{}" }[field] ?? JSON.stringify(neutral[field as keyof typeof neutral])
        }`
      })
    }
    const seed = catalogParameterRules(request({ seed: 7 }), model)
    expect(Result.isFailure(seed) && seed.failure.message).toBe("The model strict does not support seed")
    expect(catalogParameterRules(request({ logit_bias: null, stop: null }), model)).toEqual(Result.succeed(new Set()))
  })
})
