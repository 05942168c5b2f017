/**
 * OpenAI's BPE encodings (gpt-tokenizer), loaded on first use. Counting runs only where a
 * provider reported no usage (cut streams, protocol errors) and in the simulator, while an
 * encoding costs tens of MB of memory and a few hundred ms to load (docs/tokens.md has the
 * figures), so a gateway that never needs one never pays for it. `createRequire` keeps the
 * load synchronous for callers that are plain functions.
 */
import { createRequire } from "node:module"

export type EncodingName = "o200k_base" | "cl100k_base"

type Encoding = Pick<typeof import("gpt-tokenizer/encoding/o200k_base"), "countTokens">

const load = createRequire(import.meta.url)
const loaded = new Map<EncodingName, Encoding>()

const encoding = (name: EncodingName): Encoding => {
  const found = loaded.get(name)
  if (found !== undefined) return found
  // The package's "require" export of the same module, typed through its ESM declaration.
  const required = load(`gpt-tokenizer/encoding/${name}`) as Encoding
  loaded.set(name, required)
  return required
}

/** Special-token strings (`<|endoftext|>`) in user text are text: the providers tokenize them as such. */
const asPlainText = { disallowedSpecial: new Set<string>() }

/**
 * BPE merges within one pre-token (a run of letters with no space or punctuation) take time
 * quadratic in its length: 100,000 × "x" took 4.4 s, a CJK paragraph of 20,000 characters 1.2 s, since it is one such run. Runs
 * longer than this are counted in slices of it; each cut adds at most one token, so the count
 * stays a close estimate and never takes more than linear time.
 */
const longestRun = 128
const longRuns = new RegExp(`[^\\s\\p{P}]{${longestRun + 1},}`, "gu")

const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff

/** The number of BPE tokens of `text` in `name`. */
export const bpeCount = (text: string, name: EncodingName): number => {
  if (text === "") return 0
  const { countTokens } = encoding(name)
  let total = 0
  let from = 0
  for (const run of text.matchAll(longRuns)) {
    if (run.index > from) total += countTokens(text.slice(from, run.index), asPlainText)
    const end = run.index + run[0].length
    for (let at = run.index; at < end;) {
      let cut = Math.min(at + longestRun, end)
      // Never between the two halves of a surrogate pair (an emoji, a rare CJK character).
      if (cut < end && isLowSurrogate(text.charCodeAt(cut))) cut++
      total += countTokens(text.slice(at, cut), asPlainText)
      at = cut
    }
    from = end
  }
  return from < text.length ? total + countTokens(text.slice(from), asPlainText) : total
}
