import * as Duration from "effect/Duration"
import type { UpstreamTimeouts } from "../../src/Config.ts"

/** The upstream bounds of tests and benchmarks that call an adapter directly: the defaults' shape, generous. */
export const upstreamTimeouts: UpstreamTimeouts = {
  connect: Duration.seconds(10),
  firstByte: Duration.seconds(60),
  total: Duration.seconds(600),
  streamIdle: Duration.seconds(30),
  minOutputTokensPerSecond: 5
}
