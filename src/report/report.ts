/**
 * A run's report: its learning curves as one SVG (curves.svg) and an HTML page
 * (report.html) that holds the tables and the charts inline, so it opens offline
 * from the run folder, with nothing fetched.
 */
import { join } from "node:path";
import { lineChart, stackCharts, type Series } from "./chart.ts";
import { escapeHtml } from "./html.ts";
import { htmlTable } from "./table.ts";
import { writeFileAtomic } from "../files.ts";

/** One line of a metrics log (metrics.jsonl): named figures of a round, update or step. */
export type MetricsRecord = Readonly<Record<string, number | string>>;

/** A curve of a metrics log: the figure `key` of each record. */
export interface Curve {
  key: string;
  name: string;
  axis?: Series["axis"];
}

export interface MetricChart {
  title: string;
  yLabel: string;
  y2Label?: string;
  curves: readonly Curve[];
}

/**
 * The charts of a metrics log, each record a point at its `counter` figure. A figure
 * no record has (a method's optional one) is left out, and so is a chart left with none.
 */
export function metricCharts(records: readonly MetricsRecord[], counter: string, charts: readonly MetricChart[]): string[] {
  return charts.flatMap((chart) => {
    const series = chart.curves
      .map((curve) => ({ name: curve.name, axis: curve.axis, points: curvePoints(records, counter, curve.key) }))
      .filter((s) => s.points.length > 0);
    return series.length === 0 ? [] : [lineChart(series, { title: chart.title, xLabel: counter, yLabel: chart.yLabel, y2Label: chart.y2Label })];
  });
}

function curvePoints(records: readonly MetricsRecord[], counter: string, key: string): [number, number][] {
  return records.flatMap((record) => {
    const [x, y] = [record[counter], record[key]];
    return typeof x === "number" && typeof y === "number" && Number.isFinite(y) ? [[x, y] as [number, number]] : [];
  });
}

export interface Table {
  header: readonly string[];
  rows: readonly (readonly string[])[];
}

export interface ReportPage {
  title: string;
  /** Paragraphs of plain text. */
  about: readonly string[];
  tables?: readonly Table[];
  charts: readonly string[];
  /** Files in the run folder worth opening, relative to it. */
  files?: readonly string[];
}

/** Writes `dir`/curves.svg (the charts, one above the other) and `dir`/report.html; returns the page's path. */
export async function writeReport(dir: string, page: ReportPage): Promise<string> {
  if (page.charts.length > 0) await writeFileAtomic(join(dir, "curves.svg"), stackCharts(page.charts));
  const path = join(dir, "report.html");
  await writeFileAtomic(path, reportHtml(dir, page));
  return path;
}

function reportHtml(dir: string, page: ReportPage): string {
  const files = page.files ?? [];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(page.title)}</title>
<style>
body { font-family: sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
td:not(:first-child) { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; }
code { background: #f3f3f3; padding: 0 0.2em; }
</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
${page.about.map((text) => `<p>${escapeHtml(text)}</p>`).join("\n")}
${(page.tables ?? []).map((table) => htmlTable(table.header, table.rows)).join("\n")}
${page.charts.length > 0 ? `<h2>Learning curves</h2>\n${page.charts.map((chart) => `<figure>${chart}</figure>`).join("\n")}` : ""}
${files.length > 0 ? `<h2>Files</h2>\n<ul>\n${files.map((file) => `<li><a href="${escapeHtml(file)}">${escapeHtml(file)}</a></li>`).join("\n")}\n</ul>` : ""}
<p>Browse the episodes step by step: <code>react-rl view ${escapeHtml(dir)}</code></p>
</body>
</html>
`;
}
