/** How a program ended: its printed output, and the value of its last expression or why it stopped. */
export type CodeResult =
  | { status: "ok"; output: string; value: string }
  | { status: "error" | "timeout" | "out-of-memory"; output: string; error: string };

/** The first `max` characters, then `… [truncated N chars]` when there was more. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : withMarker(text.slice(0, max), text.length - max);
}

/** `kept`, then the marker saying how many characters were cut after it (none: no marker). */
export function withMarker(kept: string, dropped: number): string {
  return dropped === 0 ? kept : `${kept}… [truncated ${dropped} chars]`;
}
