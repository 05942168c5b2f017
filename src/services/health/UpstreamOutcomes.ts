/**
 * The last few upstream attempt outcomes of each model (successes and upstream faults), so
 * that `/health/detailed` can say how each model is doing without paying for a probe call.
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"

/** Attempts remembered per model. */
export const window = 20

export interface RecentOutcomes {
  readonly attempts: number
  readonly failures: number
}

class Ring {
  readonly outcomes = new Uint8Array(window)
  next = 0
  size = 0

  push(failed: boolean): void {
    this.outcomes[this.next] = failed ? 1 : 0
    this.next = (this.next + 1) % window
    if (this.size < window) this.size++
  }

  summary(): RecentOutcomes {
    let failures = 0
    for (let i = 0; i < this.size; i++) failures += this.outcomes[i]!
    return { attempts: this.size, failures }
  }
}

export class UpstreamOutcomes extends Context.Service<
  UpstreamOutcomes,
  {
    readonly record: (model: string, succeeded: boolean) => void
    readonly recent: (model: string) => RecentOutcomes
  }
>()("gateway/UpstreamOutcomes") {
  static readonly layer = Layer.sync(UpstreamOutcomes, () => {
    const rings = new Map<string, Ring>()
    return UpstreamOutcomes.of({
      record: (model, succeeded) => {
        let ring = rings.get(model)
        if (ring === undefined) rings.set(model, (ring = new Ring()))
        ring.push(!succeeded)
      },
      recent: (model) => rings.get(model)?.summary() ?? { attempts: 0, failures: 0 }
    })
  })
}
