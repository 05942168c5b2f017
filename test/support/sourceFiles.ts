import { readdirSync } from "node:fs"
import { join } from "node:path"

/** The TypeScript modules under `directory`, recursively, as paths relative to where the tests run (the root). */
export const sourceFiles = (directory: string): Array<string> =>
  readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(directory, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(directory, entry.name)]
        : []
  )
