import type { Completion, Policy, PolicyRequest } from "../agent/policy.ts";
import type { Task } from "../../tools/environment.ts";

/** What a script returns for one request: the text alone, or a whole completion (to fake tokens, logprobs, usage). */
export type ScriptedOutput = string | Completion;

export type Script<T extends Task> = readonly ScriptedOutput[] | ((request: PolicyRequest<T>) => ScriptedOutput);

/**
 * A policy that plays back fixed outputs in order, or computes them from the
 * request: for tests and demos. It ignores `stop`, as a careless backend might.
 */
export class ScriptedPolicy<T extends Task = Task> implements Policy<T> {
  readonly name: string;
  /** Every request received, in order: what the policy was shown. */
  readonly requests: PolicyRequest<T>[] = [];
  private readonly script: Script<T>;

  constructor(script: Script<T>, options: { name?: string } = {}) {
    this.script = script;
    this.name = options.name ?? "scripted";
  }

  async act(request: PolicyRequest<T>): Promise<Completion> {
    this.requests.push(request);
    const output = typeof this.script === "function" ? this.script(request) : this.nextOf(this.script);
    return typeof output === "string" ? { text: output } : output;
  }

  private nextOf(outputs: readonly ScriptedOutput[]): ScriptedOutput {
    const index = this.requests.length - 1;
    const output = outputs[index];
    if (output === undefined) {
      throw new Error(`ScriptedPolicy ran out of outputs: request ${index + 1} asked for one, but the script has only ${outputs.length}.`);
    }
    return output;
  }
}
