/**
 * Tool-call ids carry what Gemini needs back on the next turn, because OpenAI clients always send
 * an assistant's `tool_calls` back with their ids, whatever else they drop
 * (https://ai.google.dev/gemini-api/docs/thought-signatures):
 *
 * - the part's `thoughtSignature`, after a marker: `<base>__thought__<signature>` (LiteLLM's
 *   encoding, so ids minted by either gateway read alike). The signature is Gemini's base64,
 *   kept verbatim: typically a few hundred bytes to a few kilobytes, of `A–Z a–z 0–9 + / =`.
 *   Ids without the marker (minted by other providers or clients) are left alone.
 * - the base: Gemini's own call id when it gave one (Gemini 3 may), else one the gateway mints
 *   (`call_…`). Gemini matches function responses to calls by name, and by id when it gave ids, so
 *   ids not of the `call_` form go back on both the call and its response.
 *
 * Pure.
 */

export const signatureMarker = "__thought__"

export const encodeToolCallId = (base: string, signature: string | undefined): string =>
  signature === undefined ? base : `${base}${signatureMarker}${signature}`

export interface DecodedToolCallId {
  readonly base: string
  readonly signature: string | undefined
  /** The id to send Gemini with the call and its response: its own ids only, never the gateway's. */
  readonly geminiId: string | undefined
}

export const decodeToolCallId = (id: string): DecodedToolCallId => {
  const at = id.indexOf(signatureMarker)
  const base = at === -1 ? id : id.slice(0, at)
  const signature = at === -1 ? undefined : id.slice(at + signatureMarker.length)
  return {
    base,
    signature: signature === "" ? undefined : signature,
    geminiId: base === "" || base.startsWith("call_") ? undefined : base
  }
}
