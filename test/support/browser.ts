/**
 * Headless Chromium for the dashboard's browser tests, driven by playwright-core: the Debian package's browser
 * (`chromium`, which `.ci/run` installs), never a downloaded one. Without it the browser tests are skipped with a
 * notice; in CI (REQUIRE_SERVICES=1) a missing browser fails the run instead, as a missing PostgreSQL does.
 */
import { accessSync, constants, mkdirSync } from "node:fs"
import { delimiter, join } from "node:path"
import { chromium, type Browser, type Page } from "playwright-core"

const candidates = (): ReadonlyArray<string> => [
  ...(process.env["CHROMIUM_PATH"] === undefined ? [] : [process.env["CHROMIUM_PATH"]]),
  "/usr/bin/chromium",
  ...(process.env["PATH"] ?? "")
    .split(delimiter)
    .filter((directory) => directory !== "")
    .flatMap((directory) => [join(directory, "chromium"), join(directory, "chromium-browser")])
]

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The Chromium the tests drive, or undefined when there is none. */
export const chromiumPath: string | undefined = candidates().find(executable)

if (chromiumPath === undefined) {
  if (process.env["REQUIRE_SERVICES"] === "1")
    throw new Error("Chromium is required (REQUIRE_SERVICES=1) but none was found: apt-get install -y chromium")
  console.warn("[tests] Chromium not found (set CHROMIUM_PATH or install chromium): the browser tests are skipped")
}

export const browserAvailable = chromiumPath !== undefined

export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({
    executablePath: chromiumPath!,
    // As root (CI containers) Chromium refuses to start with its sandbox.
    args: ["--no-sandbox", "--disable-dev-shm-usage"]
  })

/** Where the test run writes its screenshots (git-ignored). */
export const screenshotDirectory = join(import.meta.dirname, "..", "..", "screenshots")

export const widths = {
  desktop: { width: 1280, height: 900 },
  phone: { width: 390, height: 844 }
} as const

/** The page as it looks now, at desktop and phone width: `screenshots/<name>-desktop.png` and `-phone.png`. */
export const screenshots = async (page: Page, name: string): Promise<ReadonlyArray<string>> => {
  mkdirSync(screenshotDirectory, { recursive: true })
  const original = page.viewportSize()
  const paths: Array<string> = []
  for (const [label, size] of Object.entries(widths)) {
    await page.setViewportSize(size)
    const path = join(screenshotDirectory, `${name}-${label}.png`)
    await page.screenshot({ path, fullPage: true, animations: "disabled" })
    paths.push(path)
  }
  if (original !== null) await page.setViewportSize(original)
  return paths
}
