import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { loadPrompt, parsePromptFile, promptDigest } from "../prompts/index.ts";
import { renderPrompt } from "../src/agent/prompt.ts";
import { Tokenizer } from "../src/lm/index.ts";
import { UserError } from "../src/errors.ts";
import { BASE_PLANNER, episodeTokens } from "../src/planner/index.ts";
import {
  byteTokenizer,
  exemplarText,
  exportTrajectories,
  huggingFaceEncoder,
  OpenAIDpoRecordSchema,
  OpenAISftRecordSchema,
  readTrajectories,
  TokenRecordSchema,
  writeExport,
  type ExportOptions,
  type TokenRecord,
  type TokenEncoder,
  type Trajectory,
} from "../trajectories/index.ts";

const fixture = (name: string) => new URL(`./fixtures/export/${name}`, import.meta.url).pathname;
const readFixture = (name: string) => readFile(fixture(name), "utf8");
const jsonl = (text: string) => text.trim().split("\n").map((line) => JSON.parse(line) as unknown);

const head = parsePromptFile(await readFixture("prompt.txt"));
const { trajectories } = await readTrajectories(fixture("trajectories.jsonl"));
const exportOf = (options: Omit<ExportOptions, "head">, from: readonly Trajectory[] = trajectories) =>
  exportTrajectories(from, { head, ...options });
const records = (lines: string[]) => lines.map((line) => JSON.parse(line) as unknown);

const run = promisify(execFile);
const bin = new URL("../bin/react-rl.mjs", import.meta.url).pathname;
const decoder = new TextDecoder();
const decodeBytes = (ids: number[]) => decoder.decode(Uint8Array.from(ids));

/** A record shown as text, the policy's tokens wrapped in ⟦ ⟧: the form the hand-checked fixture is written in. */
function tokenView(record: TokenRecord) {
  let response = "";
  let run: number[] = [];
  let runMask: 0 | 1 | undefined;
  const close = () => {
    if (run.length > 0) response += runMask === 1 ? `⟦${decodeBytes(run)}⟧` : decodeBytes(run);
    run = [];
  };
  record.response_ids.forEach((id, i) => {
    if (record.mask[i] !== runMask) close();
    runMask = record.mask[i];
    run.push(id);
  });
  close();
  return { id: record.id, reward: record.reward, prompt: decodeBytes(record.prompt_ids), response };
}

describe("openai-sft export", () => {
  it("matches the hand-checked file: one conversation per trajectory, invalid turns weighted 0", async () => {
    const result = exportOf({ format: "openai-sft", filter: { successOnly: true } });
    expect(records(result.lines)).toEqual(jsonl(await readFixture("openai-sft.success-only.jsonl")));
    expect(result).toMatchObject({ read: 5, kept: 2 });
  });

  it("applies every filter given", () => {
    const ids = (options: ExportOptions["filter"]) =>
      records(exportOf({ format: "openai-sft", filter: options }).lines).map((r) => (r as { messages: { content: string }[] }).messages[1]!.content);
    expect(ids({})).toHaveLength(5);
    expect(ids({ noInvalid: true })).not.toContain("Question: Is Beta a city?");
    expect(ids({ maxSteps: 2 })).toHaveLength(3);
    expect(ids({ minReward: 1, noInvalid: true })).toEqual(["Question: When was Alpha born?"]);
  });

  it("leaves out a trajectory with nothing to train on", () => {
    const allInvalid = { ...trajectories[3]!, steps: trajectories[3]!.steps.slice(0, 1) };
    expect(exportOf({ format: "openai-sft" }, [allInvalid]).lines).toEqual([]);
  });

  it("says in one line what a script got wrong: a head whose {tools} was never filled in, a misspelt filter, an unknown format", () => {
    const one = trajectories.slice(0, 1);
    expect(() => exportTrajectories(one, { format: "openai-sft", head: { ...head, instruction: "Use these: {tools}" } })).toThrow(
      "exportTrajectories: head.instruction: holds {tools}: fill it in as the episodes saw it (withToolList(template, tools))",
    );
    expect(() => exportTrajectories(one, { format: "openai-sft", head, filter: { succesOnly: true } as never })).toThrow(/^exportTrajectories: filter: .*succesOnly/);
    expect(() => exportTrajectories(one, { format: "sft" as never, head })).toThrow(/^exportTrajectories: format: /);
    expect(() => exportTrajectories(one, { format: "openai-sft", head, fitler: { successOnly: true } } as never)).toThrow(new UserError("exportTrajectories: unknown option fitler (did you mean filter?)"));
    // A tokenizer the chat formats never read, and episodes that are no trajectories
    expect(() => exportTrajectories(one, { format: "openai-sft", head, tokenizer: { encode: () => [] } })).toThrow(new UserError("exportTrajectories: tokenizer: is for format tokens; the chat formats hold text"));
    expect(() => exportTrajectories([{ foo: 1 }] as never, { format: "openai-sft", head })).toThrow(/^exportTrajectories: trajectories\.0\.version: /);
  });

  it("drops the exemplars when told, keeping the instruction", () => {
    const [line] = exportTrajectories(trajectories.slice(0, 1), { format: "openai-sft", head: { ...head, exemplars: [] } }).lines;
    expect(JSON.parse(line!).messages[0]).toEqual({ role: "system", content: head.instruction });
  });
});

describe("openai-dpo export", () => {
  it("matches the hand-checked file: the best success against each failure, at the step where they part", async () => {
    const result = exportOf({ format: "openai-dpo" });
    expect(records(result.lines)).toEqual(jsonl(await readFixture("openai-dpo.jsonl")));
  });

  it("pairs only successes the filters keep, and only within a question id", () => {
    expect(exportOf({ format: "openai-dpo", filter: { maxSteps: 2 } }).lines).toEqual([]);
    const otherQuestion = trajectories.map((t) => (t.reward > 0 ? t : { ...t, id: `${t.id}-failed` }));
    expect(exportOf({ format: "openai-dpo" }, otherQuestion).lines).toEqual([]);
  });

  it("parts episodes at their first different action: other wording of the same action is no preference", async () => {
    const [success, failure] = [trajectories[0]!, trajectories[1]!];
    const reworded = { ...failure, steps: [{ ...failure.steps[0]!, thought: "Let me find Alpha." }, ...failure.steps.slice(1)] };
    const [expected] = jsonl(await readFixture("openai-dpo.jsonl"));
    expect(records(exportOf({ format: "openai-dpo" }, [success, reworded]).lines)).toEqual([expected]);
  });

  it("skips a failure that only repeats a prefix of the success", () => {
    const success = trajectories[0]!;
    const prefix: Trajectory = { ...success, steps: success.steps.slice(0, 2), reward: 0, answer: null };
    expect(exportOf({ format: "openai-dpo" }, [success, prefix]).lines).toEqual([]);
  });
});

describe("tokens export", () => {
  it("matches the hand-checked file: byte ids, the mask on exactly the policy's text", async () => {
    const result = exportOf({ format: "tokens", tokenizer: byteTokenizer });
    expect(records(result.lines)).toEqual(records(exportOf({ format: "tokens" }).lines));
    const views = records(result.lines).map((r) => tokenView(TokenRecordSchema.parse(r)));
    expect(views).toEqual(jsonl(await readFixture("tokens.view.jsonl")));
  });

  it("is the transcript the policy saw, to its last action", () => {
    exportOf({ format: "tokens" }).lines.forEach((line, i) => {
      const record = TokenRecordSchema.parse(JSON.parse(line));
      const trajectory = trajectories[i]!;
      const rendered = renderPrompt(head, trajectory.question, trajectory.steps, trajectory.steps.length + 1);
      const transcript = rendered.slice(0, rendered.lastIndexOf(`\nObservation ${trajectory.steps.length}:`));
      expect(decodeBytes([...record.prompt_ids, ...record.response_ids])).toBe(transcript);
      expect(decodeBytes(record.prompt_ids)).toBe(renderPrompt(head, trajectory.question, [], 1));
    });
  });

  it("never marks an observation token as the policy's, whatever the tokenizer merges", () => {
    // Fixed 5-character pieces: on the whole transcript, pieces would straddle policy/observation boundaries.
    const pieces: string[] = [];
    const chunky: TokenEncoder = {
      encode: (text) =>
        (text.match(/[\s\S]{1,5}/g) ?? []).map((piece) => (pieces.includes(piece) ? pieces.indexOf(piece) : pieces.push(piece) - 1)),
    };
    const text = (ids: number[]) => ids.map((id) => pieces[id]).join("");
    exportOf({ format: "tokens", tokenizer: chunky }).lines.forEach((line, i) => {
      const record = TokenRecordSchema.parse(JSON.parse(line));
      const trajectory = trajectories[i]!;
      const policyRuns = runsOf(record, 1).map(text);
      expect(policyRuns).toEqual(trajectory.steps.map((s, i) => ` ${s.thought}\nAction ${i + 1}: ${s.action}`));
      for (const run of runsOf(record, 0).map(text)) expect(run).toMatch(/^\nObservation \d+: [^\n]*\nThought \d+:$/);
      expect(trajectory.steps.length).toBeGreaterThan(1);
    });
  });

  it("takes an observation of half a megabyte", () => {
    const long = trajectories.find((t) => t.steps.length > 1)!;
    const observation = "x".repeat(512 * 1024);
    const trajectory = { ...long, steps: long.steps.map((step, i) => (i === 0 ? { ...step, observation } : step)) };
    const [record] = records(exportOf({ format: "tokens", tokenizer: byteTokenizer }, [trajectory]).lines) as TokenRecord[];
    expect(record!.response_ids.length).toBeGreaterThan(observation.length);
    expect(record!.mask.length).toBe(record!.response_ids.length);
  });

  it("takes the record's reward and id from the trajectory", () => {
    const lines = exportOf({ format: "tokens", filter: { successOnly: true } }).lines;
    expect(records(lines).map((r) => [(r as TokenRecord).id, (r as TokenRecord).reward])).toEqual([
      ["q1", 1],
      ["q2", 1],
    ]);
  });
});

describe("tokens export with a model's tokenizer", () => {
  it("gives the embedded planner's own ids: its turns as it writes them, its prompt as it reads it", async () => {
    const planner = Tokenizer.fromJSON(JSON.parse(await readFile(`${BASE_PLANNER}/tokenizer.json`, "utf8")));
    const zeroShot = await loadPrompt("hopworld");
    const result = exportTrajectories(trajectories, { format: "tokens", head: zeroShot, tokenizer: planner });
    result.lines.forEach((line, i) => {
      const record = TokenRecordSchema.parse(JSON.parse(line));
      // What the planner trains on, less its special tokens: bos first, each of its turns closed by eos
      const own = episodeTokens(trajectories[i]!, zeroShot, planner);
      const plain = (k: number) => own.ids[k] !== planner.bos && own.ids[k] !== planner.eos;
      expect([...record.prompt_ids, ...record.response_ids]).toEqual(own.ids.filter((_, k) => plain(k)));
      expect(runsOf(record, 1).flat()).toEqual(own.ids.filter((_, k) => plain(k) && own.mask[k] === 1));
    });
  });

  it("gives a Hugging Face tokenizer's ids as Python's tokenizers library does", async () => {
    const tokenizer = huggingFaceEncoder(JSON.parse(await readFixture("hf/tokenizer.json")));
    const result = exportTrajectories(trajectories, { format: "tokens", head: await loadPrompt("hopworld"), tokenizer });
    expect(records(result.lines)).toEqual(jsonl(await readFixture("hf/tokens.jsonl")));
  });
});

describe("export records and files", () => {
  it("passes each format's schema, which rejects what the formats forbid", () => {
    for (const line of exportOf({ format: "openai-sft" }).lines) OpenAISftRecordSchema.parse(JSON.parse(line));
    for (const line of exportOf({ format: "openai-dpo" }).lines) OpenAIDpoRecordSchema.parse(JSON.parse(line));
    const sft = JSON.parse(exportOf({ format: "openai-sft" }).lines[0]!);
    expect(OpenAISftRecordSchema.safeParse({ ...sft, extra: 1 }).success).toBe(false);
    sft.messages[2].weight = 0.5;
    expect(OpenAISftRecordSchema.safeParse(sft).success).toBe(false);
    const token = JSON.parse(exportOf({ format: "tokens" }).lines[0]!);
    expect(TokenRecordSchema.safeParse({ ...token, mask: token.mask.slice(1) }).success).toBe(false);
  });

  it("writes JSONL atomically, leaving no temporary file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "react-rl-export-"));
    const result = exportOf({ format: "openai-dpo" });
    await writeExport(join(dir, "dpo.jsonl"), result);
    expect(await readFile(join(dir, "dpo.jsonl"), "utf8")).toBe(result.lines.map((l) => `${l}\n`).join(""));
    expect(await readdir(dir)).toEqual(["dpo.jsonl"]);
  });

  it("leaves no temporary file when the write fails", async () => {
    const dir = await mkdtemp(join(tmpdir(), "react-rl-export-"));
    await mkdir(join(dir, "taken"));
    await expect(writeExport(join(dir, "taken"), exportOf({ format: "openai-sft" }))).rejects.toThrow();
    expect(await readdir(dir)).toEqual(["taken"]);
  });

  it("renders a trajectory as an exemplar in the prompt files' layout", () => {
    expect(exemplarText(trajectories[0]!)).toBe(
      "Question: When was Alpha born?\nThought 1: I need to search Alpha.\nAction 1: Search[Alpha]\n" +
        "Observation 1: Alpha is a Dutch painter. Alpha was born in 1901 in Delft.\n" +
        "Thought 2: I should look up when Alpha was born.\nAction 2: Lookup[born]\n" +
        "Observation 2: (Result 1 / 1) Alpha was born in 1901 in Delft.\n" +
        "Thought 3: Alpha was born in 1901.\nAction 3: Finish[1901]",
    );
  });
});

describe("react-rl export", () => {
  it("writes the file from a run folder and reports counts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "react-rl-export-cli-"));
    const out = join(dir, "sft.jsonl");
    const args = ["export", "--format", "openai-sft", "--in", fixture("trajectories.jsonl"), "--out", out, "--success-only", "--prompt", "hotpotqa"];
    const { stdout, stderr } = await run(process.execPath, [bin, ...args]);
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual({ format: "openai-sft", records: 2, read: 5, kept: 2 });
    expect(stderr).toContain("at least 10 examples");
    const written = jsonl(await readFile(out, "utf8")) as { messages: { content: string }[] }[];
    expect(written[0]!.messages[0]!.content).toContain("Here are some examples.");
  });

  it("renders the prompt of the suite named, with the tools its episodes had", async () => {
    const dir = await mkdtemp(join(tmpdir(), "react-rl-export-cli-"));
    const out = join(dir, "sft.jsonl");
    const instruction = async (...flags: string[]) => {
      await run(process.execPath, [bin, "export", "--format", "openai-sft", "--in", fixture("trajectories.jsonl"), "--out", out, "--force", ...flags]);
      return (jsonl(await readFile(out, "utf8"))[0] as { messages: { content: string }[] }).messages[0]!.content;
    };
    expect(await instruction("--dataset", "arithmetic")).toContain("Code[program] runs a JavaScript program");
    // hotpotqa's prompt lists the tools: the wiki's by default; arithmetic's episodes had Code too
    expect(await instruction("--prompt", "hotpotqa")).toMatch(/\(2\) Lookup\[.*\n\(3\) Finish\[/);
    expect(await instruction("--dataset", "arithmetic", "--prompt", "hotpotqa")).toMatch(/\(2\) Lookup\[.*\n\(3\) Code\[.*\n\(4\) Finish\[/);
  }, 30_000);

  it("refuses in one line an --out that is a folder, or runs through a file, writing nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "react-rl-export-cli-"));
    const [folder, file] = [join(dir, "emptydir"), join(dir, "afile")];
    await mkdir(folder);
    await writeFile(file, "mine");
    for (const [out, line] of [
      [folder, `--out ${folder} is a folder, not a file`],
      [join(file, "sft.jsonl"), `--out ${join(file, "sft.jsonl")} cannot be a file: part of its path is a file`],
    ]) {
      const failing = run(process.execPath, [bin, "export", "--format", "openai-sft", "--in", fixture("trajectories.jsonl"), "--out", out!]);
      await expect(failing).rejects.toMatchObject({ code: 1, stderr: `react-rl export: ${line}\n` });
    }
    expect((await readdir(dir)).sort()).toEqual(["afile", "emptydir"]);
    expect(await readdir(folder)).toEqual([]);
  }, 30_000);

  it("replaces an existing --out only with --force, and never a log it reads; reads no log twice", async () => {
    const dir = await mkdtemp(join(tmpdir(), "react-rl-export-cli-"));
    const log = join(dir, "trajectories.jsonl");
    await copyFile(fixture("trajectories.jsonl"), log);
    const mine = join(dir, "mine.jsonl");
    await writeFile(mine, "mine\n");
    const exported = (...args: string[]) => run(process.execPath, [bin, "export", "--format", "openai-sft", ...args]);
    for (const [args, line] of [
      [["--in", log, "--out", mine], `--out ${mine} already exists: pass --force to replace it, or choose another --out`],
      [["--in", dir, "--out", log], `--out ${log} already exists: pass --force to replace it, or choose another --out`],
      [["--in", dir, "--out", log, "--force"], `--out ${log} is a log this command reads: write elsewhere`],
      [["--in", dir, "--in", log, "--out", join(dir, "twice.jsonl")], `${log} is named twice`],
    ]) {
      await expect(exported(...args!)).rejects.toMatchObject({ code: 1, stderr: `react-rl export: ${line}\n` });
    }
    expect(await readFile(log, "utf8")).toBe(await readFixture("trajectories.jsonl"));
    expect(await readFile(mine, "utf8")).toBe("mine\n");
    expect((await readdir(dir)).sort()).toEqual(["mine.jsonl", "trajectories.jsonl"]);
    await exported("--in", dir, "--out", mine, "--force");
    expect(jsonl(await readFile(mine, "utf8"))).toHaveLength(5);
  }, 30_000);

  it("writes no file when nothing is left to write, saying why", async () => {
    const dir = await mkdtemp(join(tmpdir(), "react-rl-export-cli-"));
    const out = join(dir, "out.jsonl");
    const exported = (...args: string[]) => run(process.execPath, [bin, "export", "--out", out, ...args]);
    await expect(exported("--format", "openai-sft", "--in", fixture("trajectories.jsonl"), "--min-reward", "2")).rejects.toMatchObject({ code: 1, stderr: "react-rl export: nothing to write: the filters kept none of the 5 trajectories read\n" });
    const successes = join(dir, "successes.jsonl");
    await writeFile(successes, trajectories.filter((t) => t.reward > 0).map((t) => `${JSON.stringify(t)}\n`).join(""));
    await expect(exported("--format", "openai-dpo", "--in", successes)).rejects.toMatchObject({
      code: 1,
      stderr: "react-rl export: nothing to write: no question of the 2 trajectories kept has both a success and a failure to pair (collect several samples of each: react-rl collect --samples K)\n",
    });
    // SFT learns only valid steps: episodes with none give no record
    const invalid = join(dir, "invalid.jsonl");
    await writeFile(invalid, trajectories.map((t) => `${JSON.stringify({ ...t, steps: t.steps.map((step) => ({ ...step, valid: false })) })}\n`).join(""));
    await expect(exported("--format", "openai-sft", "--in", invalid)).rejects.toMatchObject({ code: 1, stderr: "react-rl export: nothing to write: none of the 5 trajectories kept has a valid step to learn from\n" });
    expect((await readdir(dir)).sort()).toEqual(["invalid.jsonl", "successes.jsonl"]);
  }, 30_000);

  it("refuses in one line episodes recorded on another suite than --dataset, and reads them with the flag it names", async () => {
    const dir = await mkdtemp(join(tmpdir(), "react-rl-export-cli-"));
    const log = join(dir, "rollouts.jsonl");
    const recorded = (dataset: string | undefined) => trajectories.map((t) => ({ ...t, meta: { ...t.meta, dataset } }));
    await writeFile(log, [...recorded(undefined), ...recorded("hopworld-train")].map((t) => `${JSON.stringify(t)}\n`).join(""));
    const args = ["export", "--format", "openai-sft", "--in", log, "--out", join(dir, "sft.jsonl")];
    await expect(run(process.execPath, [bin, ...args])).rejects.toMatchObject({
      code: 1,
      stderr: `react-rl export: ${log} holds episodes of hopworld, not hotpotqa: pass --dataset hopworld to read them with their own prompt\n`,
    });
    const { stdout } = await run(process.execPath, [bin, ...args, "--dataset", "hopworld"]);
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toMatchObject({ read: 10 });
    expect((jsonl(await readFile(join(dir, "sft.jsonl"), "utf8"))[0] as { messages: { content: string }[] }).messages[0]!.content).toContain(
      (await loadPrompt("hopworld")).instruction.slice(0, 60),
    );
  }, 30_000);

  it("refuses episodes that ran with another prompt than the one they would be read with, and reads them with the --prompt they ran with", async () => {
    const dir = await mkdtemp(join(tmpdir(), "react-rl-export-cli-"));
    const mine = join(dir, "mine.txt");
    await writeFile(mine, "Answer with Search and Finish.\n---\nQuestion: Q?\nThought 1: t\nAction 1: Finish[A]\n");
    const digest = promptDigest(await loadPrompt(mine));
    const log = join(dir, "mine.jsonl");
    await writeFile(log, trajectories.map((t) => `${JSON.stringify({ ...t, meta: { ...t.meta, prompt: digest } })}\n`).join(""));
    const args = ["export", "--format", "openai-sft", "--in", log, "--out", join(dir, "sft.jsonl")];
    await expect(run(process.execPath, [bin, ...args])).rejects.toMatchObject({
      code: 1,
      stderr: `react-rl export: ${log} holds episodes that ran with another prompt (${digest}) than hotpotqa (${promptDigest(await loadPrompt("hotpotqa"))}): pass --prompt with the one they ran with\n`,
    });
    await run(process.execPath, [bin, ...args, "--prompt", mine]);
    expect((jsonl(await readFile(join(dir, "sft.jsonl"), "utf8"))[0] as { messages: { content: string }[] }).messages[0]!.content).toContain("Answer with Search and Finish.");
    // Exemplars recalled per question: the prompt's own would show a prompt the episodes never saw, unless left out
    const recalled = join(dir, "recalled.jsonl");
    await writeFile(recalled, trajectories.map((t) => `${JSON.stringify({ ...t, meta: { ...t.meta, prompt: digest, recall: 3 } })}\n`).join(""));
    const fromRecalled = ["export", "--format", "openai-sft", "--in", recalled, "--prompt", mine, "--out", join(dir, "recalled-sft.jsonl")];
    await expect(run(process.execPath, [bin, ...fromRecalled])).rejects.toMatchObject({
      code: 1,
      stderr: `react-rl export: ${recalled} holds episodes whose exemplars were recalled per question (bench --memory --shots): with ${mine}'s own exemplars they would show a prompt they never ran with (export --no-exemplars renders them with the instruction alone)\n`,
    });
    await run(process.execPath, [bin, ...fromRecalled, "--no-exemplars"]);
    expect((jsonl(await readFile(join(dir, "recalled-sft.jsonl"), "utf8"))[0] as { messages: { content: string }[] }).messages[0]!.content).not.toContain("Question: Q?");
    // A log of two prompts: no one --prompt reads it
    const mixed = join(dir, "mixed.jsonl");
    const prompts = [digest, "sha256 000000000000"];
    await writeFile(mixed, trajectories.map((t, i) => `${JSON.stringify({ ...t, meta: { ...t.meta, prompt: prompts[i % 2] } })}\n`).join(""));
    await expect(run(process.execPath, [bin, "export", "--format", "openai-sft", "--in", mixed, "--out", join(dir, "mixed-sft.jsonl"), "--prompt", mine])).rejects.toMatchObject({
      code: 1,
      stderr: `react-rl export: ${mixed} holds episodes that ran with another prompt (sha256 000000000000) than ${mine} (${digest}): it holds episodes of 2 prompts (${digest}, sha256 000000000000): split it by prompt (meta.prompt), and read each part with its own --prompt\n`,
    });
  }, 30_000);

  it("takes --tokenizer as a model folder, and says in one line what is wrong with one it cannot read", async () => {
    const dir = await mkdtemp(join(tmpdir(), "react-rl-export-cli-"));
    const out = join(dir, "tokens.jsonl");
    const args = ["export", "--format", "tokens", "--in", fixture("trajectories.jsonl"), "--out", out, "--prompt", "hopworld", "--force"];
    await run(process.execPath, [bin, ...args, "--tokenizer", fixture("hf")]);
    expect(jsonl(await readFile(out, "utf8"))).toEqual(jsonl(await readFixture("hf/tokens.jsonl")));
    const failing = run(process.execPath, [bin, ...args, "--tokenizer", new URL("../package.json", import.meta.url).pathname]);
    await expect(failing).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/^react-rl export: --tokenizer: .* is neither a react-rl planner's nor a Hugging Face tokenizer \([^\n]*\)\n$/) });
  }, 30_000);
});

function runsOf(record: TokenRecord, mask: 0 | 1): number[][] {
  const runs: number[][] = [];
  record.response_ids.forEach((id, i) => {
    if (record.mask[i] !== mask) return;
    if (i > 0 && record.mask[i - 1] === mask) runs.at(-1)!.push(id);
    else runs.push([id]);
  });
  return runs;
}
