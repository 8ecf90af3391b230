/** A line chart as a standalone SVG: reports draw learning curves with no browser or plotting library. */

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const MARGIN = { left: 56, right: 16, top: 32, bottom: 44 };

export function lineChart(series: readonly Series[], options: ChartOptions): string {
  const width = options.width ?? 560;
  const height = options.height ?? 300;
  const all = series.flatMap((s) => s.points);
  const [x0, x1] = extent(all.map(([x]) => x));
  const [y0, y1] = extent(all.map(([, y]) => y));
  const sx = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0)) * (width - MARGIN.left - MARGIN.right);
  const sy = (y: number) => height - MARGIN.bottom - ((y - y0) / (y1 - y0)) * (height - MARGIN.top - MARGIN.bottom);
  const lines = series.map((s, i) => {
    const d = s.points.map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
    return `<path d="${d}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="2"/>`;
  });
  const legend = series.map(
    (s, i) => `<text x="${MARGIN.left + 8 + i * 140}" y="${MARGIN.top - 8}" fill="${COLOURS[i % COLOURS.length]}">${escape(s.name)}</text>`,
  );
  const ticks = [0, 0.5, 1].flatMap((f) => [
    `<text x="${MARGIN.left - 6}" y="${sy(y0 + f * (y1 - y0)) + 4}" text-anchor="end">${round(y0 + f * (y1 - y0))}</text>`,
    `<text x="${sx(x0 + f * (x1 - x0))}" y="${height - MARGIN.bottom + 16}" text-anchor="middle">${round(x0 + f * (x1 - x0))}</text>`,
  ]);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-weight="bold">${escape(options.title)}</text>`,
    `<path d="M${MARGIN.left},${MARGIN.top}V${height - MARGIN.bottom}H${width - MARGIN.right}" fill="none" stroke="#333"/>`,
    `<text x="${width / 2}" y="${height - 8}" text-anchor="middle">${escape(options.xLabel)}</text>`,
    `<text transform="translate(14,${height / 2}) rotate(-90)" text-anchor="middle">${escape(options.yLabel)}</text>`,
    ...ticks,
    ...lines,
    ...legend,
    `</svg>`,
  ].join("\n");
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

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
