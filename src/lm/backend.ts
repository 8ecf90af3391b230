/**
 * Picks the fastest TensorFlow.js backend that is present, GPUs first: CUDA
 * (`tfjs-node-gpu`), WebGPU (Dawn's `webgpu` package with
 * `@tensorflow/tfjs-backend-webgpu`), then native CPU (`tfjs-node`), WebAssembly and
 * plain JavaScript. All but the last two are optional, found at run time: the native
 * packages download a binary at install time, and Dawn is a native addon per platform.
 *
 * In Node, WebGPU tensors can be read back only with data() (its dataSync() needs a
 * browser's OffscreenCanvas): the trainers and generation read with data() alone.
 */
import * as tf from "@tensorflow/tfjs";
import { UserError } from "../errors.ts";

export const BACKENDS = ["tfjs-node-gpu", "webgpu", "tfjs-node", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The backends that run on a GPU: generation there runs on tfjs, on this thread, not on the CPU kernels. */
export const GPU_BACKENDS: readonly BackendName[] = ["tfjs-node-gpu", "webgpu"];

/** Why a backend could not start; `missing` when its package is not installed. */
export interface Unavailable {
  reason: string;
  missing: boolean;
}

export interface BackendChoice {
  name: BackendName;
  /** Faster backends that were tried first, and why each was passed over. */
  skipped: ({ name: BackendName } & Unavailable)[];
}

const PACKAGES: Record<BackendName, string | undefined> = {
  "tfjs-node-gpu": "@tensorflow/tfjs-node-gpu",
  "tfjs-node": "@tensorflow/tfjs-node",
  wasm: "@tensorflow/tfjs-backend-wasm",
  webgpu: "@tensorflow/tfjs-backend-webgpu",
  cpu: undefined,
};

/** How to install a backend that is not a dependency. */
const INSTALL: Record<BackendName, string> = {
  "tfjs-node-gpu": "npm install @tensorflow/tfjs-node-gpu@4.22.0, which downloads CUDA's TensorFlow as it installs",
  webgpu: "npm install --no-save webgpu @tensorflow/tfjs-backend-webgpu@4.22.0",
  "tfjs-node": "npm install @tensorflow/tfjs-node@4.22.0, which downloads TensorFlow as it installs",
  wasm: "npm ci",
  cpu: "npm ci",
};

/** The name each package registers its backend under inside tfjs. */
const TFJS_NAMES: Record<BackendName, string> = {
  "tfjs-node-gpu": "tensorflow",
  "tfjs-node": "tensorflow",
  wasm: "wasm",
  webgpu: "webgpu",
  cpu: "cpu",
};

/**
 * Activates `preferred`, or else the fastest backend that loads, and says which one
 * it is (callers print it). An explicit choice that cannot load is a UserError.
 */
export async function selectBackend(preferred?: BackendName): Promise<BackendChoice> {
  if (preferred !== undefined && !BACKENDS.includes(preferred)) throw new UserError(`unknown tfjs backend '${String(preferred)}': one of ${BACKENDS.join(", ")}`);
  if (preferred) {
    const failed = await activate(preferred);
    if (failed) throw new UserError(`tfjs backend '${preferred}' is not available: ${failed.reason}${failed.missing ? ` (${INSTALL[preferred]})` : ""}`);
    return { name: preferred, skipped: [] };
  }
  const skipped: BackendChoice["skipped"] = [];
  for (const name of BACKENDS) {
    const failed = await activate(name);
    if (!failed) return { name, skipped };
    skipped.push({ name, ...failed });
  }
  throw new Error(`no tfjs backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}`);
}

/** `tfjs backend: wasm (not installed: tfjs-node-gpu, webgpu, tfjs-node)`, with the reason of any that is installed but failed. */
export function describeBackend(choice: BackendChoice): string {
  const missing = choice.skipped.filter((s) => s.missing).map((s) => s.name);
  const failed = choice.skipped.filter((s) => !s.missing).map((s) => `${s.name} failed: ${s.reason}`);
  const notes = [...(missing.length > 0 ? [`not installed: ${missing.join(", ")}`] : []), ...failed];
  return `tfjs backend: ${choice.name}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`;
}

/** Loads and activates one backend; returns why it could not, or undefined on success. */
async function activate(name: BackendName): Promise<Unavailable | undefined> {
  // Dawn first: the tfjs WebGPU backend registers itself only if navigator.gpu exists when it loads
  const noGpu = name === "webgpu" ? await provideWebGPU() : undefined;
  if (noGpu) return noGpu;
  const loaded = await load(PACKAGES[name]);
  if (loaded.failed) return loaded.failed;
  const started = await tf.setBackend(TFJS_NAMES[name]).catch(() => false);
  if (!started) return { reason: `tfjs could not start the '${TFJS_NAMES[name]}' backend`, missing: false };
  await tf.ready();
  return undefined;
}

/** Imports an optional package: its module, or why it could not be loaded. */
async function load(pkg: string | undefined): Promise<{ module?: unknown; failed?: Unavailable }> {
  if (!pkg) return {};
  try {
    return { module: await importOptional(pkg) };
  } catch (error) {
    const missing = (error as { code?: string }).code === "ERR_MODULE_NOT_FOUND";
    return { failed: { reason: missing ? `${pkg} is not installed` : `${pkg} failed to load: ${String(error)}`, missing } };
  }
}

interface Dawn {
  create(flags: string[]): { requestAdapter(options?: object): Promise<object | null> };
  /** The GPU* constants (GPUBufferUsage and the like) that tfjs's backend expects as globals. */
  globals: object;
}

let dawn = false;

/** Whether Dawn was started: once it is, Node does not exit on its own, and the CLI exits when done. */
export function dawnStarted(): boolean {
  return dawn;
}

/** What Dawn says the GPU is, once the webgpu backend runs (undefined otherwise): a software adapter would make timings meaningless. */
export async function gpuAdapter(): Promise<Record<string, string> | undefined> {
  if (tf.getBackend() !== TFJS_NAMES.webgpu) return undefined;
  type Gpu = { requestAdapter(options: object): Promise<{ info: Record<string, string> } | null> };
  const gpu = (globalThis as { navigator?: { gpu?: Gpu } }).navigator?.gpu;
  const info = (await gpu?.requestAdapter({ powerPreference: "high-performance" }))?.info;
  return info && { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description };
}

/** Installs Dawn as navigator.gpu, as a browser has it; returns why it could not. */
async function provideWebGPU(): Promise<Unavailable | undefined> {
  const loaded = await load("webgpu");
  if (loaded.failed) return loaded.failed;
  const { create, globals } = loaded.module as Dawn;
  // Dawn's own options (backend=vulkan, adapter=NAME, ...), comma-separated, read as dawn.node's own loader reads them
  const gpu = create(process.env.DAWN_FLAGS?.split(",") ?? []);
  dawn = true;
  // Asked here too, so that a machine without a GPU says so instead of failing inside tfjs
  if (!(await gpu.requestAdapter({ powerPreference: "high-performance" }))) {
    return { reason: "Dawn found no GPU adapter (on Linux it needs libvulkan.so.1 and a Vulkan driver; its warnings above say which was missing)", missing: false };
  }
  Object.assign(globalThis, globals);
  const navigator = (globalThis as { navigator?: object }).navigator;
  if (navigator) Object.defineProperty(navigator, "gpu", { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
  return undefined;
}

// A specifier held in a variable keeps TypeScript from demanding types for packages that may be absent.
function importOptional(specifier: string): Promise<unknown> {
  return import(specifier);
}
