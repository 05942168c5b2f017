/**
 * Audio durations and PDF page counts from inline base64 data. A duration has a `ceiling`
 * (from the header for WAV; from the lowest MP3 bitrate, 8 kbit/s, for MP3) and an
 * `expected` value (the MP3's own first-frame bitrate). Only WAV and MP3 are read: they are
 * the formats OpenAI accepts, and a compressed format without a fixed minimum bitrate (FLAC,
 * Ogg, AAC) can hold any duration in few bytes.
 */
import { base64Prefix, base64Size, bytesAt } from "./base64Prefix.ts"
import type { Estimate } from "./imageTokens.ts"

/** The bytes decoded for a header: WAV's `fmt ` chunk and an MP3's ID3 tag come first. */
const headerBytes = 64 * 1024

/** RIFF chunks walked before giving up on finding `fmt `. */
const maxWavChunks = 64

/** WAV: bytes per second from the `fmt ` chunk (rate × channels × bits / 8); the whole payload bounds the samples. */
const wavBytesPerSecond = (audio: Buffer): number | undefined => {
  const header = bytesAt(audio, 0, 12)
  if (
    header === undefined ||
    header.toString("latin1", 0, 4) !== "RIFF" ||
    header.toString("latin1", 8, 12) !== "WAVE"
  ) {
    return undefined
  }
  let offset = 12
  for (let chunk = 0; chunk < maxWavChunks; chunk++) {
    const head = bytesAt(audio, offset, 8)
    if (head === undefined) return undefined
    const size = head.readUInt32LE(4)
    if (head.toString("latin1", 0, 4) === "fmt ") {
      const format = bytesAt(audio, offset + 8, 16)
      if (format === undefined) return undefined
      const channels = format.readUInt16LE(2)
      const sampleRate = format.readUInt32LE(4)
      const bits = format.readUInt16LE(14)
      const rate = (sampleRate * channels * bits) / 8
      return rate > 0 ? rate : undefined
    }
    offset += 8 + size + (size % 2)
  }
  return undefined
}

/** MPEG audio layer III bitrates (kbit/s) by index: MPEG-1, then MPEG-2 and 2.5. */
const layer3Kbps = {
  mpeg1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  mpeg2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
}
/** The lowest layer III bitrate: no MP3 frame holds more than 1/8000 s per bit. */
const minimumMp3BitsPerSecond = 8_000
/** An MP3 whose first frame cannot be read is counted at a common bitrate. */
const commonMp3BitsPerSecond = 128_000

/** The bitrate of the first MP3 frame, after an ID3v2 tag if there is one. */
const mp3BitsPerSecond = (audio: Buffer): number | undefined => {
  let offset = 0
  const tag = bytesAt(audio, 0, 10)
  if (tag !== undefined && tag.toString("latin1", 0, 3) === "ID3") {
    offset = 10 + ((tag[6]! & 0x7f) << 21) + ((tag[7]! & 0x7f) << 14) + ((tag[8]! & 0x7f) << 7) + (tag[9]! & 0x7f)
  }
  const frame = bytesAt(audio, offset, 4)
  if (frame === undefined || frame[0] !== 0xff || (frame[1]! & 0xe0) !== 0xe0) return undefined
  const version = (frame[1]! >> 3) & 3
  const layer = (frame[1]! >> 1) & 3
  if (layer !== 1 || version === 1) return undefined
  const kbps = (version === 3 ? layer3Kbps.mpeg1 : layer3Kbps.mpeg2)[frame[2]! >> 4]
  return kbps === undefined || kbps === 0 ? undefined : kbps * 1000
}

/** Seconds of audio in a base64 payload of `format`, or undefined when the format cannot be read. */
export const audioSeconds = (data: string, format: string, estimate: Estimate): number | undefined => {
  const size = base64Size(data)
  switch (format.toLowerCase()) {
    case "wav": {
      const rate = wavBytesPerSecond(base64Prefix(data, headerBytes))
      return rate === undefined ? undefined : size / rate
    }
    case "mp3": {
      const bitsPerSecond =
        estimate === "ceiling"
          ? minimumMp3BitsPerSecond
          : (mp3BitsPerSecond(base64Prefix(data, headerBytes)) ?? commonMp3BitsPerSecond)
      return (size * 8) / bitsPerSecond
    }
    default:
      return undefined
  }
}

/** The base64 payload of a `file_data` field, which may be a data: URL or bare base64. */
export const fileBase64 = (fileData: string): string => {
  const comma = fileData.startsWith("data:") ? fileData.indexOf(",") : -1
  return comma === -1 ? fileData : fileData.slice(comma + 1)
}

/**
 * Pages of a PDF by its `/Type /Page` objects, at least one. Pages inside compressed object
 * streams are invisible to this, so it is an estimate for counting only, never a bound.
 */
export const pdfPages = (base64: string): number => {
  const text = Buffer.from(base64, "base64").toString("latin1")
  const pages = text.match(/\/Type\s*\/Page(?![A-Za-z])/g)
  return Math.max(1, pages?.length ?? 0)
}
