/**
 * The billing hammer: many concurrent workers sending chat requests for a few partly funded
 * users, and the checks of the ledger afterwards (in SQL, and through the API as each user
 * sees their account). Each check returns violations as readable lines: empty when exact.
 */
import { Effect, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { expect, vi } from "vitest"
import type { ChatCompletion, ChatCompletionChunk } from "../../src/domain/Chat.ts"
import * as Money from "../../src/domain/Money.ts"
import type { Provider, ProviderRequest } from "../../src/providers/Provider.ts"
import { builtInModels } from "../../src/services/registry/ModelCatalog.ts"
import { ledgerViolations } from "./billing.ts"
import { client, usd } from "./billingClient.ts"
import { handCost } from "./handCost.ts"
import type { TestGateway } from "./gateway.ts"
import type { Json } from "./json.ts"
import { runSql } from "./sql.ts"

export interface Load {
  readonly users: number
  readonly requests: number
  readonly workers: number
}
export const fullLoad: Load = { users: 20, requests: 2000, workers: 200 }
/** The hammer measures billing, not the rate limiter: limits far above what it sends. */
export const noRateLimits = { RATE_LIMIT_PER_USER_PER_MINUTE: "1000000", RATE_LIMIT_GLOBAL_PER_HOUR: "10000000" }
export const initialBalance = "0.05"

const gpt4 = builtInModels.find((model) => model.id === "gpt-4")!
/** What gpt-4 answers cost, worked out by the test (handCost.ts), not by the gateway's own arithmetic. */
const costOfUsage = (usage: { readonly prompt_tokens: number; readonly completion_tokens: number }) =>
  handCost(
    { input: gpt4.input_price_per_1m, output: gpt4.output_price_per_1m },
    { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }
  )

export interface Sent {
  readonly requestId: string
  readonly userId: string
  readonly status: number
  /** What the client was told it cost (plain: x-request-cost), or computed from the stream's final usage. */
  readonly cost: Money.Nanos | undefined
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number } | undefined
}

/** How clients read streamed answers: some stop reading for a while (stalled), the others read slowly. */
export interface Readers {
  /** Every `stallEvery`-th stream is read up to its first bytes, then not at all for `stallMs`, then to the end. */
  readonly stallEvery: number
  readonly stallMs: number
  /** Milliseconds between two reads of the other streams. */
  readonly readDelayMs: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Reads a response body the way a stalled or slow client does. */
const readSlowly = async (response: Response, stallMs: number, readDelayMs: number): Promise<string> => {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let text = ""
  let reads = 0
  while (true) {
    const { done, value } = await reader.read()
    if (done) return text
    text += decoder.decode(value, { stream: true })
    await sleep(++reads === 1 ? stallMs : readDelayMs)
  }
}

/** Sends `load` to the gateway, or spread request by request over several gateways sharing one database. */
export const hammer = async (
  gateways: TestGateway | ReadonlyArray<TestGateway>,
  label: string,
  load: Load,
  readers?: Readers
): Promise<ReadonlyArray<Sent>> => {
  const apis = (Array.isArray(gateways) ? gateways : [gateways]).map((gateway: TestGateway) => client(gateway.url))
  const sent: Array<Sent> = []
  let next = 0
  let streams = 0
  const worker = async () => {
    while (next < load.requests) {
      const i = next++
      const userId = `${label}-user-${i % load.users}`
      const stream = i % 4 === 3
      const response = await apis[i % apis.length]!.chat(userId, {
        model: "gpt-4",
        messages: [{ role: "user", content: `Request ${i}: tell me something` }],
        // A third ask for the model's maximum: their budget is clamped to what is available.
        ...(i % 3 === 0 ? {} : { max_tokens: 40 }),
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {})
      })
      // The gateway's own id names the request in the ledger and to the provider.
      const requestId = response.headers.get("x-request-id")!
      const stalled = stream && readers !== undefined && ++streams % readers.stallEvery === 0
      const text =
        readers === undefined || !stream || response.status !== 200
          ? await response.text()
          : await readSlowly(response, stalled ? readers.stallMs : readers.readDelayMs, readers.readDelayMs)
      if (response.status !== 200) {
        sent.push({ requestId, userId, status: response.status, cost: undefined, usage: undefined })
        continue
      }
      if (stream) {
        const complete = text.endsWith("data: [DONE]\n\n") && !text.includes('"error"')
        const events = text.split("\n\n").filter((event) => event.startsWith("data: {"))
        const usage = complete ? JSON.parse(events.at(-1)!.slice("data: ".length)).usage : undefined
        sent.push({ requestId, userId, status: complete ? 200 : 502, cost: usage && costOfUsage(usage), usage })
      } else {
        const header = response.headers.get("x-request-cost")
        sent.push({
          requestId,
          userId,
          status: 200,
          cost: header === null ? undefined : usd(header),
          usage: (JSON.parse(text) as Json).usage
        })
      }
    }
  }
  await Promise.all(Array.from({ length: load.workers }, worker))
  return sent
}

/**
 * The hammer's upstream (as the OpenAI adapter): answers with up to `maxChunks` chunks of
 * `chunkBytes` of text each (one completion token a chunk), streamed `delayMs` apart or
 * returned after `plainMs`, and counts, by request id, the calls that completed (a plain
 * answer returned, a stream sent to its end).
 */
export const countingUpstream = (options: {
  readonly maxChunks: number
  readonly chunkBytes: number
  readonly delayMs: number
  /** How long a plain answer takes. */
  readonly plainMs: number
}) => {
  const completed = new Map<string, number>()
  const count = (requestId: string) => completed.set(requestId, (completed.get(requestId) ?? 0) + 1)
  // Words, as a model writes: a run of one character is a tokenizer's worst case, not a model's answer.
  const text = "word ".repeat(Math.ceil(options.chunkBytes / 5)).slice(0, options.chunkBytes)
  const chunksOf = (request: ProviderRequest) => Math.min(options.maxChunks, request.maxTokens)
  const usage = (chunks: number) => ({ prompt_tokens: 20, completion_tokens: chunks, total_tokens: 20 + chunks })
  const chunk = (request: ProviderRequest, extra: Partial<ChatCompletionChunk>): ChatCompletionChunk => ({
    id: `chatcmpl-${request.requestId}`,
    object: "chat.completion.chunk",
    created: 0,
    model: request.model.id,
    choices: [],
    ...extra
  })
  const provider: Provider = {
    name: "openai",
    complete: (request) =>
      Effect.sleep(options.plainMs).pipe(
        Effect.as<ChatCompletion>({
          id: `chatcmpl-${request.requestId}`,
          object: "chat.completion",
          created: 0,
          model: request.model.id,
          choices: [
            { index: 0, message: { role: "assistant", content: text.repeat(chunksOf(request)) }, finish_reason: "stop" }
          ],
          usage: usage(chunksOf(request))
        }),
        Effect.tap(() => Effect.sync(() => count(request.requestId)))
      ),
    stream: (request) =>
      Stream.range(1, chunksOf(request)).pipe(
        Stream.mapEffect((i) =>
          Effect.as(
            Effect.sleep(i === 1 ? 0 : options.delayMs),
            chunk(request, { choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })
          )
        ),
        Stream.concat(Stream.succeed(chunk(request, { usage: usage(chunksOf(request)) }))),
        Stream.onEnd(Effect.sync(() => count(request.requestId)))
      )
  }
  return { provider, completed }
}

/** Every completed upstream call charged exactly once, and no charge without a call; sweeps took no live hold. */
export const upstreamViolations = async (
  databaseUrl: string,
  completed: ReadonlyMap<string, number>
): Promise<ReadonlyArray<string>> => {
  const charges = await runSql(
    databaseUrl,
    Effect.flatMap(
      SqlClient.SqlClient,
      (sql) => sql<{ readonly request_id: string; readonly description: string; readonly uncollected: string }>`
        SELECT request_id, description, uncollected::text FROM billing_transactions WHERE kind = 'charge'`
    )
  )
  const violations: Array<string> = []
  const charged = new Map<string, number>()
  for (const charge of charges) {
    charged.set(charge.request_id, (charged.get(charge.request_id) ?? 0) + 1)
    if (charge.description.endsWith("(charged when its hold expired)")) {
      violations.push(`request ${charge.request_id} was charged by the sweeper: its live hold expired`)
    }
    if (usd(charge.uncollected) !== 0n)
      violations.push(`request ${charge.request_id}: ${charge.uncollected} uncollected`)
  }
  for (const [requestId, calls] of completed) {
    if (calls !== 1) violations.push(`request ${requestId}: ${calls} upstream calls`)
    if (charged.get(requestId) !== 1) violations.push(`request ${requestId}: ${charged.get(requestId) ?? 0} charges`)
  }
  for (const requestId of charged.keys()) {
    if (!completed.has(requestId)) violations.push(`charge for request ${requestId}, which made no completed call`)
  }
  return violations
}

/** What each request's outcome says about the ledger, whichever way the charges were read. */
const checkCharges = (
  sent: ReadonlyArray<Sent>,
  charges: ReadonlyArray<{ readonly request_id: string; readonly amount: Money.Nanos }>
): Array<string> => {
  const violations: Array<string> = []
  const chargesByRequest = new Map<string, Array<Money.Nanos>>()
  for (const charge of charges) {
    chargesByRequest.set(charge.request_id, [...(chargesByRequest.get(charge.request_id) ?? []), charge.amount])
  }
  for (const request of sent) {
    const found = chargesByRequest.get(request.requestId) ?? []
    chargesByRequest.delete(request.requestId)
    if (request.status === 402) {
      if (found.length > 0) violations.push(`refused request ${request.requestId} was charged`)
      continue
    }
    if (request.status !== 200) {
      violations.push(`request ${request.requestId} answered ${request.status}`)
      continue
    }
    if (found.length !== 1) {
      violations.push(`successful request ${request.requestId} has ${found.length} charges`)
      continue
    }
    const charged = -found[0]!
    if (request.cost === undefined) violations.push(`successful request ${request.requestId} was told no cost`)
    else if (charged !== request.cost)
      violations.push(`request ${request.requestId}: charged ${charged}, told ${request.cost}`)
    if (request.usage !== undefined && charged !== costOfUsage(request.usage)) {
      violations.push(`request ${request.requestId}: charged ${charged}, its usage costs ${costOfUsage(request.usage)}`)
    }
  }
  for (const requestId of chargesByRequest.keys()) violations.push(`charge for unknown request ${requestId}`)
  return violations
}

/**
 * The same checks through the API, as each user sees their account: balance = sum of the
 * listed transactions, nothing held once all is settled, and the charges of their requests.
 */
export const apiViolations = async (
  gateway: TestGateway,
  label: string,
  load: Load,
  sent: ReadonlyArray<Sent>
): Promise<ReadonlyArray<string>> => {
  const api = client(gateway.url)
  const violations: Array<string> = []
  const charges: Array<{ request_id: string; amount: Money.Nanos }> = []
  for (let user = 0; user < load.users; user++) {
    const userId = `${label}-user-${user}`
    const account = await vi
      .waitFor(
        async () => {
          const account = await api.balance(userId)
          expect(account.available).toBe(account.balance)
          return account
        },
        { timeout: 10_000, interval: 50 }
      )
      .catch(() => api.balance(userId))
    if (account.available !== account.balance)
      violations.push(`${userId}: ${account.balance - account.available} still held`)
    if (account.balance < 0n) violations.push(`${userId}: balance ${account.balance} below zero`)
    let sum = 0n
    let total = 0
    for (let offset = 0; offset === 0 || offset < total; offset += 100) {
      const { body } = await api.transactions(userId, `?limit=100&offset=${offset}`)
      total = body.total
      for (const transaction of body.transactions) {
        sum += usd(transaction.amount)
        if (transaction.request_id)
          charges.push({ request_id: transaction.request_id, amount: usd(transaction.amount) })
      }
    }
    if (sum !== account.balance) violations.push(`${userId}: balance ${account.balance} != ledger sum ${sum}`)
  }
  return [...violations, ...checkCharges(sent, charges)]
}

/** Every way the run can be wrong, as readable lines; empty when billing was exact. */
export const sqlViolations = async (databaseUrl: string, sent: ReadonlyArray<Sent>): Promise<ReadonlyArray<string>> => {
  // Streams settle when their response ends; give their settlements a moment to land.
  await vi
    .waitFor(
      () =>
        runSql(
          databaseUrl,
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1 FROM billing_holds LIMIT 1`)
        ).then((rows) => expect(rows).toHaveLength(0)),
      { timeout: 10_000, interval: 50 }
    )
    .catch(() => undefined)
  const [invariants, charges] = await runSql(
    databaseUrl,
    Effect.all([
      ledgerViolations("every account"),
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) =>
          sql<{
            readonly request_id: string
            readonly amount: string
            readonly prompt_tokens: number
            readonly completion_tokens: number
          }>`SELECT request_id, amount::text, prompt_tokens, completion_tokens FROM billing_transactions WHERE kind = 'charge'`
      )
    ])
  )
  return [
    ...invariants,
    ...checkCharges(
      sent,
      charges.map((charge) => ({ request_id: charge.request_id, amount: usd(charge.amount) }))
    )
  ]
}

/** How many requests were served, refused (402) and neither; logged under `label`. */
export const tally = (label: string, sent: ReadonlyArray<Sent>) => {
  const served = sent.filter((request) => request.status === 200).length
  const refused = sent.filter((request) => request.status === 402).length
  console.info(`${label}: ${served} served, ${refused} refused (402), ${sent.length - served - refused} other`)
  return { served, refused }
}

/**
 * Every check of a run against a counting upstream, read from the database and through the API
 * (as `label`'s users see it): empty when billing was exact and every completed call was charged once.
 */
export const runViolations = async (options: {
  readonly gateway: TestGateway
  readonly label: string
  readonly load: Load
  readonly sent: ReadonlyArray<Sent>
  readonly completed: ReadonlyMap<string, number>
}): Promise<ReadonlyArray<string>> => {
  const { gateway, label, load, sent, completed } = options
  const databaseUrl = gateway.databaseUrl!
  const served = sent.filter((request) => request.status === 200).length
  return [
    ...(completed.size === served ? [] : [`${completed.size} completed upstream calls, ${served} served`]),
    ...(await sqlViolations(databaseUrl, sent)),
    ...(await upstreamViolations(databaseUrl, completed)),
    ...(await apiViolations(gateway, label, load, sent))
  ]
}
