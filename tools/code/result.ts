import type { Exchanged } from "../../src/threads.ts";

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

/**
 * How an interpreter's worker answers a program. `retire`: the worker must not
 * run anything more (its memory ran out, or its engine may be left broken); the
 * host starts a fresh one instead. `crashed`: the engine failed while running
 * the program, and nothing it computed is left.
 */
export type RunReply =
  | { type: "result"; id: number; result: CodeResult; retire: boolean }
  | { type: "crashed"; id: number; message: string };

/** The result of a run, also when the worker was killed or died instead of answering. */
export function runResult(reply: Exchanged<RunReply> | { type: "ready" | "closed" }, timeoutMs: number): CodeResult {
  switch (reply.type) {
    case "result":
      return reply.result;
    case "timeout":
      return { status: "timeout", output: "", error: `timed out after ${timeoutMs} ms` };
    case "crashed":
      return { status: "error", output: "", error: `the interpreter crashed (${reply.message}) and was restarted` };
    default:
      throw new Error(`an interpreter's worker answered a run with "${reply.type}"`);
  }
}
