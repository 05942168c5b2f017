/**
 * The upstream call of both floor servers: the gateway's own (src/providers/openai/OpenAIHttp.ts), a POST
 * on an undici pool with the pool's header and body timers off (src/providers/UpstreamHttp.ts), the
 * answer read whole and parsed, as a gateway must to read its usage.
 */
import * as Undici from "@effect/platform-node/Undici"

export const makeUpstreamCall = (url: string) => {
  const { origin, pathname } = new URL(url)
  const agent = new Undici.Agent({ connect: { timeout: 10_000 }, headersTimeout: 0, bodyTimeout: 0 })
  const headers = {
    authorization: "Bearer sk-bench-floor",
    "content-type": "application/json",
    accept: "application/json"
  }
  return async (body: unknown, signal: AbortSignal): Promise<unknown> => {
    const response = await agent.request({
      origin,
      path: pathname,
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal
    })
    const text = await response.body.text()
    if (response.statusCode !== 200) throw new Error(`the upstream answered ${response.statusCode}: ${text}`)
    return JSON.parse(text)
  }
}
