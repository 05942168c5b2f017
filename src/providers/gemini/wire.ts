/**
 * The Gemini API (`v1beta` generateContent) as the gateway speaks it: request types we
 * build (camelCase, as the official SDK sends), schemas for what comes back.
 * https://ai.google.dev/api/generate-content
 */
import * as Schema from "effect/Schema"

/**
 * `thoughtSignature` rides on the part it was returned on: Gemini 3 refuses a tool loop whose
 * current-turn function calls come back without theirs (https://ai.google.dev/gemini-api/docs/thought-signatures).
 */
interface Signed {
  readonly thoughtSignature?: string
}

export type RequestPart =
  | ({ readonly text: string } & Signed)
  | { readonly inlineData: { readonly mimeType: string; readonly data: string } }
  | { readonly fileData: { readonly mimeType: string; readonly fileUri: string } }
  | ({
      readonly functionCall: { readonly id?: string; readonly name: string; readonly args: Record<string, unknown> }
    } & Signed)
  | {
      readonly functionResponse: {
        readonly id?: string
        readonly name: string
        readonly response: Record<string, unknown>
      }
    }

export interface RequestContent {
  readonly role: "user" | "model"
  readonly parts: ReadonlyArray<RequestPart>
}

/**
 * `parameters` takes the OpenAPI subset (older models); `parametersJsonSchema` takes JSON Schema;
 * the two are mutually exclusive (https://ai.google.dev/api/caching#FunctionDeclaration).
 */
export interface FunctionDeclaration {
  readonly name: string
  readonly description?: string
  readonly parameters?: Record<string, unknown>
  readonly parametersJsonSchema?: Record<string, unknown>
}

/** Gemini 2.5 takes a token budget, Gemini 3 a level; a request with both is refused. */
export interface ThinkingConfig {
  readonly thinkingBudget?: number
  readonly thinkingLevel?: string
  /** Thought summaries, returned as parts marked `thought: true`. */
  readonly includeThoughts?: boolean
}

export interface GenerationConfig {
  readonly maxOutputTokens: number
  readonly temperature?: number
  readonly topP?: number
  readonly stopSequences?: ReadonlyArray<string>
  readonly candidateCount?: number
  readonly presencePenalty?: number
  readonly frequencyPenalty?: number
  readonly seed?: number
  readonly responseMimeType?: string
  /** The OpenAPI subset, for models without JSON Schema support. */
  readonly responseSchema?: Record<string, unknown>
  /** JSON Schema; mutually exclusive with `responseSchema`. */
  readonly responseJsonSchema?: Record<string, unknown>
  readonly thinkingConfig?: ThinkingConfig
}

export interface GenerateContentRequest {
  readonly contents: ReadonlyArray<RequestContent>
  readonly systemInstruction?: { readonly parts: ReadonlyArray<{ readonly text: string }> }
  readonly generationConfig: GenerationConfig
  readonly tools?: ReadonlyArray<{ readonly functionDeclarations: ReadonlyArray<FunctionDeclaration> }>
  readonly toolConfig?: {
    readonly functionCallingConfig: {
      readonly mode: "AUTO" | "ANY" | "NONE"
      readonly allowedFunctionNames?: ReadonlyArray<string>
    }
  }
}

/**
 * Counts are taken as any JSON number and checked as token counts after decoding
 * (`../usage.ts`), so that a bad one is named and the answer's text kept for billing.
 * https://ai.google.dev/api/generate-content#UsageMetadata
 */
const Count = Schema.optionalKey(Schema.Number)

export const UsageMetadata = Schema.Struct({
  promptTokenCount: Count,
  candidatesTokenCount: Count,
  totalTokenCount: Count,
  cachedContentTokenCount: Count,
  thoughtsTokenCount: Count,
  toolUsePromptTokenCount: Count
})
export type UsageMetadata = typeof UsageMetadata.Type

export const ResponsePart = Schema.Struct({
  text: Schema.optionalKey(Schema.String),
  /** Thought summaries of thinking models: reasoning, not part of the answer. */
  thought: Schema.optionalKey(Schema.Boolean),
  thoughtSignature: Schema.optionalKey(Schema.String),
  functionCall: Schema.optionalKey(
    Schema.Struct({
      /** Gemini 3 may name its calls; the function response then carries the same id. */
      id: Schema.optionalKey(Schema.String),
      name: Schema.String,
      args: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
    })
  )
})
export type ResponsePart = typeof ResponsePart.Type

export const Candidate = Schema.Struct({
  content: Schema.optionalKey(Schema.Struct({ parts: Schema.optionalKey(Schema.Array(ResponsePart)) })),
  finishReason: Schema.optionalKey(Schema.String),
  /** Why a candidate stopped, in words (e.g. what was malformed in a function call). */
  finishMessage: Schema.optionalKey(Schema.String),
  index: Schema.optionalKey(Schema.Int)
})
export type Candidate = typeof Candidate.Type

export const GenerateContentResponse = Schema.Struct({
  candidates: Schema.optionalKey(Schema.Array(Candidate)),
  promptFeedback: Schema.optionalKey(Schema.Struct({ blockReason: Schema.optionalKey(Schema.String) })),
  usageMetadata: Schema.optionalKey(UsageMetadata)
})
export type GenerateContentResponse = typeof GenerateContentResponse.Type

/** `{"error": {"code": 429, "message": "…", "status": "RESOURCE_EXHAUSTED", "details": […]}}` */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    code: Schema.optionalKey(Schema.Int),
    message: Schema.optionalKey(Schema.String),
    status: Schema.optionalKey(Schema.String),
    details: Schema.optionalKey(Schema.Array(Schema.Record(Schema.String, Schema.Unknown)))
  })
})
export type ErrorBody = typeof ErrorBody.Type
