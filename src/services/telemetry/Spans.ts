/**
 * Spans that cost nothing when tracing is off. With the tracer disabled (no OTLP endpoint: Tracing.ts),
 * `Effect.withSpan` still makes a no-op span, adds it to the fiber's context and pushes a stack frame: about
 * 2 µs a span (`node bench/effect-fn.ts`: `fnUntraced+withSpan` against `fnUntraced+traced`), and a request
 * has about ten. These helpers read the fiber's `TracerEnabled` and, when tracing is off, run the effect as it is.
 */
import * as Effect from "effect/Effect"
import * as References from "effect/References"
import type * as Tracer from "effect/Tracer"

type Wrap = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** `self`, or `whileTracing(self)` when tracing is on: span attributes and annotations only built when recorded. */
export const whenTracing = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  whileTracing: (self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) => (fiber.getRef(References.TracerEnabled) ? whileTracing(self) : self))

/**
 * `Effect.withSpan(name, options)` when tracing is on, else nothing. Build it once, at definition (the span's
 * stack trace is captured where `traced` is called, as `Effect.withSpan` does), not per call.
 */
export const traced = (name: string, options?: Tracer.SpanOptions): Wrap => {
  const withSpan: Wrap = Effect.withSpan(name, options)
  return (self) => whenTracing(self, withSpan)
}
