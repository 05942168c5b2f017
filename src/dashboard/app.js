// @ts-check
/** Sign-in and navigation: the pasted token decides which views are offered; the gateway decides what is allowed. */
import { accountView } from "./account.js"
import { accountsView } from "./accounts.js"
import { api, claimsOf, session, whenUnauthorized } from "./api.js"
import { errorText, h, labelled, message, show, submitted } from "./dom.js"
import { dateTime } from "./format.js"
import { healthView } from "./health.js"

const main = /** @type {HTMLElement} */ (document.getElementById("main"))
const account = /** @type {HTMLElement} */ (document.getElementById("account"))
const nav = /** @type {HTMLElement} */ (document.getElementById("nav"))

/** Stops what the current view runs in the background (live refresh). */
let stopView = () => {}

/**
 * Why a token was refused, in words: the gateway's message, and what its own claims say when they explain it.
 * @param {string} token
 * @param {string} detail
 */
const refusal = (token, detail) => {
  const claims = claimsOf(token)
  const expired = claims?.exp !== undefined && claims.exp * 1000 <= Date.now()
  return expired
    ? `This token expired on ${dateTime(new Date((claims?.exp ?? 0) * 1000).toISOString())}. Ask for a new one. (The gateway said: ${detail})`
    : `The gateway refused this token: ${detail}`
}

/** @param {string} [notice] shown above the form (why the last session ended) */
const signInView = (notice) => {
  stopView()
  show(account)
  show(nav)
  const field = h("textarea", {
    id: "token",
    name: "token",
    rows: 4,
    required: true,
    spellcheck: "false",
    autocomplete: "off",
    "aria-describedby": "token-help"
  })
  const status = h("div", { "aria-live": "assertive" }, notice === undefined ? null : message(notice))
  const button = h("button", { type: "submit", class: "primary" }, "Sign in")
  show(
    main,
    h("h1", {}, "Sign in"),
    h(
      "form",
      {
        class: "stacked signin",
        onsubmit: submitted(async () => {
          const token = field.value.trim()
          if (claimsOf(token) === undefined) {
            show(status, message("That is not a gateway token: paste the whole JWT (three parts separated by dots)."))
            return
          }
          button.disabled = true
          show(status, h("p", { class: "loading" }, "Checking the token…"))
          try {
            await api("/billing/balance", { token, signOutOn401: false })
            session.signIn(token)
            // A new hash renders the view (hashchange); the same one does not.
            if (location.hash === "#/me") render()
            else location.hash = "#/me"
          } catch (error) {
            const detail = errorText(error)
            show(status, message(/** @type {any} */ (error).status === 401 ? refusal(token, detail) : detail))
          } finally {
            button.disabled = false
          }
        })
      },
      labelled("Gateway token", field),
      h(
        "p",
        { id: "token-help", class: "note" },
        "The JWT you call the API with. It stays in this tab (session storage) and is sent only to this gateway."
      ),
      button
    ),
    status
  )
  field.focus()
}

/** @param {{ sub: string, role: string | undefined }} claims */
const header = (claims) => {
  const admin = claims.role === "admin"
  show(
    account,
    h("span", { "data-testid": "signed-in" }, `Signed in as ${claims.sub}${admin ? " (admin)" : ""}`),
    h(
      "button",
      {
        type: "button",
        onclick: () => {
          session.signOut()
          location.hash = ""
          signInView()
        }
      },
      "Sign out"
    )
  )
  const links = [
    ["#/me", "My account"],
    ...(admin
      ? [
          ["#/accounts", "Accounts"],
          ["#/health", "Health"]
        ]
      : [])
  ]
  const current = location.hash.startsWith("#/accounts") ? "#/accounts" : location.hash
  show(
    nav,
    h(
      "ul",
      {},
      links.map(([href, text]) =>
        h("li", {}, h("a", { href, "aria-current": current === href ? "page" : null }, text ?? ""))
      )
    )
  )
}

const render = () => {
  stopView()
  stopView = () => {}
  const token = session.token
  const claims = token === null ? undefined : claimsOf(token)
  if (claims === undefined) return signInView()
  header(claims)
  const [, view = "me", id] = location.hash.split("/")
  if (view === "accounts" && id !== undefined) accountView(main, { userId: decodeURIComponent(id), own: false })
  else if (view === "accounts") accountsView(main)
  else if (view === "health") stopView = healthView(main)
  else accountView(main, { own: true })
  main.focus()
}

whenUnauthorized((detail) => {
  const token = session.token
  // The view's other calls are refused too: the first refusal has already ended the session and said why.
  if (token === null) return
  session.signOut()
  signInView(`Your session ended. ${refusal(token, detail)}`)
})
// The skip link moves focus only: its fragment must not be taken for a view.
document.querySelector(".skip")?.addEventListener("click", (event) => {
  event.preventDefault()
  main.focus()
})
window.addEventListener("hashchange", render)
render()
