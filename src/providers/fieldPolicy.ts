/**
 * What each provider does with each field of an OpenAI Chat Completions request: one table per
 * provider, checked by tests to name every field of the request schema, and rendered into the
 * docs so that code and documentation cannot drift apart. A `refused` entry also carries its check,
 * which `refusalCheck` applies: the table is what the translator refuses, not a description of it.
 */
import * as Result from "effect/Result"
import type { ChatCompletionRequest } from "../domain/Chat.ts"
import type { UnsupportedReason } from "../domain/ProviderError.ts"
import { isSet, unsupported } from "./translateCommon.ts"

export type RequestField = keyof ChatCompletionRequest

/** How a refused field is refused: the 400's message, and the values that change nothing, so pass. */
export interface Refusal {
  readonly message: string | ((value: unknown) => string)
  /** A value for which this is true is let through (the translator has nowhere to send it); absent: none is. */
  readonly harmless?: (value: unknown, field: string) => boolean
}

/**
 * - `passed`: sent to the upstream unchanged;
 * - `mapped`: translated into the provider's own field(s);
 * - `gateway`: decided by the gateway itself (the model, the completion budget, streaming);
 * - `dropped`: not sent, for the reason in `note` (never silently: the note is the documentation);
 * - `refused`: the request is refused with 400 naming the field (possibly only for some values: say which).
 *
 * `note` is one sentence for the docs table: what happens, and why.
 */
export type FieldTreatment =
  | { readonly treatment: "passed" | "mapped" | "gateway" | "dropped"; readonly note: string }
  | { readonly treatment: "refused"; readonly note: string; readonly refusal: Refusal }

export type FieldPolicy = { readonly [Field in RequestField]-?: FieldTreatment }

export const passed = (note: string): FieldTreatment => ({ treatment: "passed", note })
export const mapped = (note: string): FieldTreatment => ({ treatment: "mapped", note })
export const gateway = (note: string): FieldTreatment => ({ treatment: "gateway", note })
export const dropped = (note: string): FieldTreatment => ({ treatment: "dropped", note })
export const refused = (note: string, refusal: Refusal): FieldTreatment => ({ treatment: "refused", note, refusal })

/** OpenAI's own tiers that mean the standard one: nothing to ask for. */
export const defaultTier = (tier: unknown): boolean => tier === "auto" || tier === "default"

/** Output modalities that ask for text alone. */
export const textOnly = (modalities: unknown): boolean =>
  Array.isArray(modalities) && modalities.every((modality) => modality === "text")

/**
 * The table's refusals as one check, run before translating: the first refused field the request sets
 * to a value that is not harmless fails, naming the field.
 */
export const refusalCheck = (
  policy: FieldPolicy
): ((request: ChatCompletionRequest) => Result.Result<void, UnsupportedReason>) => {
  const refusals = Object.entries(policy).flatMap(([field, treatment]) =>
    treatment.treatment === "refused" ? [{ field, ...treatment.refusal }] : []
  )
  return (request) => {
    const fields: Readonly<Record<string, unknown>> = request
    for (const { field, message, harmless } of refusals) {
      const value = fields[field]
      if (isSet(value) && harmless?.(value, field) !== true) {
        return unsupported(field, typeof message === "string" ? message : message(value))
      }
    }
    return Result.void
  }
}
