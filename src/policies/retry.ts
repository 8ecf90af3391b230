import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { PolicyError, type UserError } from "../errors.ts";
import { deadlineSignal, MAX_TIMER_MS, untilAborted } from "../deadline.ts";

/** How a policy behind a remote model retries it: the options every such policy takes. */
export const RetryOptionsSchema = z.object({
  /** Retries of an attempt that may pass next time: no answer in time, no connection, a 408, 409, 429 or 5xx, a malformed reply. */
  maxRetries: z.number().int().nonnegative().default(2),
  /** Each attempt's limit, the whole reply included. */
  timeoutMs: z.number().int().positive().max(MAX_TIMER_MS).default(60_000),
  /** The longest retry-after obeyed: a backend asking for more fails the request at once rather than stall the run. */
  maxRetryAfterMs: z.number().int().nonnegative().default(20_000),
});

export type RetryOptions = z.output<typeof RetryOptionsSchema>;

/** Why one attempt failed, in words that follow the backend's name, and whether another attempt may do better. */
export interface Failure {
  reason: string;
  retryable: boolean;
  /** What the backend asked to wait before the next attempt. */
  retryAfterMs?: number;
  /** For failures no retry or other episode would mend (a rejected key, an unknown model): what to tell the user. */
  userError?: UserError;
}

/** What a request goes to, as failures name it. */
export interface Backend {
  /** The subject of the one-line failure message: "The server at http://...". */
  name: string;
  /** How a user gives attempts longer, named when one runs out of time: "--timeout, or timeoutMs from a script". */
  timeoutSetting: string;
  /** What an attempt's error means; an attempt cut off by its own deadline never gets here. */
  failureOf(error: unknown): Failure;
}

/** Statuses that say "not now" rather than "never": timeouts, conflicts, rate limits and server errors. */
export const isTransientStatus = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

/** The innermost message of an error chain: fetch's "fetch failed" hides the useful "connect ECONNREFUSED ...". */
export function rootMessage(error: Error): string {
  return error.cause instanceof Error ? rootMessage(error.cause) : error.message;
}

/** Error bodies can be whole HTML pages: one short line of them is enough, its final period left to the sentence it goes in. */
export function oneLine(text: string, max = 200): string {
  const line = text.replace(/\s+/g, " ").trim().replace(/(?<!\.)\.$/, "");
  return line.length > max ? `${line.slice(0, max)}...` : line;
}

/** The reason for an HTTP error whose message may start with its status, as the openai SDK's do. */
export function statusReason(status: number, message: string): string {
  const detail = message.startsWith(String(status)) ? message.slice(String(status).length) : message;
  return `answered ${status}: ${oneLine(detail)}`;
}

/** The wait a failed response asks for: retry-after-ms, else retry-after in seconds or as a date. */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get("retry-after-ms") ?? "");
  if (!Number.isNaN(ms)) return ms;
  const after = headers?.get("retry-after");
  if (!after) return undefined;
  const seconds = Number.parseFloat(after);
  const wait = Number.isNaN(seconds) ? Date.parse(after) - Date.now() : seconds * 1000;
  return Number.isNaN(wait) ? undefined : Math.max(0, wait);
}

/** The openai SDK's backoff when the backend names no wait: 0.5 s doubling to 8 s, with jitter so parallel episodes spread out. */
function backoffMs(attempt: number): number {
  return Math.min(500 * 2 ** (attempt - 1), 8_000) * (1 - Math.random() * 0.25);
}

/**
 * Runs `attempt` until it succeeds, each try under its own deadline, retrying
 * what may pass. It ends in the first success, an abort of `signal` (at once,
 * even mid-wait, rethrown as is), the failure's UserError, or a one-line PolicyError.
 */
export async function withRetries<T>(
  attempt: (signal: AbortSignal) => Promise<T>,
  backend: Backend,
  options: RetryOptions,
  signal: AbortSignal | undefined,
): Promise<T> {
  const { maxRetries, timeoutMs, maxRetryAfterMs } = options;
  for (let attempts = 1; ; attempts++) {
    const deadline = deadlineSignal(timeoutMs, signal);
    try {
      return await untilAborted(attempt(deadline.signal), deadline.signal);
    } catch (error) {
      // An interrupt is the user's doing, not the backend's: no retry, no translation.
      signal?.throwIfAborted();
      const failure = deadline.signal.aborted ? timeoutFailure(timeoutMs, backend.timeoutSetting) : backend.failureOf(error);
      const tooLong = failure.retryAfterMs !== undefined && failure.retryAfterMs > maxRetryAfterMs;
      if (!failure.retryable || attempts > maxRetries || tooLong) {
        const refusedWait = tooLong
          ? `, and asked to retry after ${failure.retryAfterMs! / 1000} s, longer than the ${maxRetryAfterMs / 1000} s this client waits`
          : "";
        const tries = attempts > 1 ? ` (${attempts} attempts)` : "";
        throw failure.userError ?? new PolicyError(`${backend.name} ${failure.reason}${refusedWait}${tries}.`, { cause: error });
      }
      await sleep(failure.retryAfterMs ?? backoffMs(attempts), undefined, { signal });
    } finally {
      deadline.dispose();
    }
  }
}

/** An attempt that ran out of time: worth another, and the message says how to give it longer. */
export function timeoutFailure(timeoutMs: number, setting: string): Failure {
  return { reason: `did not answer within ${timeoutMs / 1000} s (see ${setting})`, retryable: true };
}
