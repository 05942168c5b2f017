/**
 * What a non-streamed chat completion and an embeddings request do alike once their model is
 * resolved: take the hold, wait for the rate limiter's verdict (a refusal releases the hold:
 * nothing was sent upstream), call the upstream through `Resilience` while the hold is kept
 * alive, and settle exactly once however the call ended — at the answer's outcome, at what an
 * answer that could not be read leaves to charge (the upstream did the work), else nothing.
 * Reserve and settle cannot be interrupted; only the upstream call can (a client that leaves).
 */
import * as Effect from "effect/Effect"
import type { RateLimited } from "../../domain/errors.ts"
import type { Billing, Hold, Settlement } from "../billing/Billing.ts"
import { type Outcome, release } from "../billing/Metering.ts"
import type { Served, UpstreamFailure } from "../resilience/Resilience.ts"
import type { UpstreamObserver } from "./ChatObserver.ts"

/** Settles, and tells the observer what was charged. */
export const settleObserved = (
  billing: Billing["Service"],
  observer: UpstreamObserver,
  hold: Hold,
  outcome: Outcome
): Effect.Effect<Settlement | undefined> =>
  Effect.map(billing.settle(hold, outcome), (settlement) => {
    observer.settled(outcome, settlement)
    return settlement
  })

export interface HeldCall<A, E> {
  readonly billing: Billing["Service"]
  readonly observer: UpstreamObserver
  /** The rate limiter's verdict. */
  readonly admission: Effect.Effect<void, RateLimited>
  /** Told the outcome of the settle, whichever it is, before it is written (the token limit's correction). */
  readonly settled?: ((outcome: Outcome) => Effect.Effect<void>) | undefined
  readonly reserve: Effect.Effect<Hold, E>
  /** The upstream part under `hold`; `unreadable` records what to charge when an answer cannot be read. */
  readonly call: (hold: Hold, unreadable: (outcome: Outcome) => void) => Effect.Effect<Served<A>, UpstreamFailure>
  /** What the answer is charged. */
  readonly outcomeOf: (served: Served<A>) => Outcome
}

export const heldCall = <A, E>(
  options: HeldCall<A, E>
): Effect.Effect<
  {
    readonly hold: Hold
    readonly served: Served<A>
    /** What the answer was charged. */
    readonly outcome: Outcome
    readonly settlement: Settlement | undefined
  },
  E | RateLimited | UpstreamFailure
> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const { billing, observer } = options
      const settle = (hold: Hold, outcome: Outcome) =>
        Effect.andThen(options.settled?.(outcome) ?? Effect.void, settleObserved(billing, observer, hold, outcome))
      const hold = yield* options.reserve
      yield* Effect.onError(options.admission, () => settle(hold, release))
      observer.upstreamStarted()
      let unreadable: Outcome = release
      const call = options.call(hold, (outcome) => {
        unreadable = outcome
      })
      // Until the answer arrives nothing is metered: renewals only keep the hold alive.
      const answer = yield* Effect.exit(
        restore(
          Effect.scoped(
            Effect.andThen(
              billing.keepAlive(hold, () => release),
              call
            )
          )
        )
      )
      observer.upstreamEnded()
      const outcome = answer._tag === "Success" ? options.outcomeOf(answer.value) : unreadable
      const settlement = yield* settle(hold, outcome)
      return { hold, served: yield* answer, outcome, settlement }
    })
  )
