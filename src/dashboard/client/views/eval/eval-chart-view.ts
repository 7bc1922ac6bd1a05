/**
 * An eval chart (lib/eval-chart.ts's model) as inline SVG made with DOM APIs: no library, no inline
 * style (colours come from the stylesheet's `.c-<i>` classes through currentColor), text as text
 * nodes. Axes with ticks and labels, one <g class="series"> per series (a line over N, a marker per
 * config, its interval as an error bar, each marker titled with its figure), an HTML legend, and
 * <title>/<desc> naming what it shows (the results table holds the data).
 */
import type { ChartModel, ChartSeries } from "../../lib/eval-chart.ts";
import { h } from "../../lib/dom.ts";

const SVG = "http://www.w3.org/2000/svg";
const MARKERS = ["circle", "square", "triangle", "diamond"] as const;
const CAP = 4;
let uid = 0;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** A series' marker at (x, y): its shape by index, so the series differ without colour too. */
function marker(index: number, x: number, y: number): SVGElement {
  const shape = MARKERS[index % MARKERS.length]!;
  const r = 4.5;
  if (shape === "circle") return svg("circle", { cx: x, cy: y, r });
  if (shape === "square") return svg("rect", { x: x - r, y: y - r, width: 2 * r, height: 2 * r });
  const d = shape === "triangle" ? `M${x} ${y - r - 1}L${x + r + 1} ${y + r}L${x - r - 1} ${y + r}Z` : `M${x} ${y - r - 1}L${x + r + 1} ${y}L${x} ${y + r + 1}L${x - r - 1} ${y}Z`;
  return svg("path", { d });
}

function seriesGroup(s: ChartSeries): SVGGElement {
  const g = svg("g", { class: "series c-" + (s.index % 8), "data-series": s.label, stroke: "currentColor", fill: "currentColor" });
  if (s.points.length > 1) g.append(svg("polyline", { class: "series-line", fill: "none", "stroke-width": 2, points: s.points.map((p) => p.x + "," + p.y).join(" ") }));
  for (const p of s.points) {
    const point = svg("g", { class: "point", "data-point": p.config, "data-n": p.n, tabindex: 0, role: "img", "aria-label": s.label + ", " + p.label });
    if (p.bar) {
      point.append(
        svg("line", { class: "error-bar", x1: p.x, x2: p.x, y1: p.bar.top, y2: p.bar.bottom, "stroke-width": 1.5 }),
        svg("line", { x1: p.x - CAP, x2: p.x + CAP, y1: p.bar.top, y2: p.bar.top, "stroke-width": 1.5 }),
        svg("line", { x1: p.x - CAP, x2: p.x + CAP, y1: p.bar.bottom, y2: p.bar.bottom, "stroke-width": 1.5 }),
      );
    }
    point.append(marker(s.index, p.x, p.y), svg("title", {}, s.label + ", " + p.label));
    g.append(point);
  }
  return g;
}

function axes(m: ChartModel): SVGGElement {
  const { left, right, top, bottom } = m.plot;
  const g = svg("g", { class: "axes" });
  for (const t of m.yTicks) {
    g.append(svg("line", { class: "grid", x1: left, x2: right, y1: t.at, y2: t.at }), svg("text", { x: left - 8, y: t.at, "text-anchor": "end", "dominant-baseline": "middle" }, t.label));
  }
  for (const t of m.xTicks) {
    g.append(svg("line", { class: "tick", x1: t.at, x2: t.at, y1: bottom, y2: bottom + 5 }), svg("text", { x: t.at, y: bottom + 18, "text-anchor": "middle" }, t.label));
  }
  g.append(
    svg("line", { class: "axis", x1: left, x2: right, y1: bottom, y2: bottom }),
    svg("line", { class: "axis", x1: left, x2: left, y1: top, y2: bottom }),
    svg("text", { class: "axis-label", x: (left + right) / 2, y: m.height - 8, "text-anchor": "middle" }, m.xLabel),
    svg("text", { class: "axis-label", x: 0, y: 0, "text-anchor": "middle", transform: `translate(14 ${(top + bottom) / 2}) rotate(-90)` }, m.yLabel),
  );
  return g;
}

/** The chart with its heading, legend and a note for series without a figure. */
export function chartFigure(title: string, m: ChartModel, key: string): HTMLElement {
  const id = "chart-" + key + "-" + ++uid;
  const root = svg(
    "svg",
    { viewBox: `0 0 ${m.width} ${m.height}`, class: "chart", role: "img", "aria-labelledby": id + "-title " + id + "-desc", "data-chart": key },
    svg("title", { id: id + "-title" }, title),
    svg("desc", { id: id + "-desc" }, m.description),
    axes(m),
    ...m.series.map(seriesGroup),
  );
  const legend = h(
    "ul",
    { class: "legend", "aria-label": "Legend: " + title },
    m.series.map((s) =>
      h("li", { dataset: { series: s.label } }, svgSwatch(s.index), s.label, s.points.length ? null : h("span", { class: "muted" }, " (no figure yet)")),
    ),
  );
  return h("figure", { class: "card pad chart-card" }, h("figcaption", null, h("h3", null, title)), root, legend);
}

function svgSwatch(index: number): SVGSVGElement {
  return svg("svg", { viewBox: "0 0 20 12", class: "swatch c-" + (index % 8), "aria-hidden": "true", stroke: "currentColor", fill: "currentColor" }, svg("line", { x1: 0, x2: 20, y1: 6, y2: 6, "stroke-width": 2 }), marker(index, 10, 6));
}
