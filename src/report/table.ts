import { escapeHtml } from "./html.ts";

/** A markdown table: the first column left-aligned (names), the others right-aligned (figures). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const rule = header.map((_, i) => (i === 0 ? "---" : "---:"));
  return [header, rule, ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

/** The same table as HTML, for report pages: cells are text, escaped. */
export function htmlTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const row = (cells: readonly string[], tag: "th" | "td") => `<tr>${cells.map((cell) => `<${tag}>${escapeHtml(cell)}</${tag}>`).join("")}</tr>`;
  return `<table>\n<thead>${row(header, "th")}</thead>\n<tbody>\n${rows.map((cells) => row(cells, "td")).join("\n")}\n</tbody>\n</table>`;
}
