/** Small HTTP helpers for load-shaped integration tests. */
import { token } from "./gateway.ts"

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body: string
  /** Wall time from sending the request to reading the whole body. */
  readonly ms: number
}

export const request = async (url: string, init: RequestInit = {}): Promise<Answer> => {
  const start = performance.now()
  const response = await fetch(url, init)
  const body = await response.text()
  return { status: response.status, headers: response.headers, body, ms: performance.now() - start }
}

/** Runs `total` calls with at most `concurrency` in flight; results in call order. */
export const pool = async <A>(
  total: number,
  concurrency: number,
  call: (i: number) => Promise<A>
): Promise<Array<A>> => {
  const results: Array<A> = new Array(total)
  let next = 0
  const worker = async () => {
    while (next < total) {
      const i = next++
      results[i] = await call(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker))
  return results
}

/** Bearer headers for a user, signed once. */
export const bearer = async (sub: string): Promise<Record<string, string>> => ({
  authorization: `Bearer ${await token(sub)}`
})
