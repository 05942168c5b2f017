/**
 * The first bytes of a base64 payload, decoded without decoding the rest: headers sit at
 * the start of a file. Decoding the prefix itself (rather than computing offsets into the
 * text) keeps the bytes right when the text holds whitespace or stray characters, which
 * lenient decoders (Node's, Python's) skip.
 */

/** Decoded size in bytes: an upper bound when the text holds characters a decoder skips. */
export const base64Size = (data: string): number => {
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding)
}

/** At most `bytes` bytes from the start of the payload (fewer if it is shorter). */
export const base64Prefix = (data: string, bytes: number): Buffer =>
  Buffer.from(data.length <= Math.ceil(bytes / 3) * 4 ? data : data.slice(0, Math.ceil(bytes / 3) * 4), "base64")

/** `length` bytes of `bytes` from `offset`, or undefined past its end. */
export const bytesAt = (bytes: Buffer, offset: number, length: number): Buffer | undefined =>
  offset >= 0 && offset + length <= bytes.length ? bytes.subarray(offset, offset + length) : undefined
