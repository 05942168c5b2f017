/**
 * Small, pure helpers that turn raw environment strings into typed values while
 * collecting every problem, so start-up can report all of them at once.
 */
export type RawEnv = Readonly<Record<string, string | undefined>>

export class EnvReader {
  readonly problems: Array<string> = []
  readonly raw: RawEnv
  constructor(raw: RawEnv) {
    this.raw = raw
  }

  private value(name: string): string | undefined {
    const value = this.raw[name]?.trim()
    return value === undefined || value === "" ? undefined : value
  }

  private problem<A>(name: string, expected: string, fallback: A): A {
    this.problems.push(`${name}: expected ${expected}, got ${JSON.stringify(this.raw[name])}`)
    return fallback
  }

  has(name: string): boolean {
    return this.value(name) !== undefined
  }

  string(name: string): string | undefined
  string(name: string, fallback: string): string
  string(name: string, fallback?: string): string | undefined {
    return this.value(name) ?? fallback
  }

  literal<const L extends string>(name: string, allowed: ReadonlyArray<L>, fallback: L): L {
    const value = this.value(name)
    if (value === undefined) return fallback
    const match = allowed.find((candidate) => candidate === value.toLowerCase())
    return match ?? this.problem(name, `one of ${allowed.join(", ")}`, fallback)
  }

  int(name: string, fallback: number, range: { readonly min?: number; readonly max?: number } = {}): number {
    const value = this.value(name)
    if (value === undefined) return fallback
    const parsed = Number(value)
    const min = range.min ?? Number.MIN_SAFE_INTEGER
    const max = range.max ?? Number.MAX_SAFE_INTEGER
    if (!/^-?\d+$/.test(value) || parsed < min || parsed > max) {
      return this.problem(name, `an integer between ${min} and ${max}`, fallback)
    }
    return parsed
  }

  number(name: string, fallback: number, range: { readonly min?: number; readonly max?: number } = {}): number {
    const value = this.value(name)
    if (value === undefined) return fallback
    const parsed = Number(value)
    const min = range.min ?? -Infinity
    const max = range.max ?? Infinity
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      return this.problem(name, `a number between ${min} and ${max}`, fallback)
    }
    return parsed
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.value(name)?.toLowerCase()
    if (value === undefined) return fallback
    if (["true", "1", "yes", "on"].includes(value)) return true
    if (["false", "0", "no", "off"].includes(value)) return false
    return this.problem(name, "true or false", fallback)
  }

  url(name: string): string | undefined
  url(name: string, fallback: string): string
  url(name: string, fallback?: string): string | undefined {
    const value = this.value(name)
    if (value === undefined) return fallback
    try {
      const parsed = new URL(value)
      return parsed.toString().replace(/\/$/, "")
    } catch {
      return this.problem(name, "an absolute URL", fallback)
    }
  }

  list(name: string, fallback: ReadonlyArray<string>): ReadonlyArray<string> {
    const value = this.value(name)
    if (value === undefined) return fallback
    return value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "")
  }

  require(condition: boolean, message: string): void {
    if (!condition) this.problems.push(message)
  }
}
