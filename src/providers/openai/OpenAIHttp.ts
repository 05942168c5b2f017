/**
 * Chat Completions calls straight on the provider's undici pool. The SDK's `client.post`
 * goes through `fetch` (WHATWG streams, Request and Headers objects, dependent abort
 * signals), formats debug details of every request and decodes streams through web
 * streams and async generators; on the hot path that cost more CPU than the rest of the
 * gateway's own work (see BENCHMARKS.md). Failures are the SDK's own error classes
 * (`APIError.generate`, `APIConnectionError`, an `APIError` for an error event inside a
 * stream, as the SDK raises them), so `openaiReason` maps them exactly as before. The SDK is
 * loaded with the first failure (`openaiSdk`): answers that succeed never need it.
 */
import type * as Undici from "@effect/platform-node/Undici"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Sse from "effect/encoding/Sse"
import { openaiSdk } from "./errors.ts"

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

const errorEvent = (data: unknown): data is { readonly error: object } =>
  typeof data === "object" && data !== null && "error" in data && typeof data.error === "object"

export interface OpenAIHttp {
  /** `POST /chat/completions`; resolves with the parsed 2xx body. */
  readonly complete: (body: unknown, signal: AbortSignal) => Promise<unknown>
  /**
   * `POST /chat/completions` with `stream: true`; resolves once the upstream answered 2xx,
   * with its events' JSON payloads up to `[DONE]`. The stream fails with the thrown value.
   */
  readonly stream: (body: unknown, signal: AbortSignal) => Promise<Stream.Stream<unknown, unknown>>
}

export const makeOpenAIHttp = (dispatcher: Undici.Dispatcher, baseUrl: string, apiKey: string): OpenAIHttp => {
  // As the SDK joins them: the base URL as given, then the path.
  const url = new URL(`${baseUrl.replace(/\/+$/, "")}/chat/completions`)
  const headersFor = (accept: string) => ({
    authorization: `Bearer ${apiKey}`,
    "content-type": "application/json",
    accept
  })
  const plainHeaders = headersFor("application/json")
  const streamHeaders = headersFor("text/event-stream")

  /** Sends the request; a non-2xx answer is thrown as the SDK's error for its status. */
  const send = async (body: unknown, signal: AbortSignal, headers: Record<string, string>) => {
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
      const { APIConnectionError, APIUserAbortError } = await openaiSdk()
      if (signal.aborted) throw new APIUserAbortError()
      throw new APIConnectionError({ cause: cause instanceof Error ? cause : new Error(String(cause)) })
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response
    const text = await response.body.text()
    const json = parseErrorBody(text)
    const { APIError } = await openaiSdk()
    throw APIError.generate(
      response.statusCode,
      json,
      json === undefined ? text : undefined,
      toHeaders(response.headers)
    )
  }

  const complete = async (body: unknown, signal: AbortSignal) =>
    JSON.parse(await (await send(body, signal, plainHeaders)).body.text())

  const stream = async (body: unknown, signal: AbortSignal) => {
    const response = await send(body, signal, streamHeaders)
    const headers = toHeaders(response.headers)
    return Stream.fromAsyncIterable(response.body as AsyncIterable<Uint8Array>, (error) => error).pipe(
      Stream.decodeText(),
      Stream.pipeThroughChannel(Sse.decode()),
      Stream.takeWhile((event) => !event.data.startsWith("[DONE]")),
      Stream.mapEffect((event) =>
        Effect.flatMap(
          Effect.try({ try: (): unknown => JSON.parse(event.data), catch: (error) => error }),
          (data): Effect.Effect<unknown, unknown> =>
            // As the SDK reports an error event: an APIError without a status.
            errorEvent(data)
              ? Effect.flatMap(
                  Effect.promise(() => openaiSdk()),
                  ({ APIError }) => Effect.fail(new APIError(undefined, data.error, undefined, headers))
                )
              : Effect.succeed(data)
        )
      )
    )
  }

  return { complete, stream }
}
