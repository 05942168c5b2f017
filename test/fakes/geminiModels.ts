/**
 * What the Gemini fake knows of each model family, and the checks that depend on it, as the real API
 * applies them: penalties refused by Gemini 2.5 and 3 ("Penalty is not enabled for models/…");
 * thinking by budget (2.5, each model its range) or level (3), never both; JSON Schema fields beside
 * their OpenAPI twins refused, and a `$ref` with siblings; and on Gemini 3 a function call of the
 * current turn without the thought signature it was returned with
 * (https://ai.google.dev/gemini-api/docs/thought-signatures). Older names (1.5, 2.0, anything else)
 * keep the behaviour the fake always had.
 */

interface Budget {
  readonly min: number
  readonly max: number
  /** Whether 0 turns thinking off. */
  readonly off: boolean
}

export interface ModelProfile {
  readonly penalties: boolean
  readonly budget: Budget | undefined
  readonly levels: ReadonlyArray<string> | undefined
  /** Gemini 3: function calls carry thought signatures, and must come back with them. */
  readonly signatures: boolean
}

const legacy: ModelProfile = { penalties: true, budget: undefined, levels: undefined, signatures: false }

export const profileOf = (model: string): ModelProfile => {
  if (model.startsWith("gemini-2.5-pro")) {
    return { ...legacy, penalties: false, budget: { min: 128, max: 32768, off: false } }
  }
  if (model.startsWith("gemini-2.5-flash-lite")) {
    return { ...legacy, penalties: false, budget: { min: 512, max: 24576, off: true } }
  }
  if (model.startsWith("gemini-2.5")) return { ...legacy, penalties: false, budget: { min: 1, max: 24576, off: true } }
  if (model.startsWith("gemini-3")) {
    const levels = model.includes("pro") ? ["low", "medium", "high"] : ["minimal", "low", "medium", "high"]
    // Gemini 3 still takes a budget, for code written for 2.5.
    return { penalties: false, budget: { min: 128, max: 32768, off: false }, levels, signatures: true }
  }
  return legacy
}

const invalid = (message: string) => ({ status: 400, message })
export type Refusal = ReturnType<typeof invalid>

// biome-ignore lint: request bodies are checked field by field
const checkThinking = (config: any, model: string, profile: ModelProfile): Refusal | undefined => {
  const thinking = config.thinkingConfig
  if (thinking === undefined) return undefined
  const { thinkingBudget: budget, thinkingLevel: level } = thinking
  if (budget !== undefined && level !== undefined) {
    return invalid("You can only set one of thinking budget and thinking level.")
  }
  if (profile.budget === undefined && profile.levels === undefined) {
    return invalid(`Thinking is not supported for models/${model}.`)
  }
  if (budget !== undefined) {
    const range = profile.budget
    const inRange = range !== undefined && budget >= range.min && budget <= range.max
    if (budget === 0 && range?.off !== true)
      return invalid("Budget 0 is invalid. This model only works in thinking mode.")
    if (budget !== -1 && budget !== 0 && !inRange) {
      return invalid(
        `The thinking budget ${budget} is invalid. Please choose a value between ${range?.min} and ${range?.max}.`
      )
    }
  }
  if (level !== undefined) {
    if (profile.levels === undefined) return invalid(`Thinking level is not supported for models/${model}.`)
    if (!profile.levels.includes(String(level).toLowerCase())) {
      return invalid(`Invalid value at 'generation_config.thinking_config.thinking_level' (${level}).`)
    }
  }
  return undefined
}

/** The first sub-schema holding a `$ref` beside keywords other than `$…`, which Gemini refuses. */
const refWithSiblings = (schema: unknown): boolean => {
  if (Array.isArray(schema)) return schema.some(refWithSiblings)
  if (typeof schema !== "object" || schema === null) return false
  if ("$ref" in schema && Object.keys(schema).some((key) => !key.startsWith("$"))) return true
  return Object.values(schema).some(refWithSiblings)
}

// biome-ignore lint: request bodies are checked field by field
const checkSchemas = (body: any): Refusal | undefined => {
  const config = body.generationConfig ?? {}
  if (config.responseSchema !== undefined && config.responseJsonSchema !== undefined) {
    return invalid("response_schema and response_json_schema are mutually exclusive.")
  }
  if ((config.responseSchema ?? config.responseJsonSchema) !== undefined && config.responseMimeType === undefined) {
    return invalid("response_mime_type must be set when a response schema is set.")
  }
  if (refWithSiblings(config.responseJsonSchema)) {
    return invalid("A $ref in response_json_schema may not have sibling keywords.")
  }
  for (const tool of body.tools ?? []) {
    for (const declaration of tool.functionDeclarations ?? []) {
      if (declaration.parameters !== undefined && declaration.parametersJsonSchema !== undefined) {
        return invalid("parameters and parameters_json_schema are mutually exclusive.")
      }
      if (refWithSiblings(declaration.parametersJsonSchema)) {
        return invalid("A $ref in parameters_json_schema may not have sibling keywords.")
      }
    }
  }
  return undefined
}

/**
 * Gemini 3 validates the current turn only: the model turns after the last user turn with ordinary
 * content (not function responses). The first function call of each such turn needs the signature
 * the fake issued with it.
 */
// biome-ignore lint: request bodies are checked field by field
const checkSignatures = (contents: Array<any>, issued: ReadonlySet<string>): Refusal | undefined => {
  const isUserText = (content: { role?: string; parts: Array<object> }) =>
    content.role !== "model" && content.parts.some((part) => !("functionResponse" in part))
  let start = 0
  contents.forEach((content, index) => {
    if (isUserText(content)) start = index
  })
  for (const [index, content] of contents.entries()) {
    if (index < start || content.role !== "model") continue
    const position = content.parts.findIndex((part: object) => "functionCall" in part)
    if (position === -1) continue
    const signature = content.parts[position].thoughtSignature
    if (signature === undefined) {
      return invalid(
        `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${content.parts[position].functionCall.name}\`, position ${index + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`
      )
    }
    if (!issued.has(signature)) return invalid("Corrupted thought signature.")
  }
  return undefined
}

/** The checks a model family adds to the fake's general ones. */
// biome-ignore lint: request bodies are checked field by field
export const checkForModel = (body: any, issued: ReadonlySet<string>): Refusal | undefined => {
  const model: string = body.model
  const profile = profileOf(model)
  const config = body.generationConfig ?? {}
  if (!profile.penalties && (config.presencePenalty !== undefined || config.frequencyPenalty !== undefined)) {
    return invalid(`Penalty is not enabled for models/${model}`)
  }
  return (
    checkThinking(config, model, profile) ??
    checkSchemas(body) ??
    (profile.signatures ? checkSignatures(body.contents, issued) : undefined)
  )
}
