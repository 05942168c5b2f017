/**
 * An image's width and height read from the header of its base64 payload (PNG, JPEG, GIF,
 * WebP), decoding only the start of it. The format comes from the bytes, not from the media
 * type the client claimed. Anything else, or a JPEG whose frame header comes after more than
 * 256 KiB of metadata, is of unknown size (and priced as the largest image).
 */
import { base64Prefix, bytesAt } from "./base64Prefix.ts"

export interface ImageSize {
  readonly width: number
  readonly height: number
}

const sized = (width: number, height: number): ImageSize | undefined =>
  width > 0 && height > 0 ? { width, height } : undefined

const startsWith = (bytes: Buffer, signature: string): boolean =>
  bytes.length >= signature.length && bytes.toString("latin1", 0, signature.length) === signature

/** The bytes decoded for a JPEG's segments; real files reach their frame header well within this. */
const jpegPrefixBytes = 256 * 1024

/** PNG: the IHDR chunk follows the 8-byte signature; width and height are big-endian at 16 and 20. */
const png = (image: Buffer): ImageSize | undefined => {
  const header = bytesAt(image, 0, 24)
  if (header === undefined || header.toString("latin1", 12, 16) !== "IHDR") return undefined
  return sized(header.readUInt32BE(16), header.readUInt32BE(20))
}

/** GIF: the logical screen's width and height, little-endian, at 6 and 8. */
const gif = (image: Buffer): ImageSize | undefined => {
  const header = bytesAt(image, 0, 10)
  return header === undefined ? undefined : sized(header.readUInt16LE(6), header.readUInt16LE(8))
}

/** WebP: a RIFF file whose first chunk is VP8 (lossy), VP8L (lossless) or VP8X (extended). */
const webp = (image: Buffer): ImageSize | undefined => {
  const header = bytesAt(image, 0, 16)
  if (header === undefined || header.toString("latin1", 8, 12) !== "WEBP") return undefined
  switch (header.toString("latin1", 12, 16)) {
    case "VP8 ": {
      const frame = bytesAt(image, 26, 4)
      return frame && sized(frame.readUInt16LE(0) & 0x3fff, frame.readUInt16LE(2) & 0x3fff)
    }
    case "VP8L": {
      const frame = bytesAt(image, 21, 4)
      const bits = frame?.readUInt32LE(0)
      return bits === undefined ? undefined : sized((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1)
    }
    case "VP8X": {
      const canvas = bytesAt(image, 24, 6)
      return canvas && sized(canvas.readUIntLE(0, 3) + 1, canvas.readUIntLE(3, 3) + 1)
    }
    default:
      return undefined
  }
}

/** JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic); not DHT (C4), JPG (C8), DAC (CC). */
const isStartOfFrame = (marker: number): boolean =>
  marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc

/** Real JPEGs reach their frame header within a few dozen markers; a walk longer than this is refused. */
const maxJpegMarkers = 1000

/**
 * JPEG: walk the segments after SOI by their lengths to the first start-of-frame, whose
 * height and width are at +5 and +7. Thumbnails inside APP segments are skipped with them.
 */
const jpeg = (image: Buffer): ImageSize | undefined => {
  let offset = 2
  for (let step = 0; step < maxJpegMarkers && offset + 4 <= image.length; step++) {
    const marker = bytesAt(image, offset, 4)
    if (marker === undefined || marker[0] !== 0xff) return undefined
    const type = marker[1]!
    if (type === 0xff) {
      offset += 1 // fill byte
      continue
    }
    if (type === 0xd8 || (type >= 0xd0 && type <= 0xd7) || type === 0x01) {
      offset += 2 // markers without a length
      continue
    }
    if (isStartOfFrame(type)) {
      const frame = bytesAt(image, offset + 5, 4)
      return frame === undefined ? undefined : sized(frame.readUInt16BE(2), frame.readUInt16BE(0))
    }
    const length = marker.readUInt16BE(2)
    if (length < 2 || type === 0xd9 || type === 0xda) return undefined
    offset += 2 + length
  }
  return undefined
}

/** The size an image's own header declares, or undefined when the format or the header is unknown. */
export const imageSizeOfBase64 = (data: string): ImageSize | undefined => {
  const head = base64Prefix(data, 32)
  if (startsWith(head, "\x89PNG")) return png(head)
  if (head[0] === 0xff && head[1] === 0xd8) return jpeg(base64Prefix(data, jpegPrefixBytes))
  if (startsWith(head, "GIF8")) return gif(head)
  if (startsWith(head, "RIFF")) return webp(head)
  return undefined
}
