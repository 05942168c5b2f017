/**
 * What the fakes' embeddings endpoints share: deterministic vectors (each value exact in float32,
 * so that base64 round trips compare equal), unit length unless told otherwise, and a token count
 * of one per word.
 */
import { pieces } from "./script.ts"

/** FNV-1a of the seed, then xorshift: the same text gets the same vector. */
export const fakeVector = (seed: string, dimensions: number, normalised = true): Array<number> => {
  let state = 0x811c9dc5
  for (let i = 0; i < seed.length; i++) state = Math.imul(state ^ seed.charCodeAt(i), 0x01000193) >>> 0
  const values: Array<number> = []
  for (let i = 0; i < dimensions; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    values.push((state % 2001) / 1000 - 1)
  }
  const norm = normalised ? Math.sqrt(values.reduce((sum, value) => sum + value * value, 0)) || 1 : 1
  return values.map((value) => Math.fround(value / norm))
}

/** A fake token count: one per word, as the chat fakes count. */
export const fakeTokenCount = (text: string): number => pieces(text).length

export const toBase64 = (vector: ReadonlyArray<number>): string =>
  Buffer.from(new Float32Array(vector).buffer).toString("base64")
