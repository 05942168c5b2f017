// @ts-check
/** One account: balance, spend per day and per model, transactions; for an admin, a top-up form. */
import { api, rateLimits } from "./api.js"
import { barChart } from "./chart.js"
import { errorText, h, labelled, message, panel, show, submitted, table } from "./dom.js"
import { addDays, count, dateTime, day, daysBetween, nanos, usd, usdOfNanos } from "./format.js"

/**
 * @param {HTMLElement} body
 * @param {string | undefined} userId
 */
const loadBalance = async (body, userId) => {
  const balance = await api("/billing/balance", { query: { user_id: userId } })
  const held = nanos(balance.balance) - nanos(balance.available)
  show(
    body,
    h(
      "dl",
      { class: "figures" },
      h("div", {}, h("dt", {}, "Balance"), h("dd", { "data-testid": "balance" }, usd(balance.balance))),
      h("div", {}, h("dt", {}, "Available"), h("dd", { "data-testid": "available" }, usd(balance.available))),
      h("div", {}, h("dt", {}, "Held by requests in flight"), h("dd", {}, usdOfNanos(held)))
    )
  )
}

/** @param {HTMLElement} body */
const loadRateLimits = async (body) => {
  if (rateLimits.latest.length === 0) await api("/billing/balance")
  show(
    body,
    rateLimits.latest.length === 0
      ? message("The gateway sent no rate-limit headers.", "info")
      : table(
          "Limits your requests count against",
          ["Limit", "Allowed", "Left now", "Resets in"],
          rateLimits.latest.map((limit) => [
            limit.name,
            `${count(limit.quota)} per ${limit.window} s`,
            limit.remaining === undefined ? "—" : count(limit.remaining),
            limit.reset === undefined ? "—" : `${limit.reset} s`
          ]),
          ["Allowed", "Left now", "Resets in"]
        ),
    h(
      "p",
      { class: "note" },
      `As of ${rateLimits.at === undefined ? "now" : dateTime(rateLimits.at.toISOString())}, from the headers of the gateway's last answer. `,
      "Chat requests have a per-user limit of their own; every chat response carries its state in the same headers."
    )
  )
}

/**
 * @param {HTMLElement} body
 * @param {string | undefined} userId
 */
const usagePanel = (body, userId) => {
  const today = day(new Date())
  const from = h("input", { type: "date", id: "usage-from", name: "from", value: addDays(today, -29), required: true })
  const to = h("input", { type: "date", id: "usage-to", name: "to", value: today, required: true })
  const result = h("div", { "aria-live": "polite" })
  const load = async () => {
    if (from.value === "" || to.value === "" || from.value > to.value) {
      show(result, message("Choose a first day on or before the last day."))
      return
    }
    show(result, h("p", { class: "loading" }, "Loading…"))
    try {
      const query = { user_id: userId, from: from.value, to: addDays(to.value, 1) }
      const [byDay, byModel] = await Promise.all([
        api("/billing/usage", { query: { ...query, group_by: "day", limit: 1000 } }),
        api("/billing/usage", { query: { ...query, group_by: "model", limit: 1000 } })
      ])
      /** @type {Map<string, string>} */
      const spendByDay = new Map(byDay.data.map((/** @type {any} */ row) => [row.day, row.spend]))
      const points = daysBetween(from.value, to.value).map((label) => {
        const spend = spendByDay.get(label) ?? "0"
        return { label, value: Number(spend), text: usd(spend) }
      })
      show(
        result,
        h(
          "p",
          { class: "totals" },
          `${usd(byDay.totals.spend)} spent on ${count(byDay.totals.requests)} ` +
            `${byDay.totals.requests === 1 ? "request" : "requests"} `,
          `(${count(byDay.totals.prompt_tokens)} prompt and ${count(byDay.totals.completion_tokens)} completion tokens).`
        ),
        barChart({
          title: "Spend per day",
          points,
          labelHeader: "Day (UTC)",
          valueHeader: "Spend",
          describe: `${points.length} days from ${from.value} to ${to.value}, ${usd(byDay.totals.spend)} in all`
        }),
        byModel.data.length === 0
          ? message("No charges in this period.", "info")
          : table(
              "Spend per model",
              ["Model", "Requests", "Prompt tokens", "Completion tokens", "Spend"],
              byModel.data.map((/** @type {any} */ row) => [
                row.model,
                count(row.requests),
                count(row.prompt_tokens),
                count(row.completion_tokens),
                usd(row.spend)
              ]),
              ["Requests", "Prompt tokens", "Completion tokens", "Spend"]
            )
      )
    } catch (error) {
      show(result, message(errorText(error)))
    }
  }
  show(
    body,
    h(
      "form",
      { class: "inline", onsubmit: submitted(load) },
      labelled("First day", from),
      labelled("Last day", to),
      h("button", { type: "submit" }, "Show")
    ),
    result
  )
  return load()
}

/** @param {any} transaction */
const kindOf = (transaction) =>
  transaction.model || transaction.request_id ? "charge" : transaction.amount.startsWith("-") ? "adjustment" : "credit"

const pageSize = 10

/**
 * @param {HTMLElement} body
 * @param {string | undefined} userId
 */
const transactionsPanel = (body, userId) => {
  let offset = 0
  const kind = h(
    "select",
    { id: "transactions-kind" },
    h("option", { value: "" }, "All"),
    h("option", { value: "charge" }, "Charges"),
    h("option", { value: "credit" }, "Credits"),
    h("option", { value: "adjustment" }, "Adjustments")
  )
  const model = h("input", { type: "search", id: "transactions-model", placeholder: "e.g. gpt-4o", maxlength: 256 })
  const result = h("div", { "aria-live": "polite" })
  /** @type {any} */
  let page
  const render = () => {
    const shown = page.transactions
    const last = Math.min(page.offset + page.transactions.length, page.total)
    show(
      result,
      page.total === 0
        ? message(kind.value === "" && model.value === "" ? "No transactions yet." : "No transactions match.", "info")
        : table(
            "Transactions, newest first",
            ["When", "Kind", "Description", "Model", "Tokens in/out", "Amount", "Balance after"],
            shown.map((/** @type {any} */ t) => [
              dateTime(t.timestamp),
              kindOf(t),
              t.description,
              t.model ?? "",
              t.prompt_tokens == null ? "" : `${count(t.prompt_tokens)} / ${count(t.completion_tokens ?? 0)}`,
              usd(t.amount),
              usd(t.balance_after)
            ]),
            ["Tokens in/out", "Amount", "Balance after"]
          ),
      h(
        "nav",
        { class: "pager", "aria-label": "Transaction pages" },
        h("button", { type: "button", disabled: page.offset === 0, onclick: () => go(offset - pageSize) }, "Previous"),
        h(
          "span",
          { "data-testid": "transactions-range" },
          page.total === 0 ? "0 of 0" : `${page.offset + 1}–${last} of ${page.total}`
        ),
        h("button", { type: "button", disabled: last >= page.total, onclick: () => go(offset + pageSize) }, "Next")
      )
    )
  }
  /** @param {number} to */
  const go = async (to) => {
    offset = Math.max(0, to)
    try {
      // The API filters, so that pages and their total are those of the matching transactions.
      page = await api("/billing/transactions", {
        query: { user_id: userId, kind: kind.value, model: model.value.trim(), limit: pageSize, offset }
      })
      render()
    } catch (error) {
      show(result, message(errorText(error)))
    }
  }
  kind.addEventListener("change", () => go(0))
  show(
    body,
    h(
      "form",
      { class: "inline", onsubmit: submitted(() => go(0)) },
      labelled("Kind", kind),
      labelled("Model", model),
      h("button", { type: "submit" }, "Filter")
    ),
    result
  )
  return go(0)
}

/**
 * An admin adds a credit (or, negative, an adjustment): the form asks for confirmation, then shows the balance that
 * resulted.
 * @param {HTMLElement} body
 * @param {string} userId
 * @param {() => void} changed
 */
const topUpPanel = async (body, userId, changed) => {
  const amount = h("input", {
    id: "topup-amount",
    name: "amount",
    inputmode: "decimal",
    required: true,
    pattern: "-?[0-9]+(\\.[0-9]{1,9})?",
    "aria-describedby": "topup-help"
  })
  const description = h("input", { id: "topup-description", name: "description", maxlength: 500 })
  const status = h("div", { "aria-live": "polite" })
  const form = h(
    "form",
    {
      class: "stacked",
      onsubmit: submitted(() => {
        if (!form.reportValidity()) return
        show(
          status,
          h(
            "div",
            { class: "confirm", role: "group", "aria-label": "Confirm the top-up" },
            h("p", {}, `Add ${usd(amount.value)} to ${userId}'s account?`),
            h("button", { type: "button", class: "primary", onclick: () => submit() }, "Confirm"),
            h("button", { type: "button", onclick: () => show(status) }, "Cancel")
          )
        )
        status.querySelector("button")?.focus()
      })
    },
    labelled("Amount (USD)", amount),
    h("p", { id: "topup-help", class: "note" }, "Up to 9 decimals; a negative amount is an adjustment."),
    labelled("Description (optional)", description),
    h("button", { type: "submit" }, "Add credit")
  )
  const submit = async () => {
    show(status, h("p", { class: "loading" }, "Adding…"))
    try {
      const balance = await api("/billing/credits", {
        method: "POST",
        body: {
          user_id: userId,
          amount: amount.value,
          ...(description.value ? { description: description.value } : {})
        }
      })
      show(status, message(`Done: ${userId}'s balance is now ${usd(balance.balance)}.`, "success"))
      amount.value = ""
      description.value = ""
      changed()
    } catch (error) {
      show(status, message(errorText(error)))
    }
  }
  show(body, form, status)
}

/**
 * @param {HTMLElement} main
 * @param {{ userId?: string, own: boolean }} options
 */
export const accountView = (main, { userId, own }) => {
  const balance = panel("Balance", (body) => loadBalance(body, userId))
  const transactions = panel("Transactions", async (body) => transactionsPanel(body, userId))
  // A top-up changes the balance and adds a transaction.
  const changed = () => {
    void balance.refresh()
    void transactions.refresh()
  }
  show(
    main,
    h("h1", {}, own ? "My account" : `Account ${userId}`),
    !own && h("p", {}, h("a", { href: "#/accounts" }, "← All accounts")),
    h(
      "div",
      { class: "grid" },
      balance,
      own ? panel("Rate limits", loadRateLimits) : panel("Top up", (body) => topUpPanel(body, userId ?? "", changed))
    ),
    panel("Usage", async (body) => usagePanel(body, userId)),
    transactions
  )
}
