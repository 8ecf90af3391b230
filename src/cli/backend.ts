import { z } from "zod";
import { BACKENDS, type BackendChoice, type BackendName } from "../lm/index.ts";
import { ensureBackend } from "../planner/index.ts";

/** `--backend`, as every command that runs the embedded planner takes it. */
export const backendFlag = z.enum(BACKENDS).optional();

export const backendUsage = `  --backend NAME       ${BACKENDS.join(" | ")} (default: the fastest present, GPUs first)`;

/** Selects the backend (once per process) and says on stderr which one runs, and why not a faster one. */
export async function announceBackend(preferred?: BackendName): Promise<BackendChoice> {
  const choice = await ensureBackend(preferred);
  console.error(describeBackend(choice));
  return choice;
}

/** `tfjs backend: wasm (not installed: tfjs-node-gpu, webgpu, tfjs-node)`, with the reason of any that is installed but failed. */
export function describeBackend(choice: BackendChoice): string {
  const missing = choice.skipped.filter((s) => s.reason.endsWith("is not installed")).map((s) => s.name);
  const failed = choice.skipped.filter((s) => !missing.includes(s.name)).map((s) => `${s.name} failed: ${s.reason}`);
  const notes = [...(missing.length > 0 ? [`not installed: ${missing.join(", ")}`] : []), ...failed];
  return `tfjs backend: ${choice.name}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`;
}
