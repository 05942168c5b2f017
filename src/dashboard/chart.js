// @ts-check
/**
 * A bar chart drawn as SVG, one bar per point (`.bar`, a `<title>` each, so pointing at a bar tells its value), and
 * the same numbers as a table under it for screen readers and keyboard users. Hand-written rather than a library:
 * the charts are bars over days or minutes, about 80 lines, and SVG keeps each point in the document.
 */
import { h, table } from "./dom.js"

const svgNs = "http://www.w3.org/2000/svg"

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attributes
 * @param {...(Node | string)} children
 */
const svg = (tag, attributes, ...children) => {
  const element = document.createElementNS(svgNs, tag)
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value))
  element.append(...children)
  return element
}

/**
 * @typedef {{ label: string, value: number | null, text: string }} Point  `text` is the value as shown; null: no data
 */

/**
 * @param {{ title: string, points: Point[], valueHeader: string, labelHeader: string, describe: string }} chart
 */
export const barChart = ({ title, points, valueHeader, labelHeader, describe }) => {
  const width = 640
  const height = 200
  const left = 0
  const bottom = 0
  const top = 4
  const max = Math.max(0, ...points.map((point) => point.value ?? 0))
  const scale = max === 0 ? 0 : (height - top - bottom) / max
  const slot = (width - left * 2) / Math.max(points.length, 1)
  const barWidth = Math.max(1, slot * 0.8)
  const titleId = `chart-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`
  const bars = points.map((point, index) => {
    const barHeight = Math.max(point.value === null || point.value === 0 ? 0 : 1, (point.value ?? 0) * scale)
    return svg(
      "rect",
      {
        class: point.value === null ? "bar empty" : "bar",
        x: (left + index * slot + (slot - barWidth) / 2).toFixed(2),
        y: (height - bottom - barHeight).toFixed(2),
        width: barWidth.toFixed(2),
        height: barHeight.toFixed(2)
      },
      svg("title", {}, `${point.label}: ${point.text}`)
    )
  })
  const graphic = svg(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": titleId, preserveAspectRatio: "none" },
    svg("title", { id: titleId }, `${title}: ${describe}`),
    svg("line", { class: "axis", x1: 0, x2: width, y1: height, y2: height }),
    ...bars
  )
  const highest = points.find((point) => point.value === max && max > 0)
  return h(
    "figure",
    { class: "chart", "data-points": points.length },
    h("figcaption", {}, title),
    // Labels in HTML, not in the stretched SVG, so that they keep their shape at any width.
    h("p", { class: "tick", "aria-hidden": "true" }, highest === undefined ? "no data" : `highest ${highest.text}`),
    graphic,
    h(
      "p",
      { class: "ticks", "aria-hidden": "true" },
      h("span", {}, points[0]?.label ?? ""),
      h("span", {}, points.at(-1)?.label ?? "")
    ),
    h(
      "details",
      {},
      h("summary", {}, "Show the numbers"),
      table(
        title,
        [labelHeader, valueHeader],
        points.map((point) => [point.label, point.text]),
        [valueHeader]
      )
    )
  )
}
