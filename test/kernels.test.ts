import { execFileSync } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { createModel, disposeModel, forward, InferenceModel, pack, selectBackend, type LanguageModel } from "../src/lm/index.ts";

beforeAll(async () => {
  await selectBackend("wasm");
});

/** The kernels' next-token scores for each row read whole, and tfjs's forward at each row's last position. */
async function bothEngines(model: LanguageModel, rows: number[][]) {
  const inference = await InferenceModel.create(model);
  const kernels = inference.forward(rows.map((tokens) => ({ sequence: inference.sequence(), tokens })));
  const reference = tf.tidy(() => forward(model, pack(model.config, rows)).arraySync());
  let end = 0;
  const expected = rows.map((row) => reference[(end += row.length) - 1]);
  return { inference, kernels, expected };
}

function expectRowsClose(actual: Float32Array, expected: number[][], tolerance = 1e-4): void {
  const vocab = expected[0].length;
  expected.forEach((row, b) => row.forEach((v, i) => expect(Math.abs(actual[b * vocab + i] - v)).toBeLessThan(tolerance)));
}

const randomRows = (lengths: number[], vocab: number) => lengths.map((n, r) => Array.from({ length: n }, (_, i) => (r * 31 + i * 17) % vocab));

describe("the WebAssembly kernels", () => {
  it("are built from their source: the committed module is what `npm run build:kernels` writes", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "kernels-")), "kernels.wasm");
    const script = JSON.parse(await readFile("package.json", "utf8")).scripts["build:kernels"] as string;
    const args = script.replace(/^asc /, "").replace(/-o \S+$/, `-o ${out}`).split(" ");
    execFileSync(join("node_modules", ".bin", "asc"), args);
    expect(Buffer.compare(await readFile(out), await readFile("src/lm/kernels/kernels.wasm"))).toBe(0);
  }, 60_000);

  it("compute what tfjs's forward computes, with an untied head and no copy head, at sizes that leave every kernel a remainder", async () => {
    const model = createModel({ vocabSize: 37, contextLength: 24, dModel: 18, nLayers: 2, nHeads: 3, mlpRatio: 3, tieEmbeddings: false }, 4);
    const { kernels, expected } = await bothEngines(model, randomRows([7, 1, 13, 5, 3], 37));
    expectRowsClose(kernels, expected);
    disposeModel(model);
  });

  it("compute what tfjs's forward computes with a copy head, whether a sequence is read whole, token by token or forked", async () => {
    const model = createModel({ vocabSize: 50, contextLength: 32, dModel: 16, nLayers: 2, nHeads: 2, copyHead: true }, 9);
    const rows = randomRows([9, 4, 12], 50);
    const { inference, kernels, expected } = await bothEngines(model, rows);
    expectRowsClose(kernels, expected);
    const stepwise = rows.map((row) => {
      const sequence = inference.sequence();
      return row.map((token) => inference.forward([{ sequence, tokens: [token] }])).at(-1)!;
    });
    stepwise.forEach((scores, b) => expectRowsClose(scores, [expected[b]]));
    // A fork of the first 5 tokens of row 2, fed the rest, ends where row 2 read whole ends
    const whole = inference.sequence();
    inference.forward([{ sequence: whole, tokens: rows[2] }]);
    const fork = inference.fork(whole, 5);
    expectRowsClose(inference.forward([{ sequence: fork, tokens: rows[2].slice(5) }]), [expected[2]]);
    expect(fork.ids).toEqual(rows[2]);
    disposeModel(model);
  });

  it("refuse a sequence longer than the context", async () => {
    const model = createModel({ vocabSize: 10, contextLength: 8, dModel: 8, nLayers: 1, nHeads: 2 }, 1);
    const inference = await InferenceModel.create(model);
    expect(() => inference.forward([{ sequence: inference.sequence(), tokens: Array(9).fill(1) }])).toThrow(/does not fit the context of 8/);
    disposeModel(model);
  });
});
