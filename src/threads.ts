import { availableParallelism } from "node:os";
import { UserError } from "./errors.ts";

/**
 * How many threads CPU work spreads over (the planner's decoding workers, the shares of a
 * training step): one per core, or `REACT_RL_THREADS` where set, for a container whose CPU
 * quota Node does not see, or to leave cores to other work.
 */
export function cpuThreads(): number {
  const asked = process.env.REACT_RL_THREADS;
  if (asked === undefined || asked === "") return availableParallelism();
  const threads = Number(asked);
  if (!Number.isInteger(threads) || threads < 1) throw new UserError(`REACT_RL_THREADS must be a whole number of at least 1, not '${asked}'`);
  return threads;
}
