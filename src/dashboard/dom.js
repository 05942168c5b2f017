// @ts-check
/** Small DOM helpers: elements are built with `h`, never from HTML strings (nothing the API says is parsed as markup). */

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, string | number | boolean | null | undefined | ((event: any) => void)>} Attributes
 */

/**
 * An element with attributes (`on…` are listeners, `false`/`null` are left out) and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attributes} [attributes]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export const h = (tag, attributes = {}, ...children) => {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue
    if (typeof value === "function") element.addEventListener(name.slice(2), value)
    else if (value === true) element.setAttribute(name, "")
    else element.setAttribute(name, String(value))
  }
  append(element, children)
  return element
}

/**
 * @param {Element} parent
 * @param {Array<Child | Child[]>} children
 */
const append = (parent, children) => {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    parent.append(typeof child === "object" ? child : String(child))
  }
}

/**
 * Replaces what `parent` shows.
 * @param {Element} parent
 * @param {...(Child | Child[])} children
 */
export const show = (parent, ...children) => {
  parent.replaceChildren()
  append(parent, children)
}

/**
 * A message the user must see: an error (announced at once) or a plain status.
 * @param {string} text
 * @param {"error" | "info" | "success"} [kind]
 */
export const message = (text, kind = "error") =>
  h("p", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, text)

/**
 * A panel: a titled section whose body is filled by `load`; while it loads it says so, and whatever `load`
 * throws becomes a message in the panel, never a blank one.
 * @param {string} title
 * @param {(body: HTMLElement) => Promise<void>} load
 * @param {Attributes} [attributes]
 */
export const panel = (title, load, attributes = {}) => {
  const id = `panel-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`
  const body = h("div", { class: "panel-body", "aria-live": "polite" })
  const section = h("section", { class: "panel", "aria-labelledby": id, ...attributes }, h("h2", { id }, title), body)
  const refresh = async () => {
    if (body.childElementCount === 0) show(body, h("p", { class: "loading" }, "Loading…"))
    try {
      await load(body)
    } catch (error) {
      show(body, message(errorText(error)))
    }
  }
  void refresh()
  return Object.assign(section, { refresh })
}

/**
 * A control and its label, tied by the control's id.
 * @param {string} text
 * @param {HTMLElement} control
 */
export const labelled = (text, control) => [h("label", { for: control.id }, text), control]

/**
 * A form's submit listener: the page stays, `handler` runs.
 * @param {() => unknown} handler
 */
export const submitted = (handler) => (/** @type {Event} */ event) => {
  event.preventDefault()
  void handler()
}

/** @param {unknown} error */
export const errorText = (error) => (error instanceof Error ? error.message : String(error))

/**
 * A table with a caption; `rows` are arrays of cells.
 * @param {string} caption
 * @param {string[]} headers
 * @param {Array<Array<Child>>} rows
 * @param {string[]} [numeric] headers whose columns are right-aligned numbers
 */
export const table = (caption, headers, rows, numeric = []) =>
  h(
    "div",
    { class: "table-scroll", tabindex: 0, role: "region", "aria-label": caption },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headers.map((text) => h("th", { scope: "col", class: numeric.includes(text) ? "num" : null }, text))
        )
      ),
      h(
        "tbody",
        {},
        rows.map((cells) =>
          h(
            "tr",
            {},
            cells.map((cell, i) => h("td", { class: numeric.includes(headers[i] ?? "") ? "num" : null }, cell))
          )
        )
      )
    )
  )
