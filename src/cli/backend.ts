import { z } from "zod";
import { BACKENDS, describeBackend, type BackendChoice, type BackendName } from "../lm/index.ts";
import { ensureBackend } from "../planner/index.ts";

/** `--backend`, as every command that runs the embedded planner takes it. */
export const backendFlag = z.enum(BACKENDS).optional();

/** The choices and the default, as every usage that lists `--backend` says them. */
export const backendChoices = `${BACKENDS.join(" | ")} (default: the fastest present, GPUs first)`;

export const backendUsage = `  --backend NAME       ${backendChoices}`;

/** Selects the backend (once per process) and says on stderr which one runs, and why not a faster one. */
export async function announceBackend(preferred?: BackendName): Promise<BackendChoice> {
  const choice = await ensureBackend(preferred);
  console.error(describeBackend(choice));
  return choice;
}
