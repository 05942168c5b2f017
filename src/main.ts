/**
 * The entry point. Loading the gateway's modules takes a moment, and a stop (SIGTERM, Ctrl-C) may come during it:
 * nothing has started yet, so that is a clean exit (0), not a death by signal. Once loaded, `launch` hands the
 * signals to the runtime, which drains what runs and exits 0 too.
 *
 * The early listener stays registered but inert after the launch: removing it would drop a signal that arrived
 * while the event loop was busy loading and is still queued, whereas kept, that signal reaches the runtime's
 * listener too.
 */
let launched = false
const stopBeforeLaunch = () => {
  if (!launched) process.exit(0)
}
process.on("SIGTERM", stopBeforeLaunch)
process.on("SIGINT", stopBeforeLaunch)

const { launch } = await import("./Launch.ts")
// A signal that arrived while the modules loaded is read on the next turn of the event loop: let it stop us here.
await new Promise((resolve) => setImmediate(resolve))
launched = true
launch()
