/** Exact percentiles of recorded samples (milliseconds), at microsecond resolution. */
export class Samples {
  private values = new Float64Array(4096)
  private size = 0

  get count(): number {
    return this.size
  }

  add(value: number): void {
    if (this.size === this.values.length) {
      const grown = new Float64Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    this.values[this.size++] = value
  }

  summary(): Percentiles {
    const sorted = this.values.slice(0, this.size).sort()
    const at = (p: number) =>
      sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
    const mean = sorted.length === 0 ? NaN : sorted.reduce((sum, v) => sum + v, 0) / sorted.length
    return { count: sorted.length, mean, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) }
  }
}

export interface Percentiles {
  readonly count: number
  readonly mean: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits))
