// Which tfjs backend runs, how the choice is told, and where generation then runs.
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import * as tf from "@tensorflow/tfjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { UserError } from "../src/errors.ts";
import { BACKENDS, describeBackend, GPU_BACKENDS, selectBackend, type BackendName } from "../src/lm/index.ts";
import { decodingOn, ensureBackend } from "../src/planner/index.ts";
import { trainingThreads } from "../src/train/index.ts";

const installed = (pkg: string) => {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

describe("selecting a backend", () => {
  it("tries the GPUs first, then the CPUs, and activates the first that starts", async () => {
    expect(BACKENDS.slice(0, 2)).toEqual([...GPU_BACKENDS]);
    const choice = await selectBackend();
    // Every faster backend was tried, in order, before the chosen one
    expect(choice.skipped.map((s) => s.name)).toEqual(BACKENDS.slice(0, BACKENDS.indexOf(choice.name)));
    expect(tf.getBackend()).toBe({ "tfjs-node-gpu": "tensorflow", webgpu: "webgpu", "tfjs-node": "tensorflow", wasm: "wasm", cpu: "cpu" }[choice.name]);
    if (!installed("webgpu")) expect(choice.skipped.find((s) => s.name === "webgpu")).toMatchObject({ reason: "webgpu is not installed", missing: true });
  });

  it("refuses an explicit backend that is not installed, as a UserError naming the package", async () => {
    if (installed("@tensorflow/tfjs-node-gpu") || installed("webgpu")) return; // nothing to refuse on this machine
    await expect(selectBackend("tfjs-node-gpu")).rejects.toThrow(UserError);
    await expect(selectBackend("tfjs-node-gpu")).rejects.toThrow(/not installed/);
    await expect(selectBackend("webgpu")).rejects.toThrow(/^tfjs backend 'webgpu' is not available: webgpu is not installed \(npm install --no-save webgpu @tensorflow\/tfjs-backend-webgpu@4.22.0\)$/);
    expect(["tensorflow", "webgpu"]).not.toContain(tf.getBackend());
    await selectBackend("wasm");
  });

  it("keeps the process's first choice, not a failed one, and refuses another or an unknown name", async () => {
    await expect(ensureBackend("bogus" as BackendName)).rejects.toThrow(new UserError("unknown tfjs backend 'bogus': one of tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu"));
    if (!installed("@tensorflow/tfjs-node-gpu")) await expect(ensureBackend("tfjs-node-gpu")).rejects.toThrow(/not installed/);
    // Tried and failed: the next choice is made afresh
    await expect(ensureBackend("cpu")).resolves.toMatchObject({ name: "cpu" });
    await expect(ensureBackend()).resolves.toMatchObject({ name: "cpu" });
    await expect(ensureBackend("wasm")).rejects.toThrow(new UserError("this process already runs on tfjs backend 'cpu': it cannot move to 'wasm'"));
  });
});

describe("the line that says which backend runs", () => {
  it("names the chosen one and, briefly, the faster ones passed over", () => {
    expect(describeBackend({ name: "tfjs-node-gpu", skipped: [] })).toBe("tfjs backend: tfjs-node-gpu");
    const missing = (name: "tfjs-node-gpu" | "webgpu" | "tfjs-node", pkg: string) => ({ name, reason: `${pkg} is not installed`, missing: true });
    expect(describeBackend({ name: "wasm", skipped: [missing("tfjs-node-gpu", "@tensorflow/tfjs-node-gpu"), missing("webgpu", "webgpu"), missing("tfjs-node", "@tensorflow/tfjs-node")] })).toBe(
      "tfjs backend: wasm (not installed: tfjs-node-gpu, webgpu, tfjs-node)",
    );
  });

  it("gives the reason of a backend that is installed but did not start", () => {
    const noAdapter = { name: "webgpu" as const, reason: "Dawn found no GPU adapter", missing: false };
    expect(describeBackend({ name: "wasm", skipped: [{ name: "tfjs-node-gpu", reason: "@tensorflow/tfjs-node-gpu is not installed", missing: true }, noAdapter] })).toBe(
      "tfjs backend: wasm (not installed: tfjs-node-gpu; webgpu failed: Dawn found no GPU adapter)",
    );
  });
});

describe("where long runs decode and train", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("on a GPU, on tfjs on this thread; on a CPU, on the kernels with a worker per core", () => {
    for (const gpu of GPU_BACKENDS) expect(decodingOn(gpu)).toEqual({ engine: "tfjs", workers: 0 });
    for (const cpu of ["tfjs-node", "wasm", "cpu"] as const) expect(decodingOn(cpu)).toEqual({ engine: "kernels", workers: availableParallelism() });
  });

  it("REACT_RL_THREADS sets how many threads decode and share a training step, and a bad one is a one-line mistake", async () => {
    await selectBackend("wasm");
    vi.stubEnv("REACT_RL_THREADS", "3");
    expect(decodingOn("wasm").workers).toBe(3);
    expect(trainingThreads()).toBe(3);
    for (const bad of ["0", "two", "1.5"]) {
      vi.stubEnv("REACT_RL_THREADS", bad);
      expect(() => trainingThreads()).toThrow(new UserError(`REACT_RL_THREADS must be a whole number of at least 1, not '${bad}'`));
      expect(() => decodingOn("cpu")).toThrow(UserError);
    }
  });
});
