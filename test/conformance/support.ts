/**
 * The conformance setting: the three fake upstreams, a gateway whose base URLs point at
 * them, and the official `openai` SDK as the gateway's client.
 */
import OpenAI from "openai"
import type { RawEnv } from "../../src/Config.ts"
import { startAnthropicFake } from "../fakes/anthropic.ts"
import type { FakeUpstream } from "../fakes/FakeUpstream.ts"
import { startGeminiFake } from "../fakes/gemini.ts"
import { startOpenAIFake } from "../fakes/openai.ts"
import { startGateway, type TestGateway, token } from "../support/gateway.ts"

export interface Upstreams {
  readonly openai: FakeUpstream
  readonly anthropic: FakeUpstream
  readonly gemini: FakeUpstream
}

export interface Conformance {
  readonly upstreams: Upstreams
  readonly gateway: TestGateway
  /** An SDK client of the gateway, with SDK retries off so that each call is one request. */
  readonly client: OpenAI
  readonly close: () => Promise<void>
}

export const keys = { openai: "sk-openai-test", anthropic: "sk-ant-test", gemini: "gm-test" } as const

/**
 * Retries on, with short fixed delays, and breakers off, so that one test's scripted failures cannot refuse the
 * next test's calls.
 */
export const quickRetries: RawEnv = {
  LOG_LEVEL: "none",
  RETRY_BASE_DELAY: "0.01",
  RETRY_MAX_DELAY: "0.05",
  RETRY_JITTER: "false",
  CIRCUIT_BREAKER_ENABLED: "false"
}

export const startConformance = async (overrides: RawEnv = {}): Promise<Conformance> => {
  const upstreams: Upstreams = {
    openai: await startOpenAIFake(keys.openai),
    anthropic: await startAnthropicFake(keys.anthropic),
    gemini: await startGeminiFake(keys.gemini)
  }
  const gateway = await startGateway({
    SIMULATE_PROVIDERS: "false",
    OPENAI_API_KEY: keys.openai,
    OPENAI_BASE_URL: `${upstreams.openai.url}/v1`,
    ANTHROPIC_API_KEY: keys.anthropic,
    ANTHROPIC_BASE_URL: upstreams.anthropic.url,
    GEMINI_API_KEY: keys.gemini,
    GEMINI_BASE_URL: upstreams.gemini.url,
    ...overrides
  })
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: await token("conformance"), maxRetries: 0 })
  return {
    upstreams,
    gateway,
    client,
    close: async () => {
      await gateway.close()
      await Promise.all(Object.values(upstreams).map((fake) => fake.close()))
    }
  }
}

export type Vendor = keyof Upstreams

/** The catalog models of the conformance suite and the fake behind each. */
export const models: ReadonlyArray<{ readonly model: string; readonly vendor: Vendor; readonly maxTokens: number }> = [
  { model: "gpt-4", vendor: "openai", maxTokens: 8192 },
  { model: "claude-3", vendor: "anthropic", maxTokens: 4096 },
  { model: "gemini-1.5-pro", vendor: "gemini", maxTokens: 8192 }
]

export const resetAll = (upstreams: Upstreams) => Object.values(upstreams).forEach((fake) => fake.reset())
