/**
 * The one HTTP client of the three adapters: JSON POSTs to one provider on its own undici
 * pool, with one header shape (the vendor's auth headers, then `content-type` and
 * `accept`; undici's lowercase record on the way back) and one error mapping: a failure
 * to talk at all is `transportReason`, an answer outside 2xx goes to the vendor's
 * `errorReason`, as do the error events its adapter meets inside a stream.
 *
 * The pool's connect timeout lives here because only the HTTP client knows when a
 * connection is up; every other bound (first byte, total, idle) is kept by Bounds.ts on
 * the Effect clock, so TestClock governs it. Interrupting a call aborts its
 * request; a stream's request lives as long as the scope it was opened in.
 *
 * Not Effect's HttpClient over the same pool: its request and response wrappers, span and
 * second abort controller cost about twice the client CPU of a plain call (0.19 against
 * 0.09 ms per request, measured side by side); here a plain call is one promise.
 */
import * as Undici from "@effect/platform-node/Undici"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as Sse from "effect/encoding/Sse"
import type { ProviderEndpoint, UpstreamTimeouts } from "../Config.ts"
import type { ProviderError } from "../domain/ProviderError.ts"
import type { Fail } from "./adapterSupport.ts"
import { sseEvents } from "./sseBody.ts"
import {
  answerJson,
  type ErrorAnswer,
  type ErrorReasonOf,
  jsonOrUndefined,
  transportReason,
  type UpstreamHeaders
} from "./upstreamErrors.ts"

/** What sets one vendor's client apart from the others'. */
export interface UpstreamVendor {
  /** The vendor as messages name it ("OpenAI"). */
  readonly name: string
  /** The vendor's own headers (authentication, API version), given its API key. */
  readonly headers: (apiKey: string) => Readonly<Record<string, string>>
  readonly errorReason: ErrorReasonOf
}

/**
 * Where a vendor answers and the key it takes. The base URL is used as given, then the path:
 * `https://api.openai.com/v1` + `/chat/completions`.
 */
export type KeyedEndpoint = ProviderEndpoint & { readonly apiKey: Redacted.Redacted<string> }

export interface UpstreamStream {
  readonly headers: UpstreamHeaders
  readonly events: Stream.Stream<Sse.Event, ProviderError>
}

export interface UpstreamHttp {
  /** `POST path` with a JSON body; the 2xx answer as JSON. */
  readonly post: (path: string, body: unknown, fail: Fail) => Effect.Effect<unknown, ProviderError>
  /** `POST path` for a stream; once the upstream answered 2xx, its SSE events, read while the scope is open. */
  readonly stream: (
    path: string,
    body: unknown,
    fail: Fail
  ) => Effect.Effect<UpstreamStream, ProviderError, Scope.Scope>
  /** Fails with what an error answer means: for the error events an adapter meets inside a stream. */
  readonly failWith: (answer: ErrorAnswer, fail: Fail) => Effect.Effect<never, ProviderError>
}

const makeAgent = (connectTimeoutMs: number) =>
  Effect.acquireRelease(
    Effect.sync(
      () =>
        new Undici.Agent({
          connect: { timeout: connectTimeoutMs },
          // 0 turns undici's own header and body timers off: Bounds.ts owns those waits.
          headersTimeout: 0,
          bodyTimeout: 0
        })
    ),
    (agent) => Effect.promise(() => agent.destroy())
  )

/**
 * Why a stream's request is aborted. Made once: `abort()` without a reason makes a DOMException, and
 * so captures a stack trace, on every stream, most of which end after their request did (a no-op abort).
 */
const streamClosed = new DOMException("The stream was closed", "AbortError")

/** An abort signal that fires when the enclosing scope closes: a stream's request lives as long as the stream. */
const scopedAbortSignal: Effect.Effect<AbortSignal, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => new AbortController()),
    (controller) => Effect.sync(() => controller.abort(streamClosed))
  ),
  (controller) => controller.signal
)

const isOk = (status: number) => status >= 200 && status < 300

/** An error answer's body is read leniently: when it cannot be read, its status speaks alone. */
const errorText = (response: Undici.Dispatcher.ResponseData) => response.body.text().catch(() => "")

export const makeUpstreamHttp = Effect.fnUntraced(function* (
  { name: vendor, headers, errorReason }: UpstreamVendor,
  endpoint: KeyedEndpoint,
  timeouts: UpstreamTimeouts
) {
  const agent = yield* makeAgent(Duration.toMillis(timeouts.connect))
  const base = endpoint.baseUrl.replace(/\/+$/, "")
  const vendorHeaders = headers(Redacted.value(endpoint.apiKey))
  const headersFor = (accept: string) => ({ ...vendorHeaders, "content-type": "application/json", accept })
  const jsonHeaders = headersFor("application/json")
  const streamHeaders = headersFor("text/event-stream")

  // Paths are few (one per method, and per model for Gemini): each URL is parsed once.
  const targets = new Map<string, { readonly origin: string; readonly path: string }>()
  const targetOf = (path: string) => {
    let target = targets.get(path)
    if (target === undefined) {
      const url = new URL(base + path)
      target = { origin: url.origin, path: url.pathname + url.search }
      targets.set(path, target)
    }
    return target
  }

  const send = (path: string, body: unknown, headers: Record<string, string>, signal: AbortSignal) =>
    agent.request({ ...targetOf(path), method: "POST", headers, body: JSON.stringify(body), signal })

  const failWith = (answer: ErrorAnswer, fail: Fail): Effect.Effect<never, ProviderError> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(fail(errorReason(answer, now))))

  const errorAnswer = (status: number, headers: UpstreamHeaders, text: string): ErrorAnswer => ({
    status,
    body: jsonOrUndefined(text),
    text,
    headers
  })

  const post = (path: string, body: unknown, fail: Fail): Effect.Effect<unknown, ProviderError> =>
    Effect.tryPromise({
      try: async (signal) => {
        const response = await send(path, body, jsonHeaders, signal)
        const ok = isOk(response.statusCode)
        const text = await (ok ? response.body.text() : errorText(response))
        return { ok, status: response.statusCode, headers: response.headers, text }
      },
      catch: (error) => fail(transportReason(error, vendor))
    }).pipe(
      Effect.flatMap((answer) => {
        if (!answer.ok) return failWith(errorAnswer(answer.status, answer.headers, answer.text), fail)
        const json = answerJson(answer.text, vendor)
        return Result.isSuccess(json) ? Effect.succeed(json.success) : Effect.fail(fail(json.failure))
      })
    )

  const stream = (path: string, body: unknown, fail: Fail) =>
    Effect.gen(function* () {
      const signal = yield* scopedAbortSignal
      const response = yield* Effect.tryPromise({
        try: () => send(path, body, streamHeaders, signal),
        catch: (error) => fail(transportReason(error, vendor))
      })
      if (!isOk(response.statusCode)) {
        const text = yield* Effect.promise(() => errorText(response))
        return yield* failWith(errorAnswer(response.statusCode, response.headers, text), fail)
      }
      const events = sseEvents(response.body, (error) => fail(transportReason(error, vendor)))
      return { headers: response.headers, events } satisfies UpstreamStream
    })

  return { post, stream, failWith } satisfies UpstreamHttp
})
