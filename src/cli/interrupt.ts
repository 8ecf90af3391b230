import { setMaxListeners } from "node:events";

/** Runs `work` with a signal that Ctrl-C aborts, so long work can stop cleanly and say how to resume. */
export async function untilInterrupted<R>(work: (signal: AbortSignal) => Promise<R>): Promise<R> {
  const controller = new AbortController();
  // Every request in flight listens to it (--concurrency, up to 1024): not a leak to warn of
  setMaxListeners(0, controller.signal);
  // Said at once: a trainer stops only after the optimizer step in flight, which can take seconds
  const stop = () => {
    process.stderr.write(`${process.stderr.isTTY ? "\n" : ""}stopping where a rerun resumes; Ctrl-C again quits at once\n`);
    controller.abort();
  };
  process.once("SIGINT", stop);
  try {
    return await work(controller.signal);
  } finally {
    process.off("SIGINT", stop);
  }
}

/** What a run that Ctrl-C stopped says, and its exit code: the same command resumes it. */
export function stopped(): number {
  console.error("interrupted: rerun the same command to resume");
  return 130;
}

/** Resolves on the first SIGINT or SIGTERM: how a server is told to stop. */
export function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
