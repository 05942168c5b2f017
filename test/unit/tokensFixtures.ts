/**
 * Tiny media files built byte by byte from their format specs, for the token tests: only
 * the headers the gateway reads are meaningful, the rest is filler of the right length.
 */
import { crc32 } from "node:zlib"
import { type CatalogModel, plainCapabilities, type ProviderName } from "../../src/domain/Catalog.ts"

export const dataUrl = (mediaType: string, bytes: Buffer): string =>
  `data:${mediaType};base64,${bytes.toString("base64")}`

const u16be = (value: number) => Buffer.from([value >> 8, value & 0xff])
const u16le = (value: number) => Buffer.from([value & 0xff, value >> 8])
const u32le = (value: number) => {
  const buffer = Buffer.alloc(4)
  buffer.writeUInt32LE(value)
  return buffer
}

export const png = (width: number, height: number): Buffer => {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  const type = Buffer.from("IHDR", "latin1")
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([type, ihdr])))
  const length = Buffer.alloc(4)
  length.writeUInt32BE(13)
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), length, type, ihdr, crc])
}

const segment = (marker: number, body: Buffer) =>
  Buffer.concat([Buffer.from([0xff, marker]), u16be(body.length + 2), body])

/**
 * A progressive JPEG whose EXIF segment holds a thumbnail's frame header of 16×16, which a
 * reader must skip, then `profileBytes` of ICC profile in APP2 segments, then the real SOF2.
 */
export const jpeg = (width: number, height: number, profileBytes = 0): Buffer => {
  const thumbnailFrame = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x10, 0x03])
  const exif = Buffer.concat([Buffer.from("Exif\0\0", "latin1"), thumbnailFrame, Buffer.alloc(64)])
  const profile: Array<Buffer> = []
  for (let left = profileBytes; left > 0; left -= 60_000)
    profile.push(segment(0xe2, Buffer.alloc(Math.min(left, 60_000))))
  const jfif = Buffer.concat([Buffer.from("JFIF\0", "latin1"), Buffer.from([1, 1, 0, 0, 1, 0, 1, 0, 0])])
  const frame = Buffer.concat([
    Buffer.from([8]),
    u16be(height),
    u16be(width),
    Buffer.from([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
  ])
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, jfif),
    segment(0xe1, exif),
    ...profile,
    segment(0xdb, Buffer.alloc(65)),
    segment(0xc2, frame),
    segment(0xda, Buffer.alloc(10)),
    Buffer.from([0xff, 0xd9])
  ])
}

export const gif = (width: number, height: number): Buffer =>
  Buffer.concat([Buffer.from("GIF89a", "latin1"), u16le(width), u16le(height), Buffer.from([0, 0, 0, 0x3b])])

const riff = (form: string, chunks: Buffer): Buffer =>
  Buffer.concat([Buffer.from("RIFF", "latin1"), u32le(chunks.length + 4), Buffer.from(form, "latin1"), chunks])
const chunk = (id: string, body: Buffer): Buffer => Buffer.concat([Buffer.from(id, "latin1"), u32le(body.length), body])

export const webpLossy = (width: number, height: number): Buffer =>
  riff(
    "WEBP",
    chunk(
      "VP8 ",
      Buffer.concat([Buffer.from([0, 0, 0, 0x9d, 0x01, 0x2a]), u16le(width), u16le(height), Buffer.alloc(4)])
    )
  )

export const webpLossless = (width: number, height: number): Buffer => {
  const bits = Buffer.alloc(4)
  bits.writeUInt32LE(((width - 1) | ((height - 1) << 14)) >>> 0)
  return riff("WEBP", chunk("VP8L", Buffer.concat([Buffer.from([0x2f]), bits, Buffer.alloc(3)])))
}

export const webpExtended = (width: number, height: number): Buffer => {
  const canvas = Buffer.alloc(10)
  canvas.writeUIntLE(width - 1, 4, 3)
  canvas.writeUIntLE(height - 1, 7, 3)
  return riff("WEBP", chunk("VP8X", canvas))
}

/** PCM WAV of silence: `seconds` at `sampleRate` Hz, mono, 16-bit, after a LIST chunk the reader must skip. */
export const wav = (seconds: number, sampleRate = 16_000): Buffer => {
  const format = Buffer.concat([u16le(1), u16le(1), u32le(sampleRate), u32le(sampleRate * 2), u16le(2), u16le(16)])
  const info = chunk("LIST", Buffer.from("INFOISFT\x05\x00\x00\x00test\x00\x00", "latin1"))
  return riff(
    "WAVE",
    Buffer.concat([info, chunk("fmt ", format), chunk("data", Buffer.alloc(seconds * sampleRate * 2))])
  )
}

/** MPEG-1 layer III at `kbps` (32…320): an ID3v2 tag, then frames of the right size for 44.1 kHz. */
export const mp3 = (seconds: number, kbps: number): Buffer => {
  const index = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320].indexOf(kbps)
  const tag = Buffer.concat([Buffer.from("ID3", "latin1"), Buffer.from([4, 0, 0, 0, 0, 0, 20]), Buffer.alloc(20)])
  const body = Buffer.alloc(Math.round((seconds * kbps * 1000) / 8))
  body.set([0xff, 0xfb, (index << 4) | 0x00, 0xc4])
  return Buffer.concat([tag, body])
}

export const catalogModel = (provider: ProviderName, upstreamModel: string, contextWindow = 128_000): CatalogModel => ({
  id: `${provider}:${upstreamModel}`,
  provider,
  upstreamModel,
  ownedBy: provider,
  inputPricePerMillion: 1_000_000_000n,
  cachedInputPricePerMillion: 1_000_000_000n,
  cacheWritePricePerMillion: 1_000_000_000n,
  outputPricePerMillion: 1_000_000_000n,
  maxOutputTokens: 4096,
  contextWindow,
  fallbacks: [],
  created: 0,
  ...plainCapabilities
})
