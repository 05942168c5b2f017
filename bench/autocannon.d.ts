// The part of autocannon's API the harness uses (the package ships no types).
declare module "autocannon" {
  import type { EventEmitter } from "node:events"

  export interface Client extends EventEmitter {
    setHeaders(headers: Record<string, string>): void
  }

  export interface Options {
    readonly url: string
    readonly method?: "GET" | "POST"
    readonly headers?: Record<string, string>
    readonly body?: string
    readonly connections?: number
    readonly overallRate?: number
    readonly duration?: number
    readonly timeout?: number
    readonly setupClient?: (client: Client) => void
  }

  export interface Result {
    readonly errors: number
    readonly timeouts: number
    readonly non2xx: number
    readonly mismatches: number
    readonly duration: number
    readonly statusCodeStats: Record<string, { readonly count: number }>
  }

  export interface Instance extends EventEmitter {
    on(event: "response", listener: (client: Client, status: number, bytes: number, ms: number) => void): this
    on(event: "done", listener: (result: Result) => void): this
    stop(): void
  }

  export default function autocannon(options: Options, done?: (error: Error | null, result: Result) => void): Instance
}
