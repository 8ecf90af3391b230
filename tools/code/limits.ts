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

/** What one Python program may use: as for JavaScript, but no stack limit (Python's recursion limit guards the stack). */
export const PythonLimitsSchema = CodeLimitsSchema.omit({ stackBytes: true }).extend({
  /**
   * Pyodide's WebAssembly memory, per worker: past it allocations fail and the
   * program ends with "out of memory". Pyodide with its standard library
   * starts at about 30 MiB; the memory never shrinks while the worker lives.
   */
  memoryBytes: z.number().int().min(64 * MIB).max(2048 * MIB).default(256 * MIB),
});

export type PythonLimits = z.infer<typeof PythonLimitsSchema>;
/** Limits a single Python call may override: the memory is fixed when the worker starts. */
export type PythonCallLimits = Omit<PythonLimits, "memoryBytes">;
