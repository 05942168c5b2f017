/**
 * A plain (non-streamed) Chat Completions call straight on the provider's undici pool.
 * The SDK's `client.post` goes through `fetch` (WHATWG streams, Request and Headers
 * objects, dependent abort signals) and formats debug details of every request; on the
 * hot path that cost more CPU than the rest of the gateway's own work (see BENCHMARKS.md).
 * Failures are the SDK's own error classes (`APIError.generate`, `APIConnectionError`),
 * so `openaiReason` maps them exactly as it maps the SDK's.
 */
import type * as Undici from "@effect/platform-node/Undici"
import { APIConnectionError, APIError, APIUserAbortError } from "openai"

/** An error body: OpenAI's `{"error": {…}}`, or anything else a compatible server sends. */
const parseErrorBody = (text: string): object | undefined => {
  try {
    const json: unknown = JSON.parse(text)
    return typeof json === "object" && json !== null ? json : undefined
  } catch {
    return undefined
  }
}

const toHeaders = (raw: Record<string, string | Array<string> | undefined>): Headers => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item)
  }
  return headers
}

export type PostJson = (body: unknown, signal: AbortSignal) => Promise<unknown>

/** `POST <baseUrl>/chat/completions` with a JSON body; resolves with the parsed 2xx body. */
export const makePostJson = (dispatcher: Undici.Dispatcher, baseUrl: string, apiKey: string): PostJson => {
  // As the SDK joins them: the base URL as given, then the path.
  const url = new URL(`${baseUrl.replace(/\/+$/, "")}/chat/completions`)
  const headers = {
    authorization: `Bearer ${apiKey}`,
    "content-type": "application/json",
    accept: "application/json"
  }
  return async (body, signal) => {
    let response: Undici.Dispatcher.ResponseData
    try {
      response = await dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal
      })
    } catch (cause) {
      if (signal.aborted) throw new APIUserAbortError()
      throw new APIConnectionError({ cause: cause instanceof Error ? cause : new Error(String(cause)) })
    }
    const text = await response.body.text()
    if (response.statusCode >= 200 && response.statusCode < 300) return JSON.parse(text)
    const json = parseErrorBody(text)
    throw APIError.generate(
      response.statusCode,
      json,
      json === undefined ? text : undefined,
      toHeaders(response.headers)
    )
  }
}
