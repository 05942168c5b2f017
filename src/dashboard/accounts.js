// @ts-check
/** The operator's list of accounts: search, sort and paging, each account a link to its page. */
import { api } from "./api.js"
import { errorText, h, labelled, message, panel, show, submitted, table } from "./dom.js"
import { dateTime, usd } from "./format.js"

const pageSize = 20

/** @param {HTMLElement} main */
export const accountsView = (main) => {
  const state = { search: "", sort: "user_id", order: "asc", offset: 0 }
  const search = h("input", { type: "search", id: "accounts-search", name: "search", autocomplete: "off" })
  const sort = h(
    "select",
    { id: "accounts-sort" },
    h("option", { value: "user_id" }, "User id"),
    h("option", { value: "balance" }, "Balance"),
    h("option", { value: "updated_at" }, "Last change")
  )
  const order = h(
    "select",
    { id: "accounts-order" },
    h("option", { value: "asc" }, "Ascending"),
    h("option", { value: "desc" }, "Descending")
  )
  const result = h("div", { "aria-live": "polite" })
  const load = async () => {
    try {
      const page = await api("/billing/accounts", {
        query: { search: state.search, sort: state.sort, order: state.order, limit: pageSize, offset: state.offset }
      })
      const last = Math.min(page.offset + page.accounts.length, page.total)
      show(
        result,
        page.total === 0
          ? message(state.search === "" ? "No accounts yet." : `No account matches “${state.search}”.`, "info")
          : table(
              "Accounts",
              ["User", "Balance", "Available", "Last change"],
              page.accounts.map((/** @type {any} */ account) => [
                h("a", { href: `#/accounts/${encodeURIComponent(account.user_id)}` }, account.user_id),
                usd(account.balance),
                usd(account.available),
                dateTime(account.updated_at)
              ]),
              ["Balance", "Available"]
            ),
        h(
          "nav",
          { class: "pager", "aria-label": "Account pages" },
          h(
            "button",
            { type: "button", disabled: state.offset === 0, onclick: () => go(state.offset - pageSize) },
            "Previous"
          ),
          h("span", {}, page.total === 0 ? "0 of 0" : `${page.offset + 1}–${last} of ${page.total}`),
          h(
            "button",
            { type: "button", disabled: last >= page.total, onclick: () => go(state.offset + pageSize) },
            "Next"
          )
        )
      )
    } catch (error) {
      show(result, message(errorText(error)))
    }
  }
  /** @param {number} offset */
  const go = (offset) => {
    state.offset = Math.max(0, offset)
    void load()
  }
  show(
    main,
    h("h1", {}, "Accounts"),
    panel("All accounts", async (body) => {
      show(
        body,
        h(
          "form",
          {
            class: "inline",
            role: "search",
            onsubmit: submitted(() => {
              Object.assign(state, { search: search.value.trim(), sort: sort.value, order: order.value })
              go(0)
            })
          },
          labelled("User id contains", search),
          labelled("Sort by", sort),
          labelled("Order", order),
          h("button", { type: "submit" }, "Search")
        ),
        result
      )
      await load()
    })
  )
}
