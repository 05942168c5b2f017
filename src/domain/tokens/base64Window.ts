/**
 * Random access to the bytes of a base64 payload without decoding all of it: a header is
 * read by decoding only the few base64 characters that hold it. Offsets are only sound while
 * the characters before them are plain base64 (no whitespace), which `bytes` checks.
 */
const base64Text = /^[A-Za-z0-9+/]*$/

export interface Base64Window {
  /** Decoded length in bytes (exact for padded, well-formed base64; never below it). */
  readonly size: number
  /** `length` bytes from `offset`, or undefined past the end or where the text is not plain base64. */
  readonly bytes: (offset: number, length: number) => Buffer | undefined
}

export const base64Window = (data: string): Base64Window => {
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0
  const size = Math.floor((data.length * 3) / 4) - padding
  // Characters already checked to be plain base64, so each window is checked once.
  let checked = 0
  return {
    size,
    bytes: (offset, length) => {
      if (offset < 0 || length <= 0 || offset + length > size) return undefined
      const from = Math.floor(offset / 3) * 4
      const to = Math.ceil((offset + length) / 3) * 4
      const end = Math.min(to, data.length - padding)
      if (end > checked) {
        if (!base64Text.test(data.slice(checked, end))) return undefined
        checked = end
      }
      const decoded = Buffer.from(data.slice(from, to), "base64")
      const start = offset - (from / 4) * 3
      return decoded.length >= start + length ? decoded.subarray(start, start + length) : undefined
    }
  }
}
