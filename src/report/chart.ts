/** A line chart as a standalone SVG: reports draw learning curves with no browser or plotting library. */
import { escapeHtml } from "./html.ts";

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** "right": drawn dashed against a second y axis of its own scale (a KL beside rewards). */
  axis?: "left" | "right";
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** The right axis's label, for series on it. */
  y2Label?: string;
  width?: number;
  height?: number;
}

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const MARGIN = { left: 64, right: 16, top: 44, bottom: 44 };
/** Series of more points than this are drawn as lines alone. */
const MAX_MARKED_POINTS = 60;
/** The right margin when there is a right axis: room for its ticks and label. */
const RIGHT_AXIS_MARGIN = 64;

export function lineChart(series: readonly Series[], options: ChartOptions): string {
  const width = options.width ?? 560;
  const height = options.height ?? 300;
  const right = series.filter((s) => s.axis === "right");
  const left = series.filter((s) => s.axis !== "right");
  const plotRight = width - (right.length > 0 ? RIGHT_AXIS_MARGIN : MARGIN.right);
  const [x0, x1] = extent(series.flatMap((s) => s.points.map(([x]) => x)));
  const sx = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0)) * (plotRight - MARGIN.left);
  const yScale = (group: readonly Series[]) => {
    const [y0, y1] = extent(group.flatMap((s) => s.points.map(([, y]) => y)));
    return { y0, y1, at: (y: number) => height - MARGIN.bottom - ((y - y0) / (y1 - y0)) * (height - MARGIN.top - MARGIN.bottom) };
  };
  const yLeft = yScale(left);
  const yRight = yScale(right);
  const colour = (s: Series) => COLOURS[series.indexOf(s) % COLOURS.length];
  // Markers as well as lines, so a series of one point (a run of one round) still shows; not on long curves (steps), where they would blot the line.
  const drawn = series.map((s) => {
    const sy = s.axis === "right" ? yRight.at : yLeft.at;
    const xy = s.points.map(([x, y]) => [sx(x).toFixed(1), sy(y).toFixed(1)] as const);
    const d = xy.map(([x, y], j) => `${j ? "L" : "M"}${x},${y}`).join("");
    const dash = s.axis === "right" ? ` stroke-dasharray="6 3"` : "";
    const path = xy.length > 1 ? [`<path d="${d}" fill="none" stroke="${colour(s)}" stroke-width="2"${dash}/>`] : [];
    const markers = xy.length <= MAX_MARKED_POINTS ? xy.map(([x, y]) => `<circle cx="${x}" cy="${y}" r="2.5" fill="${colour(s)}"/>`) : [];
    return [...path, ...markers].join("");
  });
  // Legend entries side by side, each as wide as its name (about 7 px a character at this size).
  let legendX = MARGIN.left + 8;
  const legend = series.map((s) => {
    const name = `${s.name}${s.axis === "right" ? " (right)" : ""}`;
    const text = `<text x="${legendX}" y="${MARGIN.top - 8}" fill="${colour(s)}">${escapeHtml(name)}</text>`;
    legendX += 7 * name.length + 16;
    return text;
  });
  const ticks = [0, 0.5, 1].flatMap((f) => [
    `<text x="${MARGIN.left - 6}" y="${yLeft.at(yLeft.y0 + f * (yLeft.y1 - yLeft.y0)) + 4}" text-anchor="end">${round(yLeft.y0 + f * (yLeft.y1 - yLeft.y0))}</text>`,
    `<text x="${sx(x0 + f * (x1 - x0))}" y="${height - MARGIN.bottom + 16}" text-anchor="middle">${round(x0 + f * (x1 - x0))}</text>`,
    ...(right.length > 0
      ? [`<text x="${plotRight + 6}" y="${yRight.at(yRight.y0 + f * (yRight.y1 - yRight.y0)) + 4}">${round(yRight.y0 + f * (yRight.y1 - yRight.y0))}</text>`]
      : []),
  ]);
  const rightAxis =
    right.length > 0
      ? [
          `<path d="M${plotRight},${MARGIN.top}V${height - MARGIN.bottom}" fill="none" stroke="#333" stroke-dasharray="6 3"/>`,
          `<text transform="translate(${width - 10},${height / 2}) rotate(90)" text-anchor="middle">${escapeHtml(options.y2Label ?? "")}</text>`,
        ]
      : [];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-weight="bold">${escapeHtml(options.title)}</text>`,
    `<path d="M${MARGIN.left},${MARGIN.top}V${height - MARGIN.bottom}H${plotRight}" fill="none" stroke="#333"/>`,
    ...rightAxis,
    `<text x="${width / 2}" y="${height - 8}" text-anchor="middle">${escapeHtml(options.xLabel)}</text>`,
    `<text transform="translate(12,${height / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(options.yLabel)}</text>`,
    ...ticks,
    ...drawn,
    ...legend,
    `</svg>`,
  ].join("\n");
}

/** Charts one above the other in a single SVG (each keeps its own width and height). */
export function stackCharts(charts: readonly string[]): string {
  let top = 0;
  let width = 0;
  const placed = charts.map((chart) => {
    const [w, h] = [attribute(chart, "width"), attribute(chart, "height")];
    const g = `<g transform="translate(0,${top})">${chart}</g>`;
    top += h;
    width = Math.max(width, w);
    return g;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${top}">\n${placed.join("\n")}\n</svg>\n`;
}

/** A numeric attribute of an SVG's root element, as `lineChart` writes it. */
function attribute(svg: string, name: string): number {
  const match = new RegExp(`^<svg[^>]* ${name}="(\\d+)"`).exec(svg);
  if (!match) throw new Error(`not a chart: its <svg> has no ${name}`);
  return Number(match[1]);
}

/** The range of the values; a flat or empty one is widened to a unit range so its axis still reads. */
function extent(values: number[]): [number, number] {
  if (values.length === 0) return [0, 1];
  const [low, high] = [Math.min(...values), Math.max(...values)];
  return low === high ? [low, low + 1] : [low, high];
}

function round(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : Number(value.toPrecision(3)).toString();
}
