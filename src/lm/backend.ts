/**
 * Picks the fastest TensorFlow.js backend that is present: CUDA (`tfjs-node-gpu`),
 * native CPU (`tfjs-node`), WebAssembly, then plain JavaScript. The native packages
 * download a binary at install time, so they are optional and found at run time.
 */
import * as tf from "@tensorflow/tfjs";
import { UserError } from "../errors.ts";

export const BACKENDS = ["tfjs-node-gpu", "tfjs-node", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendChoice {
  name: BackendName;
  /** Faster backends that were tried first, and why each was passed over. */
  skipped: { name: BackendName; reason: string }[];
}

const PACKAGES: Record<BackendName, string | undefined> = {
  "tfjs-node-gpu": "@tensorflow/tfjs-node-gpu",
  "tfjs-node": "@tensorflow/tfjs-node",
  wasm: "@tensorflow/tfjs-backend-wasm",
  cpu: undefined,
};

/** The name each package registers its backend under inside tfjs. */
const TFJS_NAMES: Record<BackendName, string> = {
  "tfjs-node-gpu": "tensorflow",
  "tfjs-node": "tensorflow",
  wasm: "wasm",
  cpu: "cpu",
};

/**
 * Activates `preferred`, or else the fastest backend that loads, and says which one
 * it is (callers print it). An explicit choice that cannot load is a UserError.
 */
export async function selectBackend(preferred?: BackendName): Promise<BackendChoice> {
  if (preferred) {
    const reason = await activate(preferred);
    if (reason) throw new UserError(`tfjs backend '${preferred}' is not available: ${reason}`);
    return { name: preferred, skipped: [] };
  }
  const skipped: BackendChoice["skipped"] = [];
  for (const name of BACKENDS) {
    const reason = await activate(name);
    if (!reason) return { name, skipped };
    skipped.push({ name, reason });
  }
  throw new Error(`no tfjs backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}`);
}

/** Loads and activates one backend; returns why it could not, or undefined on success. */
async function activate(name: BackendName): Promise<string | undefined> {
  const pkg = PACKAGES[name];
  if (pkg) {
    try {
      await importOptional(pkg);
    } catch (error) {
      const code = (error as { code?: string }).code;
      return code === "ERR_MODULE_NOT_FOUND" ? `${pkg} is not installed` : `${pkg} failed to load: ${String(error)}`;
    }
  }
  const started = await tf.setBackend(TFJS_NAMES[name]).catch(() => false);
  if (!started) return `tfjs could not start the '${TFJS_NAMES[name]}' backend`;
  await tf.ready();
  return undefined;
}

// A specifier held in a variable keeps TypeScript from demanding types for packages that may be absent.
function importOptional(specifier: string): Promise<unknown> {
  return import(specifier);
}
