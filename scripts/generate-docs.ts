/**
 * Writes the parts of the repository that are generated from the code, so that the two cannot drift
 * apart (a test compares them):
 *
 *   npm run docs:generate            rewrite the generated sections and files
 *   npm run docs:generate -- --check exit 1 when one is out of date
 *
 * A generated section sits between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`; a generated file
 * (.env.example) is written whole.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { format, resolveConfig } from "prettier"
import { type Setting, settingsOf } from "../src/config/Setting.ts"
import { declaration, sectionTitles } from "../src/config/variables.ts"
import { fieldPolicy as anthropic } from "../src/providers/anthropic/fieldPolicy.ts"
import type { FieldPolicy, FieldTreatment } from "../src/providers/fieldPolicy.ts"
import { fieldPolicy as gemini } from "../src/providers/gemini/fieldPolicy.ts"
import { fieldPolicy as openai } from "../src/providers/openai/fieldPolicy.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

const cell = ({ treatment, note }: FieldTreatment) => `**${treatment}**: ${note.replaceAll("|", "\\|")}`

/** Every field of a chat request and what each provider's translator does with it. */
export const fieldPolicyTable = (): string => {
  const policies: ReadonlyArray<readonly [string, FieldPolicy]> = [
    ["OpenAI", openai],
    ["Anthropic", anthropic],
    ["Gemini", gemini]
  ]
  const header = `| Field | ${policies.map(([name]) => name).join(" | ")} |`
  const rule = `|${" --- |".repeat(policies.length + 1)}`
  const rows = Object.keys(openai).map(
    (field) =>
      `| \`${field}\` | ${policies.map(([, policy]) => cell(policy[field as keyof FieldPolicy])).join(" | ")} |`
  )
  return [header, rule, ...rows].join("\n")
}

/** The settings of the configuration, by the section they are listed under. */
const configurationSections = (): ReadonlyArray<readonly [string, ReadonlyArray<Setting<unknown>>]> =>
  Object.entries(declaration).map(([key, group]) => [sectionTitles[key as keyof typeof declaration], settingsOf(group)])

const meaning = ({ doc }: Setting<unknown>) =>
  doc.choices === undefined
    ? doc.description
    : `${doc.description} (${doc.choices.map((choice) => `\`${choice}\``).join(", ")})`

/** Every environment variable, section by section: its default and what it means. */
export const configurationTable = (): string =>
  configurationSections()
    .map(([title, settings]) =>
      [
        `### ${title}`,
        "",
        "| Variable | Default | Meaning |",
        "| --- | --- | --- |",
        ...settings.map((setting) => {
          const { doc } = setting
          const shown = doc.default === undefined ? "—" : doc.computed ? doc.default : `\`${doc.default}\``
          return `| \`${setting.name}\` | ${shown} | ${meaning(setting).replaceAll("|", "\\|")} |`
        })
      ].join("\n")
    )
    .join("\n\n")

/** Markdown as plain text, for the comments of .env.example. */
const plain = (markdown: string) =>
  markdown
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replaceAll("`", "")
    .replaceAll("\\*", "*")

/** .env.example: every variable with its default (empty when unset or computed), and what it means. */
export const envExample = (): string => {
  const lines = [
    "# Generated from src/Config.ts by `npm run docs:generate`: edit the declaration there, not this file.",
    "# Copy to .env and edit, or export these in your environment; an empty value is unset (its default applies).",
    "# docs/configuration.md explains each variable."
  ]
  for (const [title, settings] of configurationSections()) {
    lines.push("", `# --- ${title} ---`)
    for (const setting of settings) {
      const { doc } = setting
      const assignment = `${setting.name}=${doc.default === undefined || doc.computed ? "" : doc.default}`
      const defaultNote = doc.computed ? ` (default: ${plain(doc.default!)})` : ""
      lines.push(`${assignment.padEnd(40)} # ${plain(meaning(setting))}${defaultNote}`)
    }
  }
  return `${lines.join("\n")}\n`
}

/** Each generated document: its sections' contents by name, or (not Markdown) the whole file. */
const generated: ReadonlyArray<
  | { readonly path: string; readonly sections: Record<string, () => string> }
  | { readonly path: string; readonly whole: () => string }
> = [
  { path: "docs/providers.md", sections: { "field-policy": fieldPolicyTable } },
  { path: "docs/configuration.md", sections: { configuration: configurationTable } },
  { path: ".env.example", whole: envExample }
]

const replaceSection = (text: string, path: string, name: string, content: string): string => {
  const start = `<!-- generated:${name} -->`
  const end = `<!-- /generated:${name} -->`
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from < 0 || to < from) throw new Error(`${path} has no section ${start} … ${end}`)
  return `${text.slice(0, from + start.length)}\n\n${content}\n\n${text.slice(to)}`
}

/** A document as the generator writes it: its sections regenerated, then formatted as the repository formats it. */
export const render = async (path: string): Promise<string> => {
  const document = generated.find((entry) => entry.path === path)
  if (document === undefined) throw new Error(`${path} has no generated sections`)
  if ("whole" in document) return document.whole()
  const file = `${root}${path}`
  let text = readFileSync(file, "utf8")
  for (const [name, content] of Object.entries(document.sections)) text = replaceSection(text, path, name, content())
  return format(text, { ...(await resolveConfig(file)), filepath: file })
}

export const generatedPaths = generated.map((entry) => entry.path)

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes("--check")
  let stale = 0
  for (const path of generatedPaths) {
    const text = await render(path)
    if (text === readFileSync(`${root}${path}`, "utf8")) continue
    if (check) {
      stale++
      console.error(`${path} is out of date: run npm run docs:generate`)
    } else {
      writeFileSync(`${root}${path}`, text)
      console.log(`wrote ${path}`)
    }
  }
  process.exit(stale === 0 ? 0 : 1)
}
