import { z } from "zod";

const KIB = 1024;
const MIB = 1024 * KIB;

/** What one program may use. Time, stack and output are per call; memory is per interpreter (see `memoryBytes`). */
export const CodeLimitsSchema = z.object({
  /** Wall-clock time for the program and the promise jobs it queues. */
  timeoutMs: z.number().int().min(1).max(600_000).default(1000),
  /**
   * The interpreter's WebAssembly memory, shared by the program and any open
   * sessions: past it allocations fail with "out of memory". QuickJS's own
   * per-runtime limit cannot measure total use in this build (it only stops a
   * single oversized allocation), so the memory itself is capped. At least
   * 32 MiB: QuickJS starts with 16 MiB.
   */
  memoryBytes: z.number().int().min(32 * MIB).max(2048 * MIB).default(64 * MIB),
  /**
   * Capped because the worker's own thread stack (`WORKER_STACK_MB`) must stay
   * far deeper than QuickJS's, or a deeply nested program overflows the engine
   * before QuickJS can stop it cleanly.
   */
  stackBytes: z.number().int().min(32 * KIB).max(MIB).default(256 * KIB),
  /** Output and result are each cut to this many characters, with a marker saying how much was cut. */
  maxOutputChars: z.number().int().min(100).max(1_000_000).default(2000),
});

export type CodeLimits = z.infer<typeof CodeLimitsSchema>;
/** Limits a single call may override: the memory is fixed when the interpreter starts. */
export type CallLimits = Omit<CodeLimits, "memoryBytes">;

/** Thread stack of the worker that runs QuickJS: 64 times the largest QuickJS stack limit. */
export const WORKER_STACK_MB = 64;
