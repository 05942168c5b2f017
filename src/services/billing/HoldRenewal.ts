/**
 * When a live request renews its hold. A renewal moves the hold's expiry to a TTL after the renewal
 * started; the next one is due a third of the TTL after the start of the last renewal that landed
 * (not after the last attempt), and a renewal that fails (the database down or slow) is tried again
 * every `retryDelay` until one lands. So a live request's hold expires only when no renewal reaches the
 * database for two thirds of the TTL, however long each failed attempt took.
 *
 * One fiber renews the holds of all the process's live requests. Almost every request ends long before
 * its first renewal is due, so a request only puts its hold on a list and takes it off as it ends: no
 * fiber, timer or interruption of its own. Every hold has the same TTL, so the order in which holds were
 * made or last renewed is the order in which they fall due: the fiber sleeps until the first is due.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { type Linked, LinkedList } from "./LinkedList.ts"

export interface RenewalTimes {
  /** A third of the hold TTL. */
  readonly every: Duration.Duration
  /** The pause between a failed renewal and the next attempt. */
  readonly retryDelay: Duration.Duration
}

export interface HoldRenewalOptions<H, M, E> {
  /** Renews the hold with what its request has metered so far; false when the hold is gone. */
  readonly renew: (hold: H, metered: M) => Effect.Effect<boolean, E>
  readonly times: RenewalTimes
  /** Runs once when a renewal finds the hold gone; the hold is not renewed again. */
  readonly onLost: (hold: H) => Effect.Effect<void>
}

export interface HoldRenewal<H, M> {
  /**
   * Keeps the hold renewed, with what `metered` says at each renewal, until the caller's scope closes. The
   * hold was just made: its first renewal is due a third of the TTL from now. Once the scope has closed the
   * hold is never renewed again, even if a renewal was in flight.
   */
  readonly keep: (hold: H, metered: () => M) => Effect.Effect<void, never, Scope.Scope>
}

/** A live request's hold: on the list while it waits for its next renewal, off it while one is in flight. */
class Kept<H, M> implements Linked<Kept<H, M>> {
  readonly hold: H
  readonly metered: () => M
  /** The request's span, under which its renewals are traced. */
  readonly span: Tracer.AnySpan | undefined
  /** When its next renewal is due. */
  due: number
  /** Its request ended: it is never renewed again. */
  released = false
  listed = false
  previous: Kept<H, M> | undefined = undefined
  next: Kept<H, M> | undefined = undefined

  constructor(hold: H, metered: () => M, span: Tracer.AnySpan | undefined, due: number) {
    this.hold = hold
    this.metered = metered
    this.span = span
    this.due = due
  }
}

/**
 * Puts a hold among those waiting for a renewal, the first due first. Placed from the end: a hold made now is due
 * after every other, and one whose renewal just landed is due after all but those made while it was in flight (its
 * due time counts from the renewal's start).
 */
const insertByDue = <H, M>(waiting: LinkedList<Kept<H, M>>, kept: Kept<H, M>) => {
  let before = waiting.last
  while (before !== undefined && before.due > kept.due) before = before.previous
  waiting.insertAfter(before, kept)
}

/** The renewals of the holds of one process: one fiber, in the caller's scope (the Billing layer's). */
export const makeHoldRenewal = <H, M, E>(
  options: HoldRenewalOptions<H, M, E>
): Effect.Effect<HoldRenewal<H, M>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const clock = yield* Clock.Clock
    const everyMs = Duration.toMillis(options.times.every)
    const waiting = new LinkedList<Kept<H, M>>()
    /** When the fiber wakes up by itself: -Infinity while it is awake (it reads the list before sleeping again). */
    let sleepingUntil = -Infinity
    let wake = Deferred.makeUnsafe<void>()

    /** A hold due before the fiber would wake (the first on an empty list, or a renewal just landed) wakes it. */
    const place = (kept: Kept<H, M>) => {
      insertByDue(waiting, kept)
      if (kept.due < sleepingUntil) {
        sleepingUntil = -Infinity
        Deferred.doneUnsafe(wake, Exit.void)
      }
    }

    /** One due renewal, tried until it lands, the hold is found gone, or its request ends. */
    const renewing = (kept: Kept<H, M>) =>
      Effect.gen(function* () {
        while (!kept.released) {
          const startedAt = clock.currentTimeMillisUnsafe()
          const renewal = options.renew(kept.hold, kept.metered())
          const renewed = yield* Effect.result(
            kept.span === undefined ? renewal : Effect.withParentSpan(renewal, kept.span)
          )
          // Its request ended meanwhile, and settles the hold: no renewal is due any more, and none is sent.
          if (kept.released) return
          if (Result.isFailure(renewed)) {
            yield* Effect.sleep(options.times.retryDelay)
            continue
          }
          // Gone: said once, and never renewed again (it is on no list, and no renewal of it is in flight).
          if (!renewed.success) return yield* options.onLost(kept.hold)
          kept.due = startedAt + everyMs
          return place(kept)
        }
      })

    const renewer = Effect.gen(function* () {
      while (true) {
        const now = clock.currentTimeMillisUnsafe()
        let first = waiting.first
        while (first !== undefined && first.due <= now) {
          waiting.remove(first)
          // Concurrently: the ledger writes the renewals due together as one statement.
          yield* Effect.forkChild(renewing(first))
          first = waiting.first
        }
        wake = Deferred.makeUnsafe<void>()
        sleepingUntil = first === undefined ? Infinity : first.due
        yield* first === undefined
          ? Deferred.await(wake)
          : Effect.raceFirst(Effect.sleep(first.due - clock.currentTimeMillisUnsafe()), Deferred.await(wake))
        sleepingUntil = -Infinity
      }
    })
    yield* Effect.forkScoped(renewer)

    const keep = (hold: H, metered: () => M): Effect.Effect<void, never, Scope.Scope> =>
      Effect.contextWith((context: Context.Context<Scope.Scope>) => {
        const kept = new Kept(
          hold,
          metered,
          Context.getOrUndefined(context, Tracer.ParentSpan),
          clock.currentTimeMillisUnsafe() + everyMs
        )
        place(kept)
        // Runs before the request settles the hold. A renewal already in flight was queued in the ledger before
        // the settle, which applies an account's requests in their order: it lands first. One that reached the
        // ledger after the settle would find no hold (the settle deleted it; a renewal only updates a hold).
        return Scope.addFinalizer(
          Context.get(context, Scope.Scope),
          Effect.sync(() => {
            kept.released = true
            waiting.remove(kept)
          })
        )
      })

    return { keep }
  })
