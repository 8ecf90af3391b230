// Deadlines for work that may never settle: a policy's request, a tool's call.

/** The longest time a Node timer holds. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A signal that aborts after `ms` (never, for Infinity) or when `parent` does. `dispose` it
 * once the work is done: unlike AbortSignal.any and AbortSignal.timeout, it then leaves
 * nothing behind on a run-long parent (Node 20 keeps every signal combined with it), and
 * its timer keeps the process alive while the work is pending.
 */
export function deadlineSignal(ms: number, parent: AbortSignal | undefined): { signal: AbortSignal; dispose(): void } {
  checkDeadline(ms, "a deadline");
  const controller = new AbortController();
  const timer = Number.isFinite(ms) ? setTimeout(() => controller.abort(), ms) : undefined;
  const stop = () => controller.abort(parent?.reason); // the caller's reason reaches the work
  parent?.addEventListener("abort", stop);
  if (parent?.aborted) stop();
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", stop);
    },
  };
}

/** Refuses a time a timer cannot hold (Node's hold at most 2^31 - 1 ms, and fire at once past it), naming `what` it is. */
export function checkDeadline(ms: number, what: string): void {
  if (!(ms > 0 && (ms <= MAX_TIMER_MS || ms === Infinity))) throw new RangeError(`${what} is a time above 0 and up to ${MAX_TIMER_MS} ms, or Infinity for none; got ${ms}`);
}

/** `work`'s outcome, or the signal's reason as soon as it aborts: work that ignores its signal cannot hold its caller past it. */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const stop = () => reject(signal.reason);
    if (signal.aborted) stop(); // while the work was starting
    signal.addEventListener("abort", stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
  });
}
