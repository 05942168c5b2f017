/** The latest component checks, whatever asked for them (probes, /health, /health/detailed). */
import type { ComponentCheck, HealthHistory as HistoryBody } from "../../domain/Health.ts"

/** Checks remembered. */
export const capacity = 100

export class HealthHistory {
  readonly #entries: Array<HistoryBody["history"][number]> = []
  #total = 0

  add(name: string, check: ComponentCheck, timestamp: string): void {
    this.#total++
    this.#entries.push({
      name,
      status: check.status,
      message: check.message,
      timestamp,
      duration_ms: check.duration_ms
    })
    if (this.#entries.length > capacity) this.#entries.shift()
  }

  /** Oldest first, as they happened. */
  body(): HistoryBody {
    return { history: this.#entries.slice(), total_checks: this.#total }
  }
}
