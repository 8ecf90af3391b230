// Reports: learning curves as SVG and an HTML page that opens offline; progress bars with rate and time left.
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../src/cli/main.ts";
import { duration, ProgressBar } from "../src/cli/progress.ts";
import { DEFAULT_MODEL_CONFIG, disposeModel, loadCheckpoint } from "../src/lm/index.ts";
import { metricCharts, writeReport, type MetricsRecord } from "../src/index.ts"; // the package face, as a user imports them

/** A page that opens offline: it refers to no address, and loads no file (scripts, styles, images). */
function expectSelfContained(html: string): void {
  expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  expect(html).not.toMatch(/<(script|link|img|iframe)\b/);
}

describe("metric charts", () => {
  it("draw each figure the records have against their counter, leaving out what none has", () => {
    const records: MetricsRecord[] = [{ update: 1, reward: 0.2, kl: 0.001 }, { update: 2, reward: 0.4, kl: 0.004, loss: 0.5 }];
    const charts = metricCharts(records, "update", [
      { title: "Reward and KL", yLabel: "reward", y2Label: "KL", curves: [{ key: "reward", name: "reward" }, { key: "kl", name: "KL", axis: "right" }, { key: "absent", name: "absent" }] },
      { title: "Entropy", yLabel: "nats", curves: [{ key: "entropy", name: "entropy" }] },
    ]);
    expect(charts).toHaveLength(1);
    expect(charts[0]).toContain(">KL (right)</text>");
    expect(charts[0]).not.toContain(">absent</text>");
    expect(charts[0]!.match(/<circle /g)).toHaveLength(4);
  });

  it("are written as curves.svg and inline in report.html, with the tables escaped", async () => {
    const dir = await mkdtemp(join(tmpdir(), "react-rl-report-"));
    const charts = metricCharts([{ step: 1, loss: 2 }, { step: 2, loss: 1 }], "step", [{ title: "Loss", yLabel: "loss", curves: [{ key: "loss", name: "loss" }] }]);
    const path = await writeReport(dir, { title: "a <run>", about: ["What & why."], tables: [{ header: ["figure", "value"], rows: [["<b>", "1"]] }], charts, files: ["metrics.jsonl"] });
    const html = await readFile(path, "utf8");
    expect(html).toContain("<title>a &lt;run&gt;</title>");
    expect(html).toContain("<td>&lt;b&gt;</td>");
    expect(html).toContain(charts[0]);
    expect(html).toContain(`<a href="metrics.jsonl">`);
    expectSelfContained(html);
    expect(await readFile(join(dir, "curves.svg"), "utf8")).toContain(charts[0]);
  });
});

describe("react-rl train pretrain", () => {
  it("writes report.html and curves.svg beside the checkpoint, which still loads", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "react-rl-report-")), "pt");
    const tiny = ["--steps", "3", "--batch-size", "1", "--d-model", "16", "--layers", "1", "--heads", "1", "--context", "160", "--vocab", "300"];
    expect(await main(["train", "pretrain", "--out", out, ...tiny])).toBe(0);
    const svg = await readFile(join(out, "curves.svg"), "utf8");
    expect(svg).toContain(">Next-token loss</text>");
    expect(svg.match(/<circle /g)).toHaveLength(6); // loss and learning rate at each of the 3 steps
    const html = await readFile(join(out, "report.html"), "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("3 steps.");
    expectSelfContained(html);
    const { meta, model } = await loadCheckpoint(out);
    expect(meta).toMatchObject({ stage: "pretrain", done: true, steps: 3, shape: "d16, 1 layers, 1 heads, context 160, vocab 300" });
    expect(meta).not.toHaveProperty("preset"); // the flags changed the preset's shape
    // The shape flags in place of the preset's fields; the rest is the preset's
    expect(model.config).toMatchObject({ dModel: 16, nLayers: 1, nHeads: 1, contextLength: 160, copyHead: DEFAULT_MODEL_CONFIG.copyHead });
    disposeModel(model);
  }, 60_000);
});

describe("progress bars", () => {
  afterEach(() => vi.useRealTimers());

  it("show the rate and the time left, counting only the work done since they started", () => {
    vi.useFakeTimers({ now: 0 });
    const lines: string[] = [];
    // A terminal: every update redraws the line.
    const stream = { isTTY: true, write: (text: string) => lines.push(text.replace(/^\r|\x1b\[K$/g, "")) } as unknown as NodeJS.WriteStream;
    const bar = new ProgressBar("sample", stream);
    bar.update(10, 110, "EM 0.500"); // resumed: 10 were done before
    vi.setSystemTime(20_000);
    bar.update(50, 110, "EM 0.400");
    expect(lines.at(-1)).toBe("sample [###########-------------] 50/110 EM 0.400 2.00/s 20s eta 30s");
    vi.setSystemTime(60_000);
    bar.update(51, 110);
    expect(lines.at(-1)).toMatch(/ 51\/110 1\.46 s each 1m00s eta 1m26s$/);
    bar.update(110, 110);
    expect(lines.at(-1)).not.toContain("eta");
  });

  it("write durations in the largest units that read well", () => {
    expect([duration(42), duration(185), duration(3720)]).toEqual(["42s", "3m05s", "1h02m"]);
  });
});
