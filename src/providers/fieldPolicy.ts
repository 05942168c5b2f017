/**
 * What each provider does with each field of an OpenAI Chat Completions request: one table per
 * provider, checked by tests to name every field of the request schema, and rendered into the
 * docs so that code and documentation cannot drift apart.
 */
import type { ChatCompletionRequest } from "../domain/Chat.ts"

export type RequestField = keyof ChatCompletionRequest

export interface FieldTreatment {
  /**
   * - `passed`: sent to the upstream unchanged;
   * - `mapped`: translated into the provider's own field(s);
   * - `gateway`: decided by the gateway itself (the model, the completion budget, streaming);
   * - `dropped`: not sent, for the reason in `note` (never silently: the note is the documentation);
   * - `refused`: the request is refused with 400 naming the field (possibly only for some values: say which).
   */
  readonly treatment: "passed" | "mapped" | "gateway" | "dropped" | "refused"
  /** One sentence for the docs table: what happens, and why. */
  readonly note: string
}

export type FieldPolicy = { readonly [Field in RequestField]-?: FieldTreatment }
