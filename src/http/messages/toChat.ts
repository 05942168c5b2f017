/**
 * An Anthropic Messages request → the canonical chat request, which then goes through the same pipeline
 * (limits, billing, breakers, retries, fallbacks) and the same provider translators as a chat request. Pure.
 * What the canonical shape cannot carry is refused here naming the Anthropic field, or left out as
 * docs/messages.md lists: `cache_control` other than on text and tool results, `is_error`, `metadata`,
 * `service_tier`, a final assistant turn's prefill.
 */
import * as Result from "effect/Result"
import type { ChatCompletionRequest, ChatMessage, ContentPart, ThinkingBlock, ToolCall } from "../../domain/Chat.ts"
import { quoted, ValidationError } from "../../domain/errors.ts"
import type {
  ContentBlockParam,
  CountTokensRequest,
  CreateMessageRequest,
  DocumentBlockParam,
  ImageBlockParam,
  MessageParam,
  OutputConfig,
  TextBlockParam,
  ThinkingConfig,
  ToolChoice,
  ToolResultBlockParam
} from "../../domain/Messages.ts"
import { CountTokensFields, CreateMessageFields } from "../../domain/Messages.ts"

type Translated<A> = Result.Result<A, ValidationError>

const refuse = (param: string, why: string): Translated<never> =>
  Result.fail(new ValidationError({ message: `${param}: ${why}`, param }))

const createFields: ReadonlySet<string> = new Set(Object.keys(CreateMessageFields.fields))
const countFields: ReadonlySet<string> = new Set(Object.keys(CountTokensFields.fields))

/** Anthropic refuses fields it does not know ("Extra inputs are not permitted"); so does the gateway, naming them. */
const checkFields = (request: object, known: ReadonlySet<string>): Translated<void> => {
  for (const key of Object.keys(request)) {
    if (!known.has(key)) {
      return refuse(key, "this field is not supported by the gateway (Extra inputs are not permitted)")
    }
  }
  return Result.succeed(undefined)
}

/** A text block as a text part, with its caching breakpoint (which the Claude translator forwards). */
const textPart = (block: TextBlockParam): ContentPart => ({
  type: "text",
  text: block.text,
  ...(block.cache_control !== undefined && block.cache_control !== null && { cache_control: block.cache_control })
})

const hasBreakpoint = (block: TextBlockParam): boolean =>
  block.cache_control !== undefined && block.cache_control !== null

const imagePart = (block: ImageBlockParam): ContentPart => ({
  type: "image_url",
  image_url: {
    url:
      block.source.type === "base64" ? `data:${block.source.media_type};base64,${block.source.data}` : block.source.url
  }
})

const documentPart = (block: DocumentBlockParam, param: string): Translated<ContentPart> => {
  const source = block.source
  switch (source.type) {
    case "text":
      return Result.succeed({ type: "text", text: source.data })
    case "base64":
      return Result.succeed({
        type: "file",
        file: {
          file_data: `data:${source.media_type};base64,${source.data}`,
          ...(typeof block.title === "string" && { filename: block.title })
        }
      })
    case "url":
      return refuse(`${param}.source`, "documents are taken inline (base64 or text), not by URL")
  }
}

type UserBlock = Exclude<ContentBlockParam, ToolResultBlockParam>

/** A block of a user turn (or of a tool result) as a content part. */
const userPart = (block: UserBlock, param: string): Translated<ContentPart> => {
  switch (block.type) {
    case "text":
      return Result.succeed(textPart(block))
    case "image":
      return Result.succeed(imagePart(block))
    case "document":
      return documentPart(block, param)
    default:
      return refuse(`${param}.type`, `a ${block.type} block belongs in an assistant turn`)
  }
}

/** A breakpoint on the tool result itself goes on its last text: the same end of the same prompt prefix. */
const toolMessage = (block: ToolResultBlockParam, param: string): Translated<ChatMessage> =>
  Result.gen(function* () {
    const content = block.content ?? ""
    const breakpoint = block.cache_control ?? undefined
    const message = (content: ChatMessage["content"]): ChatMessage => ({
      role: "tool",
      tool_call_id: block.tool_use_id,
      content
    })
    if (typeof content === "string") {
      return breakpoint === undefined
        ? message(content)
        : message([textPart({ type: "text", text: content, cache_control: breakpoint })])
    }
    const parts: Array<ContentPart> = []
    for (const [index, part] of content.entries()) parts.push(yield* userPart(part, `${param}.content[${index}]`))
    const last = parts.at(-1)
    if (breakpoint !== undefined && last?.type === "text")
      parts[parts.length - 1] = { ...last, cache_control: breakpoint }
    return message(parts)
  })

/** Tool results become tool messages, before the rest of their turn (Anthropic wants them first). */
const userMessages = (blocks: ReadonlyArray<ContentBlockParam>, param: string): Translated<Array<ChatMessage>> =>
  Result.gen(function* () {
    const tools: Array<ChatMessage> = []
    const parts: Array<ContentPart> = []
    for (const [index, block] of blocks.entries()) {
      const where = `${param}.content[${index}]`
      if (block.type === "tool_result") tools.push(yield* toolMessage(block, where))
      else parts.push(yield* userPart(block, where))
    }
    return parts.length === 0 ? tools : [...tools, { role: "user", content: parts }]
  })

const assistantMessage = (blocks: ReadonlyArray<ContentBlockParam>, param: string): Translated<ChatMessage> =>
  Result.gen(function* () {
    const texts: Array<TextBlockParam> = []
    const toolCalls: Array<ToolCall> = []
    const thinking: Array<ThinkingBlock> = []
    for (const [index, block] of blocks.entries()) {
      switch (block.type) {
        case "text":
          texts.push(block)
          break
        case "tool_use":
          toolCalls.push({
            id: block.id,
            type: "function",
            function: { name: block.name, arguments: JSON.stringify(block.input) }
          })
          break
        case "thinking":
          // A thinking block without a signature came from a model that signs nothing (the gateway's answers
          // from OpenAI or Gemini reasoning): no provider can verify it, so it is not sent back.
          if (block.signature !== "") thinking.push(block)
          break
        case "redacted_thinking":
          thinking.push(block)
          break
        default:
          return yield* refuse(`${param}.content[${index}].type`, `a ${block.type} block belongs in a user turn`)
      }
    }
    const content =
      texts.length === 0
        ? toolCalls.length > 0
          ? null
          : ""
        : texts.length === 1 && !hasBreakpoint(texts[0]!)
          ? texts[0]!.text
          : texts.map(textPart)
    return {
      role: "assistant",
      content,
      ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
      ...(thinking.length > 0 && { thinking_blocks: thinking })
    }
  })

const systemMessage = (content: MessageParam["content"], param: string): Translated<ChatMessage> =>
  Result.gen(function* () {
    if (typeof content === "string") return { role: "system", content }
    const parts: Array<ContentPart> = []
    for (const [index, block] of content.entries()) {
      if (block.type !== "text")
        return yield* refuse(`${param}.content[${index}].type`, "a system turn holds text only")
      parts.push(textPart(block))
    }
    return { role: "system", content: parts }
  })

const conversation = (request: CountTokensRequest): Translated<Array<ChatMessage>> =>
  Result.gen(function* () {
    const messages: Array<ChatMessage> = []
    const system = request.system
    if (typeof system === "string") {
      if (system !== "") messages.push({ role: "system", content: system })
    } else if (system !== undefined && system.length > 0) {
      messages.push({ role: "system", content: system.map(textPart) })
    }
    for (const [index, message] of request.messages.entries()) {
      const param = `messages[${index}]`
      const content = message.content
      if (message.role === "system") messages.push(yield* systemMessage(content, param))
      else if (typeof content === "string") messages.push({ role: message.role, content })
      else if (message.role === "user") messages.push(...(yield* userMessages(content, param)))
      else messages.push(yield* assistantMessage(content, param))
    }
    return messages
  })

const toolsOf = (request: CountTokensRequest): Translated<ChatCompletionRequest["tools"]> =>
  Result.gen(function* () {
    if (request.tools === undefined) return undefined
    const tools: Array<NonNullable<ChatCompletionRequest["tools"]>[number]> = []
    for (const [index, tool] of request.tools.entries()) {
      if (tool.type !== undefined && tool.type !== null && tool.type !== "custom") {
        return yield* refuse(
          `tools[${index}].type`,
          `Anthropic's server tools (${quoted(tool.type)}) are not offered by the gateway; declare client tools`
        )
      }
      tools.push({
        type: "function",
        function: {
          name: tool.name,
          ...(tool.description !== undefined && { description: tool.description }),
          parameters: tool.input_schema ?? { type: "object", properties: {} }
        }
      })
    }
    return tools
  })

const toolChoiceOf = (choice: ToolChoice | undefined): Partial<ChatCompletionRequest> => {
  if (choice === undefined) return {}
  const parallel = "disable_parallel_tool_use" in choice && choice.disable_parallel_tool_use === true
  const single = parallel ? { parallel_tool_calls: false } : {}
  switch (choice.type) {
    case "auto":
      return { tool_choice: "auto", ...single }
    case "any":
      return { tool_choice: "required", ...single }
    case "none":
      return { tool_choice: "none" }
    case "tool":
      return { tool_choice: { type: "function", function: { name: choice.name } }, ...single }
  }
}

/**
 * Thinking becomes the canonical `reasoning_effort`, which each provider's translator turns into its own
 * (for Claude, the catalog's budget or adaptive effort): an exact `budget_tokens` is not carried, only its
 * size class (docs/messages.md).
 */
const effortOf = (
  thinking: ThinkingConfig | undefined,
  output: OutputConfig | undefined
): ChatCompletionRequest["reasoning_effort"] => {
  if (thinking?.type === "disabled") return "none"
  const effort = output?.effort
  if (effort !== undefined) return effort === "max" ? "xhigh" : effort
  if (thinking?.type === "enabled") {
    const budget = thinking.budget_tokens
    return budget < 4096 ? "low" : budget < 16_384 ? "medium" : "high"
  }
  return undefined
}

/** The prompt as the canonical shape has it: messages, tools, tool choice, thinking, output format. */
const promptOf = (request: CountTokensRequest): Translated<ChatCompletionRequest> =>
  Result.gen(function* () {
    const messages = yield* conversation(request)
    if (messages.length === 0) return yield* refuse("messages", "at least one message is required")
    const tools = (yield* toolsOf(request)) ?? undefined
    const effort = effortOf(request.thinking, request.output_config)
    const format = request.output_config?.format
    return {
      model: request.model,
      messages,
      ...(tools !== undefined && tools.length > 0 && { tools }),
      ...(tools !== undefined && tools.length > 0 && toolChoiceOf(request.tool_choice)),
      ...(effort !== undefined && { reasoning_effort: effort }),
      ...(format !== undefined &&
        format !== null && {
          response_format: { type: "json_schema", json_schema: { name: "output", schema: format.schema } }
        })
    }
  })

export const fromCreateMessage = (request: CreateMessageRequest): Translated<ChatCompletionRequest> =>
  Result.gen(function* () {
    yield* checkFields(request, createFields)
    if (request.top_k !== undefined) {
      return yield* refuse("top_k", "not supported by the gateway (and refused by Claude 4.6 and later); omit it")
    }
    const prompt = yield* promptOf(request)
    const stop = request.stop_sequences ?? []
    return {
      ...prompt,
      max_tokens: request.max_tokens,
      ...(request.stream === true && { stream: true }),
      ...(stop.length > 0 && { stop }),
      ...(request.temperature !== undefined && { temperature: request.temperature }),
      ...(request.top_p !== undefined && { top_p: request.top_p })
    }
  })

export const fromCountTokens = (request: CountTokensRequest): Translated<ChatCompletionRequest> =>
  Result.andThen(checkFields(request, countFields), promptOf(request))
