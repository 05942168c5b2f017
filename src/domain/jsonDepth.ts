/**
 * How deep a JSON text nests, found without parsing it. Deep nesting is refused before any work because later
 * steps walk client data recursively (the token bound's `JSON.stringify`, schema translation for the providers):
 * 200,000 levels overflow the stack. Real requests nest a dozen levels; tool schemas a few dozen at most.
 */

/** The deepest nesting of objects and arrays a request body may have (documented in docs/security.md). */
export const maxJsonDepth = 64

const quote = 34
const backslash = 92
const openBrace = 123
const openBracket = 91
const closeBrace = 125
const closeBracket = 93

/**
 * Whether `text` opens more than `limit` objects or arrays inside one another. Strings are skipped with
 * `indexOf` (a base64 image is one long string), so the cost is a pass over the structure, not over the text.
 * Malformed JSON is answered anyway (the parser refuses it later); this only bounds the depth.
 */
export const nestsDeeperThan = (text: string, limit: number): boolean => {
  let depth = 0
  let i = 0
  const length = text.length
  while (i < length) {
    const c = text.charCodeAt(i)
    if (c === quote) {
      // The closing quote is the first one not escaped by an odd run of backslashes.
      let end = text.indexOf('"', i + 1)
      while (end !== -1) {
        let slashes = 0
        while (text.charCodeAt(end - 1 - slashes) === backslash) slashes++
        if (slashes % 2 === 0) break
        end = text.indexOf('"', end + 1)
      }
      if (end === -1) return false
      i = end + 1
      continue
    }
    if (c === openBrace || c === openBracket) {
      if (++depth > limit) return true
    } else if (c === closeBrace || c === closeBracket) {
      depth--
    }
    i++
  }
  return false
}
