/**
 * The Gemini API (`v1beta` generateContent) as the gateway speaks it: request types we
 * build (camelCase, as the official SDK sends), schemas for what comes back.
 */
import { Schema } from "effect"

export type RequestPart =
  | { readonly text: string }
  | { readonly inlineData: { readonly mimeType: string; readonly data: string } }
  | { readonly fileData: { readonly mimeType: string; readonly fileUri: string } }
  | { readonly functionCall: { readonly name: string; readonly args: Record<string, unknown> } }
  | { readonly functionResponse: { readonly name: string; readonly response: Record<string, unknown> } }

export interface RequestContent {
  readonly role: "user" | "model"
  readonly parts: ReadonlyArray<RequestPart>
}

export interface FunctionDeclaration {
  readonly name: string
  readonly description?: string
  readonly parameters?: Record<string, unknown>
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
  readonly responseSchema?: Record<string, unknown>
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
  /** Reasoning summaries of thinking models: not part of the answer. */
  thought: Schema.optionalKey(Schema.Boolean),
  functionCall: Schema.optionalKey(
    Schema.Struct({ name: Schema.String, args: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)) })
  )
})
export type ResponsePart = typeof ResponsePart.Type

export const Candidate = Schema.Struct({
  content: Schema.optionalKey(Schema.Struct({ parts: Schema.optionalKey(Schema.Array(ResponsePart)) })),
  finishReason: Schema.optionalKey(Schema.String),
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
