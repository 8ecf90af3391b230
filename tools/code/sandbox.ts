import {
  DefaultIntrinsics,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
  type VmCallResult,
} from "quickjs-emscripten";
import type { CodeLimits } from "./limits.ts";
import { PRELUDE } from "./prelude.ts";
import { truncate, withMarker, type CodeResult } from "./result.ts";

/** Programs run as this file, so error locations name it (the prelude reads line numbers from it). */
const PROGRAM_FILE = "program.js";
const OUT_OF_MEMORY = "InternalError: out of memory";

type Completion = { value: QuickJSHandle } | { thrown: QuickJSHandle } | { pending: true };

/**
 * One QuickJS runtime and context with the sandbox's console: the program sees
 * the language's built-ins and nothing of the host. Typed arrays are left out
 * because QuickJS does not count their buffers against the memory limit.
 * Runs synchronously; the worker that owns it is what the host can kill.
 */
export class Sandbox {
  private readonly runtime: QuickJSRuntime;
  private readonly context: QuickJSContext;
  /** The prelude's functions and its output buffer (see prelude.ts). */
  private readonly prelude: Record<"show" | "describe" | "reset" | "output", QuickJSHandle>;
  private deadline = Infinity;
  private interrupted = false;

  constructor(module: QuickJSWASMModule) {
    this.runtime = module.newRuntime();
    this.runtime.setInterruptHandler(() => {
      this.interrupted ||= Date.now() > this.deadline;
      return this.interrupted;
    });
    this.context = this.runtime.newContext({ intrinsics: { ...DefaultIntrinsics, TypedArrays: false } });
    const context = this.context;
    const install = context.unwrapResult(context.evalCode(`(${PRELUDE})`, "prelude.js", { type: "global" }));
    const api = context.unwrapResult(context.callFunction(install, context.undefined));
    this.prelude = {
      show: context.getProp(api, "show"),
      describe: context.getProp(api, "describe"),
      reset: context.getProp(api, "reset"),
      output: context.getProp(api, "output"),
    };
    install.dispose();
    api.dispose();
  }

  /** Runs a program; its globals stay for the next program run here. */
  run(code: string, limits: CodeLimits): CodeResult {
    const limit = this.context.newNumber(limits.maxOutputChars);
    this.context.unwrapResult(this.context.callFunction(this.prelude.reset, this.context.undefined, limit)).dispose();
    limit.dispose();
    this.runtime.setMemoryLimit(limits.memoryBytes);
    this.runtime.setMaxStackSize(limits.stackBytes);
    this.interrupted = false;
    this.deadline = Date.now() + limits.timeoutMs;
    try {
      return this.conclude(this.settle(this.context.evalCode(code, PROGRAM_FILE, { type: "global" })), limits);
    } finally {
      this.deadline = Infinity;
    }
  }

  dispose(): void {
    for (const handle of Object.values(this.prelude)) handle.dispose();
    this.context.dispose();
    this.runtime.dispose();
  }

  /** Runs the promise jobs the program queued; a promise result is awaited (nothing else can settle it later). */
  private settle(evaluated: VmCallResult<QuickJSHandle>): Completion {
    if (evaluated.error) return { thrown: evaluated.error };
    const value = evaluated.value;
    const jobs = this.runtime.executePendingJobs();
    if (jobs.error) {
      value.dispose();
      return { thrown: jobs.error };
    }
    const state = this.context.getPromiseState(value);
    if (state.type === "fulfilled" && state.notAPromise) return { value };
    value.dispose();
    if (state.type === "fulfilled") return { value: state.value };
    if (state.type === "rejected") return { thrown: state.error };
    return { pending: true };
  }

  private conclude(completion: Completion, limits: CodeLimits): CodeResult {
    const handle = "value" in completion ? completion.value : "thrown" in completion ? completion.thrown : undefined;
    const text = handle && this.render("value" in completion ? this.prelude.show : this.prelude.describe, handle);
    handle?.dispose();
    const output = this.printed();
    if (this.interrupted) return { status: "timeout", output, error: `timed out after ${limits.timeoutMs} ms` };
    if ("pending" in completion) {
      return { status: "ok", output, value: "Promise {<pending>} (it can never settle: the sandbox has no timers or I/O)" };
    }
    // Rendering only fails when the VM cannot allocate even a short string.
    const outOfMemory = text === undefined || ("thrown" in completion && text.startsWith(OUT_OF_MEMORY));
    if (outOfMemory) return { status: "out-of-memory", output, error: "out of memory" };
    if ("thrown" in completion) return { status: "error", output, error: truncate(text, limits.maxOutputChars) };
    return { status: "ok", output, value: truncate(text, limits.maxOutputChars) };
  }

  /** What the program printed: plain data properties, so reading them runs no program code. */
  private printed(): string {
    const text = this.context.getProp(this.prelude.output, "text");
    const dropped = this.context.getProp(this.prelude.output, "dropped");
    const printed = withMarker(this.context.getString(text), this.context.getNumber(dropped));
    text.dispose();
    dropped.dispose();
    return printed;
  }

  /** Calls one of the prelude's renderers inside the VM; undefined when it could not run. */
  private render(renderer: QuickJSHandle, handle: QuickJSHandle): string | undefined {
    const result = this.context.callFunction(renderer, this.context.undefined, handle);
    if (result.error) {
      result.error.dispose();
      return undefined;
    }
    const text = this.context.typeof(result.value) === "string" ? this.context.getString(result.value) : undefined;
    result.value.dispose();
    return text;
  }
}
