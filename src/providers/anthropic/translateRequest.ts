/**
 * OpenAI Chat Completions request → Anthropic Messages request. Pure. What Anthropic cannot do is
 * refused here, before any upstream call, naming the request field; `fieldPolicy.ts` says what happens
 * to each field (and its refused fields are checked as it says), and the tests hold this translator to it.
 */
import * as Result from "effect/Result"
import type { ChatCompletionRequest, ToolChoice } from "../../domain/Chat.ts"
import type { ProviderRequest } from "../Provider.ts"
import { refusalCheck } from "../fieldPolicy.ts"
import { catalogParameterRules, isSet, stopSequences, type Translated, unsupported } from "../translateCommon.ts"
import { fieldPolicy } from "./fieldPolicy.ts"
import { type StructuredOutput, structuredOutput } from "./structured.ts"
import { isThinking, resolveThinking, type Thinking, thinkingFields, yieldThinking } from "./thinking.ts"
import { conversation, finishTurns, toolTurnWithoutThinking } from "./translateMessages.ts"
import type { MessagesRequest, OutputConfig, RequestMessage, RequestTool, RequestToolChoice } from "./wire.ts"

/** The body, and whether the answer comes as the forced JSON tool's input (to unwrap into `content`). */
export interface AnthropicCall {
  readonly body: MessagesRequest
  readonly jsonTool: boolean
}

const refuse = (field: string, why: string): Translated<never> => unsupported(field, `${field}: ${why}`)

/** The fields the field policy refuses, at the values it refuses them at. */
const refusedFields = refusalCheck(fieldPolicy)

/** Values of mapped fields that Anthropic's counterparts do not take (the table's refused fields are checked next). */
const checkValues = (request: ChatCompletionRequest): Translated<void> => {
  if (isSet(request.temperature) && request.temperature > 1) {
    return refuse("temperature", "Anthropic models accept a temperature between 0 and 1")
  }
  if (stopSequences(request).some((stop) => stop.trim() === "")) {
    return refuse("stop", "Anthropic models reject empty or whitespace-only stop sequences")
  }
  return Result.void
}

const forcesTool = (choice: ToolChoice | null | undefined): boolean =>
  choice === "required" || typeof choice === "object"

/** Settles thinking against what excludes it, in the order a reader would check: format, tools, sampling, the tool loop. */
const settleThinking = (
  initial: Thinking,
  request: ChatCompletionRequest,
  structured: StructuredOutput,
  leftOut: ReadonlySet<string>,
  turns: ReadonlyArray<RequestMessage>
): Translated<Thinking> =>
  Result.gen(function* () {
    let thinking = initial
    if (structured.kind === "tool") {
      const why = "this JSON format needs a forced tool call, which Claude refuses while thinking (reasoning_effort)"
      thinking = yield* yieldThinking(thinking, "response_format", why)
    }
    if ((request.tools ?? []).length > 0 && forcesTool(request.tool_choice)) {
      const why = "Claude refuses forced tool use while thinking (reasoning_effort); send auto or none"
      thinking = yield* yieldThinking(thinking, "tool_choice", why)
    }
    const temperature = leftOut.has("temperature") ? undefined : request.temperature
    if (isSet(temperature) && temperature !== 1) {
      thinking = yield* yieldThinking(
        thinking,
        "temperature",
        "Claude takes no temperature while thinking (reasoning_effort)"
      )
    }
    const topP = leftOut.has("top_p") ? undefined : request.top_p
    if (isSet(topP) && topP < 0.95) {
      thinking = yield* yieldThinking(
        thinking,
        "top_p",
        "Claude takes a top_p of 0.95 to 1 while thinking (reasoning_effort)"
      )
    }
    const bare = isThinking(thinking.plan) ? toolTurnWithoutThinking(turns) : undefined
    if (bare === undefined) return thinking
    // A client that did not echo the blocks keeps its tool loop working, without thinking on this turn.
    if (thinking.canDisable) return { ...thinking, plan: { kind: "off" } }
    return yield* refuse(
      "messages",
      "this model always thinks, and needs the thinking_blocks of the assistant message that made the tool calls back"
    )
  })

const toolChoice = (
  choice: ToolChoice | null | undefined,
  parallel: boolean | null | undefined,
  jsonTool: string | undefined
): RequestToolChoice | undefined => {
  const single = parallel === false ? { disable_parallel_tool_use: true } : {}
  if (typeof choice === "object" && choice !== null) return { type: "tool", name: choice.function.name, ...single }
  if (jsonTool !== undefined) return choice === "none" ? { type: "tool", name: jsonTool } : { type: "any", ...single }
  if (choice === "none") return { type: "none" }
  if (choice === "required") return { type: "any", ...single }
  return parallel === false ? { type: "auto", ...single } : choice === "auto" ? { type: "auto" } : undefined
}

const toolsOf = (request: ChatCompletionRequest): Array<RequestTool> =>
  (request.tools ?? []).map((tool) => ({
    name: tool.function.name,
    ...(tool.function.description !== undefined && { description: tool.function.description }),
    input_schema: tool.function.parameters ?? { type: "object", properties: {} }
  }))

export const toMessagesRequest = (input: ProviderRequest, stream: boolean): Translated<AnthropicCall> =>
  Result.gen(function* () {
    const { request, model } = input
    yield* checkValues(request)
    yield* refusedFields(request)
    const leftOut = yield* catalogParameterRules(request, model)
    const structured = yield* structuredOutput(request, model)
    const { system, turns } = yield* conversation(request.messages)
    const withThinking = finishTurns(turns, true)
    const thinking = yield* settleThinking(
      yield* resolveThinking(request, model, input.maxTokens),
      request,
      structured,
      leftOut,
      withThinking
    )
    const thinks = isThinking(thinking.plan)
    const messages = thinks ? withThinking : finishTurns(turns, false)
    const clientTools = toolsOf(request)
    const jsonTool = structured.kind === "tool" ? structured.tool : undefined
    const tools = jsonTool === undefined ? clientTools : [...clientTools, jsonTool]
    const forced =
      jsonTool !== undefined && clientTools.length === 0 ? { type: "tool" as const, name: jsonTool.name } : undefined
    const choice =
      forced ??
      (tools.length > 0 ? toolChoice(request.tool_choice, request.parallel_tool_calls, jsonTool?.name) : undefined)
    const { thinking: thinkingConfig, output_config: effort } = thinkingFields(thinking.plan)
    const outputConfig: OutputConfig = { ...effort, ...(structured.kind === "native" && { format: structured.format }) }
    // Sampling Claude refuses while thinking goes only at its neutral value (checked above), so it is left out.
    const temperature = thinks || leftOut.has("temperature") ? undefined : request.temperature
    const topP = leftOut.has("top_p") || (thinks && request.top_p === 1) ? undefined : request.top_p
    const stop = stopSequences(request)
    const userId = request.safety_identifier ?? request.user
    const body: MessagesRequest = {
      model: model.upstreamModel,
      max_tokens: input.maxTokens,
      messages,
      ...(system.length > 0 && { system }),
      ...(isSet(temperature) && { temperature }),
      ...(isSet(topP) && { top_p: topP }),
      ...(stop.length > 0 && { stop_sequences: stop }),
      ...(tools.length > 0 && { tools }),
      ...(choice !== undefined && { tool_choice: choice }),
      ...(isSet(userId) && userId !== "" && { metadata: { user_id: userId } }),
      ...(thinkingConfig !== undefined && { thinking: thinkingConfig }),
      ...(Object.keys(outputConfig).length > 0 && { output_config: outputConfig }),
      ...(stream && { stream: true })
    }
    return { body, jsonTool: jsonTool !== undefined }
  })
