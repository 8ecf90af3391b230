import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { HOTPOTQA_SAMPLE } from "../src/suites/bundled.ts";
import { numberFlag } from "../src/cli/command.ts";
import { numberRange } from "../src/options.ts";
import { pretrainConfig } from "../src/cli/train.ts";
import { UserError } from "../src/errors.ts";
import { AdamW, DEFAULT_MODEL_CONFIG, disposeModel, loadCheckpoint, MODEL_PRESETS, saveCheckpoint } from "../src/lm/index.ts";
import { loadPrompt } from "../prompts/index.ts";
import { cli, lastJson } from "./helpers/cli.ts";

const tempDir = () => mkdtemp(join(tmpdir(), "react-rl-cli-"));
const run = promisify(execFile);
const RECIPE = new URL("../scripts/train-large.mjs", import.meta.url).pathname;

describe("react-rl CLI", () => {
  it("lists its commands", async () => {
    const { code, stdout } = await cli(["--help"]);
    expect(code).toBe(0);
    for (const name of ["bench", "score", "tool", "trajectories"]) expect(stdout).toContain(name);
  });

  it("lists a group's commands, and gives a command's usage, on --help or help", async () => {
    const [group, bare, viaHelp] = await Promise.all([cli(["train", "--help"]), cli(["train"]), cli(["help", "train", "sft"])]);
    expect(group.code).toBe(0);
    expect(group.stdout).toContain("usage: react-rl train COMMAND");
    for (const name of ["train pretrain", "train sft", "train rs", "train rl", "train dpo", "train rm"]) expect(group.stdout).toContain(name);
    expect(group.stdout).not.toContain("bench");
    expect(bare).toEqual(group);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toMatch(/^usage: react-rl train sft --from DIR --out DIR/);
  });

  it("answers a misspelt command, option or argument in one line, with what exists and the likely one", async () => {
    const cases: [string[], number, string][] = [
      [["trian", "sft"], 2, "react-rl: unknown command 'trian' (did you mean train?); the commands: demo, bench, collect, score, tool, trajectories, export, finetune, fewshot, world, train, serve, view"],
      [["--verison"], 2, "react-rl: unknown option --verison (did you mean --version?); see react-rl --help"],
      [["train", "foo"], 2, "react-rl train: unknown command 'foo'; the train commands: pretrain, sft, rs, rl, dpo, rm"],
      [["train", "sf", "--help"], 2, "react-rl train: unknown command 'sf' (did you mean sft?); the train commands: pretrain, sft, rs, rl, dpo, rm"],
      [["world", "gen"], 2, "react-rl world: unknown command 'gen' (did you mean generate?); the world commands: generate, stats, expert"],
      [["trajectories", "stat", "runs/x"], 2, "react-rl trajectories: unknown command 'stat' (did you mean stats?); the trajectories commands: stats, merge, predictions"],
      [["bench", "--limt", "3"], 2, "react-rl bench: unknown option --limt (did you mean --limit?); see react-rl bench --help"],
      [["bench", "--limit"], 2, "react-rl bench: --limit needs a value; see react-rl bench --help"],
      [["bench", "--out", "--limit", "3"], 2, "react-rl bench: --out needs a value; see react-rl bench --help"],
      [["bench", "--free-decoding=yes"], 2, "react-rl bench: --free-decoding takes no value; see react-rl bench --help"],
      [["bench", "foo"], 2, "react-rl bench: unexpected argument 'foo'; see react-rl bench --help"],
      [["world", "stats"], 2, "react-rl world stats: missing FILE; see react-rl world stats --help"],
      [["tool", "serch", "x"], 2, "react-rl tool: unknown tool 'serch' (did you mean search?); the tools: search, lookup, code, python, recall; see react-rl tool --help"],
      [["bench", "--policy", "locl"], 1, "react-rl bench: invalid --policy: expected baseline, oracle, openai or local (did you mean local?)"],
      [["bench", "--limit", "many"], 1, "react-rl bench: invalid --limit: expected a whole number of at least 1"],
      [["bench", "--policy", "baseline", "--model", "m"], 1, "react-rl bench: --model is for --policy openai or local, not baseline"],
      [["collect", "--free-decoding"], 1, "react-rl collect: --free-decoding is for --policy local, not baseline"],
      [["bench", "--policy", "oracle", "--temperature", "0.7"], 1, "react-rl bench: --temperature is for --policy openai or local, not oracle"],
      [["collect", "--seed", "3"], 1, "react-rl collect: --seed is for --policy openai or local, not baseline"],
      [["train", "sft", "--out", "x"], 2, "react-rl train sft: --from is required; see react-rl train sft --help"],
      [["export", "--in", "x", "--out", "y.jsonl"], 2, "react-rl export: --format is required; see react-rl export --help"],
      [["train", "dpo"], 2, 'react-rl train dpo: --trajectories is required (or "trajectories" in a --config file); see react-rl train dpo --help'],
      [["bench", "--split", "dev"], 1, "react-rl bench: --split is for --dataset hopworld or arithmetic: hotpotqa's questions are the same whatever the split"],
      [["tool", "search", "Qatar", "--page", "Doha"], 1, "react-rl tool: --page is not for search, which takes --file"],
      [["tool", "code", "1 + 1", "--memory", "m"], 1, "react-rl tool: --memory is not for code, which takes no flags"],
      [["export", "--format", "openai-sf"], 1, "react-rl export: invalid --format: expected openai-sft, openai-dpo or tokens (did you mean openai-sft?)"],
    ];
    const answers = await Promise.all(cases.map(([args]) => cli(args)));
    expect(answers.map(({ code, stderr }) => [code, stderr.trim()])).toEqual(cases.map(([, code, line]) => [code, line]));
  }, 120_000);

  it("says what is wrong in a trainer's config file in one line", async () => {
    const config = join(await tempDir(), "rs.json");
    await writeFile(config, JSON.stringify({ rounds: "many" }));
    const { code, stderr } = await cli(["train", "rs", "--config", config]);
    expect({ code, stderr: stderr.trim() }).toEqual({ code: 1, stderr: `react-rl train rs: bad config (${config} and flags): rounds: expected a whole number of at least 1` });
  });

  it("rejects a bad flag value in one line", async () => {
    const { code, stderr } = await cli(["bench", "--limit", "zero"]);
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^react-rl bench: invalid --limit/);
  });

  it("says which numbers a number flag allows, a negative one included", async () => {
    const said = async (args: string[]) => {
      const { code, stderr } = await cli(args);
      expect(code).toBe(1);
      return stderr.trim();
    };
    expect(await said(["bench", "--limit", "-1"])).toBe("react-rl bench: invalid --limit: expected a whole number of at least 1");
    expect(await said(["bench", "--concurrency", "5000"])).toBe("react-rl bench: invalid --concurrency: expected a whole number from 1 to 1024");
    // The trainers' flags are their config's keys, checked the same way
    expect(await said(["train", "rs", "--rounds", "-1"])).toBe("react-rl train rs: invalid --rounds: expected a whole number of at least 1");
  }, 60_000);

  it("says in one line what the file system refused, and a file's bad JSON quoted with its line break", async () => {
    const dir = await tempDir();
    const bad = join(dir, "bad.json");
    await writeFile(bad, "not json\n{}\n");
    const refused = await cli(["world", "generate", "--train", "3", "--dev", "1", "--test", "1", "--out", "/proc/react-rl-world.json"]);
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/^react-rl world generate: cannot open \/proc\/react-rl-world\.json\.\d+\.tmp: no such file or directory\n$/) });
    const unreadable = await cli(["score", "--gold", bad, "--pred", bad]);
    expect({ code: unreadable.code, stderr: unreadable.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/^react-rl score: [^\n]*not valid JSON[^\n]*\n$/) });
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

    const pred = join(out, "pred.json");
    const predictions = await cli(["trajectories", "predictions", out, "--out", pred]);
    expect(lastJson(predictions.stdout)).toEqual({ predictions: 25 });
    const log = (await readFile(join(out, "trajectories.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(JSON.parse(await readFile(pred, "utf8"))).toEqual({ answer: Object.fromEntries(log.map((t) => [t.id, t.answer])) });
    const score = await cli(["score", "--gold", HOTPOTQA_SAMPLE, "--pred", pred]);
    expect(score.code).toBe(0);
    const scored = lastJson(score.stdout);
    expect(scored.n).toBe(300);
    expect(scored.em).toBeCloseTo(25 / 300, 10);
    // Predictions of questions the gold file lacks (another dataset's run) are said, not silently dropped
    const stray = join(out, "stray.json");
    await writeFile(stray, JSON.stringify({ answer: { nosuchid: "x" } }));
    expect((await cli(["score", "--gold", HOTPOTQA_SAMPLE, "--pred", stray])).stderr).toContain(
      "predictions of questions not in --gold, not scored: 1 (nosuchid first): is --gold the file the run answered?",
    );
    // The run's log given as --pred is named for what it is, not as JSON broken at some position
    const logGiven = await cli(["score", "--gold", HOTPOTQA_SAMPLE, "--pred", join(out, "trajectories.jsonl")]);
    expect(logGiven.stderr).toBe(`react-rl score: ${join(out, "trajectories.jsonl")}: holds one JSON value per line (JSONL: a log or a dataset?), not the one JSON value expected here\n`);

    // A log of several samples a question, or of none, is a mistake told in one line
    const samples = join(out, "samples.jsonl");
    await writeFile(samples, [0, 1].map((sample) => `${JSON.stringify({ ...log[0], sample })}\n`).join(""));
    const several = await cli(["trajectories", "predictions", samples, "--out", join(out, "p2.json")]);
    expect({ code: several.code, stderr: several.stderr.trim() }).toEqual({
      code: 1,
      stderr: `react-rl trajectories predictions: question ${log[0].id} has several episodes (collect --samples?): a prediction file holds one answer per question`,
    });
    const empty = join(out, "empty.jsonl");
    await writeFile(empty, "");
    for (const command of [["stats", empty], ["predictions", empty, "--out", join(out, "p3.json")]]) {
      const said = await cli(["trajectories", ...command]);
      expect({ code: said.code, stderr: said.stderr.trim() }).toEqual({ code: 1, stderr: `react-rl trajectories ${command[0]}: ${empty} holds no episodes` });
    }
  });

  it("runs hopworld from a seed, as train does, and refuses a rerun that asks for fewer questions than its log holds", async () => {
    const out = await tempDir();
    const hopworld = ["bench", "--dataset", "hopworld", "--world-seed", "2", "--policy", "oracle", "--out", out];
    const first = await cli([...hopworld, "--limit", "3"]);
    expect(first.code).toBe(0);
    expect(lastJson(first.stdout)).toEqual({ n: 3, em: 1, f1: 1 });
    const summary = await readFile(join(out, "summary.json"), "utf8");
    const fewer = await cli([...hopworld, "--limit", "2"]);
    expect({ code: fewer.code, stderr: fewer.stderr.trim() }).toEqual({
      code: 1,
      stderr: `react-rl bench: ${out} holds 1 episode of questions or samples this run does not ask for (test-00003 first): its summary would disagree with its log; choose another output folder, or ask for all the questions it holds`,
    });
    expect(await readFile(join(out, "summary.json"), "utf8")).toBe(summary);
    // More questions resume the log and extend it
    const more = await cli([...hopworld, "--limit", "4"]);
    expect(lastJson(more.stdout)).toEqual({ n: 4, em: 1, f1: 1 });
    expect(more.stdout).toContain("3 episodes already in");
  }, 60_000);

  it("refuses a file where a folder goes, in one line, and leaves the file be", async () => {
    const root = await tempDir();
    const file = join(root, "notes.txt");
    await writeFile(file, "mine");
    const cases: [string[], string][] = [
      [["bench", "--policy", "oracle", "--limit", "1", "--out", file], `react-rl bench: --out ${file} is a file, not a folder`],
      [["bench", "--policy", "oracle", "--limit", "1", "--out", join(file, "run")], `react-rl bench: --out ${join(file, "run")} cannot be a folder: part of its path is a file`],
      [["bench", "--policy", "oracle", "--limit", "1", "--memory", file, "--out", join(root, "run")], `react-rl bench: --memory ${file} is a file, not a folder`],
      [["tool", "recall", "Who?", "--memory", file], `react-rl tool: --memory ${file} is a file, not a folder`],
      // Trained, a checkpoint would have taken its place
      [["train", "pretrain", "--out", file, "--steps", "1"], `react-rl train pretrain: --out ${file} is a file, not a folder`],
      [["train", "rs", "--runs", file], `react-rl train rs: run folder ${join(file, "rs")} cannot be a folder: part of its path is a file`],
    ];
    for (const [args, line] of cases) {
      const { code, stderr } = await cli(args);
      expect({ code, stderr: stderr.trim() }).toEqual({ code: 1, stderr: line });
    }
    expect(await readFile(file, "utf8")).toBe("mine");
  }, 120_000);

  it("refuses a --memory folder that is the run's own or another run's, leaving that run's log as it was", async () => {
    const root = await tempDir();
    const run = join(root, "run");
    expect((await cli(["bench", "--policy", "oracle", "--limit", "2", "--out", run])).code).toBe(0);
    const log = await readFile(join(run, "trajectories.jsonl"), "utf8");
    const memory = join(root, "memory");
    await mkdir(join(memory, "index"), { recursive: true });
    const cases: [string[], string][] = [
      [["--memory", run, "--out", join(root, "other")], `react-rl bench: ${run} is a run's output folder (it holds summary.json), not a memory: give the memory a folder of its own`],
      [["--memory", join(root, "same"), "--out", join(root, "same")], "react-rl bench: --memory and --out name the same folder: give the memory a folder of its own"],
      [["--out", memory], `react-rl bench: --out ${memory} is a memory folder (it holds index/): give the run a folder of its own`],
    ];
    for (const [args, line] of cases) {
      const { code, stderr } = await cli(["bench", "--policy", "oracle", "--limit", "2", ...args]);
      expect({ code, stderr: stderr.trim() }).toEqual({ code: 1, stderr: line });
    }
    expect(await readFile(join(run, "trajectories.jsonl"), "utf8")).toBe(log);
    expect((await readdir(root)).sort()).toEqual(["memory", "run"]);
    expect(await readdir(memory)).toEqual(["index"]);
  }, 60_000);

  it("runs the examples its tool --help gives, on the bundled wiki", async () => {
    const help = (await cli(["tool", "--help"])).stdout;
    const examples = [...help.matchAll(/^ {2}react-rl tool (search|lookup|code|python) "([^"]+)"(?: --page "([^"]+)")?$/gm)];
    expect(examples.map((m) => m[1])).toEqual(["search", "lookup", "code", "python"]);
    for (const [, name, argument, page] of examples) {
      const { code, stdout } = await cli(["tool", name!, argument!, ...(page ? ["--page", page] : [])]);
      expect({ code, found: !/^(Could not find|No more results)/.test(stdout) }).toEqual({ code: 0, found: true });
    }
  }, 60_000);

  it("calls one tool from the shell", async () => {
    const { code, stdout } = await cli(["tool", "search", "nonexistent page title zzz"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Could not find nonexistent page title zzz\. Similar: \[.*\]\.$/m);
    expect(await cli(["tool", "search", " "])).toMatchObject({ code: 2, stderr: "react-rl tool: search needs an ARGUMENT that is not blank; see react-rl tool --help\n" });
  });

  it("looks up a keyword on the page named, and says in one line when there is no such page or none named", async () => {
    const found = await cli(["tool", "lookup", "Qatar", "--page", "northwestern  university"]);
    expect(found).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\(Result 1 \/ 1\) Northwestern University .*Doha, Qatar/) });
    const misspelt = await cli(["tool", "lookup", "Qatar", "--page", "Northwestern Universty"]);
    expect({ code: misspelt.code, stderr: misspelt.stderr.trim() }).toEqual({
      code: 1,
      stderr: expect.stringMatching(/^react-rl tool: no page 'Northwestern Universty' in .*hotpotqa-dev-300\.jsonl; similar titles: Northwestern University, [^\n]*$/),
    });
    const unlike = await cli(["tool", "lookup", "Qatar", "--page", "zzqx"]);
    expect(unlike.stderr.trim()).toMatch(/^react-rl tool: no page 'zzqx' in \S*hotpotqa-dev-300\.jsonl$/);
    const unnamed = await cli(["tool", "lookup", "born"]);
    expect({ code: unnamed.code, stderr: unnamed.stderr.trim() }).toEqual({ code: 2, stderr: "react-rl tool: lookup needs --page TITLE: the page to look in; see react-rl tool --help" });
  }, 60_000);

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

describe("number flags", () => {
  const ranges: [string, z.ZodNumber][] = [
    ["a number", z.number()],
    ["a whole number", z.number().int()],
    ["a whole number of at least 1", z.number().int().positive()],
    ["a whole number from 1 to 1024", z.number().int().min(1).max(1024)],
    ["a whole number of at most 9", z.number().int().lt(10)],
    ["a number from 0 to 2", z.number().min(0).max(2)],
    ["a number above 0", z.number().positive()],
    ["a number above 0 and at most 1", z.number().gt(0).max(1)],
    ["a number of at least 0 and below 1", z.number().min(0).lt(1)],
  ];

  it.each(ranges)("read '%s' off their schema", (words, schema) => {
    expect(numberRange(schema)).toBe(words);
  });

  it("take what node's parser gives, and say the range when it is out of it", () => {
    const limit = numberFlag(z.number().int().positive());
    expect(limit.parse("12")).toBe(12);
    for (const given of ["-1", "0", "1.5", "zero", "Infinity"]) {
      expect(limit.safeParse(given).error?.issues.map((issue) => issue.message)).toEqual(["expected a whole number of at least 1"]);
    }
  });
});

describe("train pretrain --preset", () => {
  it("gives the preset's shape, each shape flag in place of its field", () => {
    expect(pretrainConfig({ preset: "small" })).toEqual(DEFAULT_MODEL_CONFIG);
    expect(pretrainConfig({ preset: "large" })).toEqual({ ...DEFAULT_MODEL_CONFIG, dModel: 512, nLayers: 8, nHeads: 8, contextLength: 1024, vocabSize: 1024 });
    expect(pretrainConfig({ preset: "large", layers: 4, context: 512, vocab: undefined })).toEqual({ ...MODEL_PRESETS.large, nLayers: 4, contextLength: 512 });
    expect(pretrainConfig({ preset: "small", "d-model": 64, heads: 2, vocab: 300 })).toEqual({ ...DEFAULT_MODEL_CONFIG, dModel: 64, nHeads: 2, vocabSize: 300 });
    expect(() => pretrainConfig({ preset: "large", heads: 7 })).toThrow(UserError);
  });

  it("refuses an unknown preset, or a shape that does not hold, in one line before any work", async () => {
    const out = join(await tempDir(), "pt");
    const cases: [string[], string][] = [
      [["--preset", "huge"], "react-rl train pretrain: invalid --preset: expected small or large"],
      [["--preset", "larg"], "react-rl train pretrain: invalid --preset: expected small or large (did you mean large?)"],
      [["--preset", "large", "--heads", "7"], "react-rl train pretrain: invalid model shape (d512, 8 layers, 7 heads, context 1024, vocab 1024): dModel: must be a multiple of nHeads"],
    ];
    const answers = await Promise.all(cases.map(([args]) => cli(["train", "pretrain", "--out", out, ...args])));
    expect(answers.map(({ code, stderr }) => [code, stderr.trim()])).toEqual(cases.map(([, line]) => [1, line]));
    await expect(readdir(out)).rejects.toThrow(); // nothing written
  }, 60_000);

  it("npm run train:large passes its flags to both stages, and stops at the first that fails", async () => {
    const recipe = (args: string[]) => run(process.execPath, [RECIPE, ...args]).then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (e: { code: number; stdout: string; stderr: string }) => e);
    const [help, bad] = await Promise.all([recipe(["--help"]), recipe(["--bogus"])]);
    expect(help.code).toBe(0);
    expect(help.stderr).toContain("> react-rl train pretrain --force --preset large --out runs/large/pretrain");
    expect(help.stdout).toContain("usage: react-rl train pretrain --out DIR");
    expect(help.stdout).toContain("usage: react-rl train sft --from DIR --out DIR");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("react-rl train pretrain: unknown option --bogus");
    expect(bad.stderr).not.toContain("train sft");
  }, 60_000);
});

describe("train pretrain and sft --out", () => {
  const tiny = ["--steps", "2", "--batch-size", "1", "--d-model", "16", "--layers", "1", "--heads", "1", "--context", "160", "--vocab", "300"];

  it("never replace what --out holds, except a checkpoint with --force", async () => {
    const root = await tempDir();
    const out = join(root, "pt");
    expect((await cli(["train", "pretrain", "--out", out, ...tiny])).code).toBe(0);
    const manifest = await readFile(join(out, "manifest.json"), "utf8");
    expect(JSON.parse(manifest).meta).toMatchObject({ stage: "pretrain", done: true, steps: 2 }); // what train:large reads to keep a finished stage

    const again = await cli(["train", "pretrain", "--out", out, ...tiny, "--seed", "5"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("holds a finished pretrain checkpoint");
    expect(again.stderr).not.toContain("TensorFlow.js in Node.js"); // tfjs's banner when the checkpoint was read on its plain-JS backend
    expect(await readFile(join(out, "manifest.json"), "utf8")).toBe(manifest);
    expect((await cli(["train", "pretrain", "--out", out, ...tiny, "--seed", "5", "--force"])).code).toBe(0);

    const notes = join(root, "notes");
    await mkdir(notes);
    await writeFile(join(notes, "keep.txt"), "mine");
    const refused = await cli(["train", "pretrain", "--out", notes, ...tiny, "--force"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("is not a checkpoint");
    expect(await readFile(join(notes, "keep.txt"), "utf8")).toBe("mine");
  }, 120_000); // five training runs, each a CLI process

  it("train sft names a --from that does not exist, and never writes over it", async () => {
    const dir = await tempDir();
    const missing = await cli(["train", "sft", "--from", join(dir, "nope"), "--out", join(dir, "sft")]);
    expect({ code: missing.code, last: missing.stderr.trim().split("\n").at(-1) }).toEqual({ code: 1, last: `react-rl train sft: checkpoint not found: ${join(dir, "nope")}` });
    const over = await cli(["train", "sft", "--from", "models/hopworld-base", "--out", "./models/hopworld-base/", "--force"]);
    expect({ code: over.code, stderr: over.stderr }).toEqual({ code: 1, stderr: "react-rl train sft: --out is --from: write the fine-tuned checkpoint to a folder of its own, not over the one it starts from\n" });
    expect(await readdir(dir)).toEqual([]);
  });

  it("resumes an unfinished run only on the dataset (sft) or the shape (pretrain) it started with", async () => {
    const root = await tempDir();
    const pretrained = join(root, "pt");
    expect((await cli(["train", "pretrain", "--out", pretrained, ...tiny])).code).toBe(0);
    const { model, tokenizer, meta } = await loadCheckpoint(pretrained);
    // The shape asked for; no preset, as the flags changed every field of it
    expect(meta).toMatchObject({ shape: "d16, 1 layers, 1 heads, context 160, vocab 300", done: true, steps: 2 });
    expect(meta).not.toHaveProperty("preset");
    const optimizer = new AdamW(model, { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 });
    // An unfinished pretrain: optimizer state saved, not marked done
    const pretraining = join(root, "pt-unfinished");
    await saveCheckpoint(pretraining, { model, tokenizer, optimizer, meta: { stage: "pretrain", shape: meta.shape } });
    const wider = tiny.map((value, i) => (tiny[i - 1] === "--d-model" ? "32" : value));
    const other = await cli(["train", "pretrain", "--out", pretraining, ...wider]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("an unfinished pretrain run of shape d16, 1 layers");
    expect((await cli(["train", "pretrain", "--out", pretraining, ...tiny])).stderr).toContain(`resuming ${pretraining}`);
    // An unfinished SFT run on arithmetic
    const unfinished = join(root, "sft");
    await saveCheckpoint(unfinished, { model, tokenizer, optimizer, meta: { stage: "sft", dataset: "arithmetic" } });
    const sft = await cli(["train", "sft", "--from", pretrained, "--out", unfinished, "--steps", "2", "--batch-size", "1", "--examples", "2"]);
    expect(sft.code).toBe(1);
    expect(sft.stderr).toContain("an unfinished sft run of dataset arithmetic");
    // A kill between the two renames of a save left the checkpoint aside: it resumes all the same
    await rename(unfinished, join(root, `.sft.${randomUUID()}.tmp.old`));
    const resumed = await cli(["train", "sft", "--from", pretrained, "--out", unfinished, "--dataset", "arithmetic", "--steps", "2", "--batch-size", "1", "--examples", "2"]);
    expect(resumed.stderr).toContain(`resuming ${unfinished}`);
    expect(resumed.code).toBe(0);
    // It records the prompt it was fine-tuned with, which the planner's episodes then default to
    expect((await loadCheckpoint(unfinished)).meta).toMatchObject({ dataset: "arithmetic", prompt: await loadPrompt("arithmetic"), done: true });
    expect((await readdir(root)).sort()).toEqual(["pt", "pt-unfinished", "sft"]);
    optimizer.dispose();
    disposeModel(model);
  });
});
