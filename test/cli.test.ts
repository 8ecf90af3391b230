import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HOTPOTQA_SAMPLE } from "../src/bench/sample.ts";
import { cli, lastJson } from "./helpers/cli.ts";



const tempDir = () => mkdtemp(join(tmpdir(), "react-rl-cli-"));

describe("react-rl CLI", () => {
  it("lists its commands", async () => {
    const { code, stdout } = await cli(["--help"]);
    expect(code).toBe(0);
    for (const name of ["bench", "score", "tool", "trajectories"]) expect(stdout).toContain(name);
  });

  it("answers an unknown flag with usage and exit code 2", async () => {
    const { code, stderr } = await cli(["bench", "--limt", "3"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--limt");
    expect(stderr).toContain("usage: react-rl bench");
  });

  it("rejects a bad flag value in one line", async () => {
    const { code, stderr } = await cli(["bench", "--limit", "zero"]);
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^react-rl bench: invalid --limit/);
  });

  it("runs the oracle on the bundled sample with EM 1, then scores and summarises the log", async () => {
    const out = await tempDir();
    const bench = await cli(["bench", "--policy", "oracle", "--limit", "25", "--out", out]);
    expect(bench.code).toBe(0);
    expect(lastJson(bench.stdout)).toEqual({ n: 25, em: 1, f1: expect.any(Number) });
    expect(JSON.parse(await readFile(join(out, "summary.json"), "utf8"))).toMatchObject({ n: 25, em: 1 });

    const stats = await cli(["trajectories", "stats", out]);
    expect(stats.code).toBe(0);
    expect(lastJson(stats.stdout)).toMatchObject({ n: 25, em: 1, haltedRate: 0 });

    const log = (await readFile(join(out, "trajectories.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    const pred = join(out, "pred.json");
    await writeFile(pred, JSON.stringify({ answer: Object.fromEntries(log.map((t) => [t.id, t.answer])), sp: {} }));
    const score = await cli(["score", "--gold", HOTPOTQA_SAMPLE, "--pred", pred]);
    expect(score.code).toBe(0);
    const scored = lastJson(score.stdout);
    expect(scored.n).toBe(300);
    expect(scored.em).toBeCloseTo(25 / 300, 10);
  });

  it("calls one tool from the shell", async () => {
    const { code, stdout } = await cli(["tool", "search", "nonexistent page title zzz"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Could not find nonexistent page title zzz\. Similar: \[.*\]\.$/m);
  });

  it("says clearly when a dataset file is missing, with no stack trace", async () => {
    const { code, stderr } = await cli(["bench", "--file", "/no/such/file.jsonl"]);
    expect(code).toBe(1);
    expect(stderr).toContain("/no/such/file.jsonl");
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("says clearly when the OpenAI policy has no key", async () => {
    const { code, stderr } = await cli(["bench", "--policy", "openai", "--limit", "1", "--out", await tempDir()]);
    expect(code).toBe(1);
    expect(stderr).toContain("OPENAI_API_KEY");
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
