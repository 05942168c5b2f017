/**
 * OpenAI's BPE encodings (gpt-tokenizer), loaded on first use. Counting runs only where a
 * provider reported no usage (cut streams, protocol errors) and in the simulator, while an
 * encoding costs tens of MB of memory and a few hundred ms to load (docs/tokens.md has the
 * figures), so a gateway that never needs one never pays for it. `createRequire` keeps the
 * load synchronous for callers that are plain functions.
 */
import { createRequire } from "node:module"

export type EncodingName = "o200k_base" | "cl100k_base"

type Encoding = Pick<typeof import("gpt-tokenizer/encoding/o200k_base"), "countTokens">

const load = createRequire(import.meta.url)
const loaded = new Map<EncodingName, Encoding>()

const encoding = (name: EncodingName): Encoding => {
  const found = loaded.get(name)
  if (found !== undefined) return found
  // The package's "require" export of the same module, typed through its ESM declaration.
  const required = load(`gpt-tokenizer/encoding/${name}`) as Encoding
  loaded.set(name, required)
  return required
}

/** Special-token strings (`<|endoftext|>`) in user text are text: the providers tokenize them as such. */
const asPlainText = { disallowedSpecial: new Set<string>() }

/** The number of BPE tokens of `text` in `name`. */
export const bpeCount = (text: string, name: EncodingName): number =>
  text === "" ? 0 : encoding(name).countTokens(text, asPlainText)
