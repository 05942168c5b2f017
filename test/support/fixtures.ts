/**
 * Recorded upstream answers (`test/fixtures/`), read as the translators receive them.
 */
import { readFileSync } from "node:fs"

export const fixtureText = (path: string): string =>
  readFileSync(new URL(`../fixtures/${path}`, import.meta.url), "utf8")

export const jsonFixture = (path: string): unknown => JSON.parse(fixtureText(path))

export interface SseEvent {
  readonly event: string | undefined
  readonly data: string
}

/** The events of an SSE fixture, split as SSE clients split them (LF or CRLF pairs). */
export const sseFixture = (path: string): Array<SseEvent> =>
  fixtureText(path)
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const lines = block.split(/\r?\n/)
      const field = (name: string) =>
        lines.filter((line) => line.startsWith(`${name}:`)).map((line) => line.slice(name.length + 1).trimStart())
      return { event: field("event")[0], data: field("data").join("\n") }
    })
