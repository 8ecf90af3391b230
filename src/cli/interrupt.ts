/** Runs `work` with a signal that Ctrl-C aborts, so long work can stop cleanly and say how to resume. */
export async function untilInterrupted<R>(work: (signal: AbortSignal) => Promise<R>): Promise<R> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  try {
    return await work(controller.signal);
  } finally {
    process.off("SIGINT", stop);
  }
}
