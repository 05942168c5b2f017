// @ts-check
/**
 * The operator's view of the gateway: each model's breaker, recent upstream outcomes and latency, the components'
 * health, and the last hour of API traffic from the gateway's own history. Refreshed live.
 */
import { api } from "./api.js"
import { barChart } from "./chart.js"
import { h, message, panel, show, table } from "./dom.js"
import { count, dateTime } from "./format.js"

/** Seconds between refreshes; `?refresh=N` in the page's address overrides it (tests use 1). */
const refreshSeconds = Number(new URLSearchParams(location.search).get("refresh")) || 5

const breakerLabels = { closed: "closed", open: "OPEN", half_open: "half-open" }

/** @param {number} part @param {number} whole */
const percent = (part, whole) => (whole === 0 ? "—" : `${Math.round((part / whole) * 100)}%`)

/** @param {HTMLElement} body */
const loadModels = async (body) => {
  const [breakers, traffic] = await Promise.all([api("/health/circuit-breakers"), api("/admin/traffic")])
  /** @type {Map<string, any>} */
  const byModel = new Map(traffic.models.map((/** @type {any} */ model) => [model.model, model]))
  // What needs attention first: breakers not closed, then models with traffic, then the idle ones, each by name.
  /** @param {string} name */
  const rank = (name) =>
    (breakers.circuit_breakers[name]?.state ?? "closed") !== "closed" ? 0 : byModel.has(name) ? 1 : 2
  const names = [...new Set([...Object.keys(breakers.circuit_breakers), ...byModel.keys()])].sort(
    (a, b) => rank(a) - rank(b) || (a < b ? -1 : 1)
  )
  show(
    body,
    names.length === 0
      ? message("No models yet.", "info")
      : table(
          "Models: breaker, recent upstream attempts, the last hour",
          [
            "Model",
            "Breaker",
            "Failures counted",
            "Recent attempts failed",
            "Requests (1 h)",
            "Errors (1 h)",
            "Upstream ms (avg)"
          ],
          names.map((name) => {
            const breaker = breakers.circuit_breakers[name]
            const model = byModel.get(name)
            /** @type {keyof typeof breakerLabels} */
            const state = breaker?.state ?? "closed"
            return [
              name,
              h("span", { class: `badge ${state}`, "data-testid": `breaker-${name}` }, breakerLabels[state]),
              breaker === undefined ? "—" : `${breaker.failure_count} of ${breaker.failure_threshold}`,
              model === undefined ? "—" : `${model.recent_failures} of ${model.recent_attempts}`,
              count(model?.requests ?? 0),
              model === undefined ? "—" : `${count(model.errors)} (${percent(model.errors, model.requests)})`,
              model?.upstream_ms_avg == null ? "—" : String(model.upstream_ms_avg)
            ]
          }),
          ["Requests (1 h)", "Upstream ms (avg)"]
        ),
    h(
      "p",
      { class: "note" },
      `Circuit breakers are ${breakers.circuit_breaker_config.enabled ? "on" : "off"}: a breaker opens after ` +
        `${breakers.circuit_breaker_config.failure_threshold} failures and tries again after ` +
        `${breakers.circuit_breaker_config.recovery_timeout} s.`
    )
  )
}

/** @param {HTMLElement} body */
const loadComponents = async (body) => {
  const health = await api("/health/detailed", { accept: [503] })
  show(
    body,
    table(
      `Overall: ${health.status}, checked ${dateTime(health.timestamp)}`,
      ["Component", "Status", "Message", "Check ms"],
      Object.entries(health.components).map(([name, check]) => [
        name,
        h("span", { class: `badge ${/** @type {any} */ (check).status}` }, /** @type {any} */ (check).status),
        /** @type {any} */ (check).message,
        String(/** @type {any} */ (check).duration_ms)
      ]),
      ["Check ms"]
    )
  )
}

/** @param {string} iso */
const minuteOf = (iso) => iso.slice(11, 16)

/** @param {HTMLElement} body */
const loadTraffic = async (body) => {
  const { minutes } = await api("/admin/traffic")
  /** @type {any[]} */
  const rows = minutes
  const requests = rows.reduce((sum, minute) => sum + minute.requests, 0)
  const errors = rows.reduce((sum, minute) => sum + minute.errors, 0)
  const span = `${rows.length} minutes from ${minuteOf(rows[0].start)} to ${minuteOf(rows.at(-1).start)} UTC`
  show(
    body,
    h(
      "p",
      { class: "totals" },
      `${count(requests)} API requests in the last hour, ${count(errors)} failed (${percent(errors, requests)}).`
    ),
    h(
      "div",
      { class: "charts" },
      barChart({
        title: "Requests per minute",
        labelHeader: "Minute (UTC)",
        valueHeader: "Requests",
        describe: span,
        points: rows.map((minute) => ({
          label: minuteOf(minute.start),
          value: minute.requests,
          text: count(minute.requests)
        }))
      }),
      barChart({
        title: "Error rate per minute",
        labelHeader: "Minute (UTC)",
        valueHeader: "Failed",
        describe: `${span}; 5xx answers and failed streams`,
        points: rows.map((minute) => ({
          label: minuteOf(minute.start),
          value: minute.requests === 0 ? null : minute.errors / minute.requests,
          text: percent(minute.errors, minute.requests)
        }))
      }),
      barChart({
        title: "Gateway overhead per minute (mean ms)",
        labelHeader: "Minute (UTC)",
        valueHeader: "Mean ms (max)",
        describe: `${span}; time in the gateway on chat requests, upstream excluded`,
        points: rows.map((minute) => ({
          label: minuteOf(minute.start),
          value: minute.overhead_ms_avg,
          text:
            minute.overhead_ms_avg === null
              ? "no chat requests"
              : `${minute.overhead_ms_avg} (${minute.overhead_ms_max})`
        }))
      })
    ),
    h("p", { class: "note" }, "This gateway process's own history: each process of a cluster keeps its own.")
  )
}

/**
 * @param {HTMLElement} main
 * @returns {() => void} stops the refreshing
 */
export const healthView = (main) => {
  const panels = [
    panel("Models", loadModels),
    panel("Components", loadComponents),
    panel("Traffic, last hour", loadTraffic)
  ]
  const updated = h("span", { "aria-live": "off" })
  const refresh = async () => {
    await Promise.all(panels.map((p) => p.refresh()))
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshed every ${refreshSeconds} s.`
  }
  show(
    main,
    h("h1", {}, "Gateway health"),
    h("p", { class: "inline" }, updated, h("button", { type: "button", onclick: () => void refresh() }, "Refresh now")),
    panels
  )
  const timer = setInterval(() => void refresh(), refreshSeconds * 1000)
  return () => clearInterval(timer)
}
