import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"

/** Whether the gateway is draining for shutdown: readiness turns false while in-flight work finishes. */
export class Lifecycle extends Context.Service<
  Lifecycle,
  {
    readonly draining: Effect.Effect<boolean>
    readonly beginDraining: Effect.Effect<void>
  }
>()("gateway/Lifecycle") {
  static readonly layer = Layer.effect(
    Lifecycle,
    Effect.gen(function* () {
      const draining = yield* Ref.make(false)
      return { draining: Ref.get(draining), beginDraining: Ref.set(draining, true) }
    })
  )
}
