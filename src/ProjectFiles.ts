/**
 * The project's files read at run time (package.json, the migrations, the dashboard), addressed from the
 * project's root. This module is one folder below the root both as a source (`src/`) and in the build
 * (`dist/`, where every module bundled into a chunk shares that chunk's URL), so one rule serves both.
 */
const root = new URL("../", import.meta.url)

export const projectFile = (path: string): URL => new URL(path, root)
