/**
 * The connection pool of one provider. Its connect timeout lives here because only the
 * HTTP client knows when a connection is up; every other bound (first byte, total, idle)
 * is an Effect timeout, so interruption and TestClock govern it.
 */
import * as Undici from "@effect/platform-node/Undici"
import * as Effect from "effect/Effect"

export const makeDispatcher = (connectTimeoutMs: number) =>
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
 * A `fetch` for the vendor SDKs that goes through the provider's pool. Undici's fetch is
 * the one Node's global fetch is built on; only its TypeScript types differ from the DOM's.
 */
export const fetchThrough =
  (dispatcher: Undici.Dispatcher): typeof globalThis.fetch =>
  (input, init) =>
    Undici.fetch(input as Undici.RequestInfo, {
      ...(init as Undici.RequestInit),
      dispatcher
    }) as unknown as Promise<Response>
