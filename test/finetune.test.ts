import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { checkTrainingFile, followFineTune, startFineTune, type FineTuningJob } from "../src/finetune/index.ts";
import { createOpenAIClient } from "../src/policies/openai.ts";
import { startFakeFineTuneServer, type FakeFineTuneServer } from "./helpers/fake-openai-finetune-server.ts";
import { cli, lastJson } from "./helpers/cli.ts";

const fixture = (name: string) => new URL(`./fixtures/export/${name}`, import.meta.url).pathname;
const SFT_FILE = fixture("openai-sft.success-only.jsonl");
const DPO_FILE = fixture("openai-dpo.jsonl");



let server: FakeFineTuneServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("checkTrainingFile", () => {
  it("reads the method from the first record and checks every line", async () => {
    expect(await checkTrainingFile(SFT_FILE)).toEqual({ path: SFT_FILE, method: "sft", examples: 2 });
    expect(await checkTrainingFile(DPO_FILE)).toEqual({ path: DPO_FILE, method: "dpo", examples: 2 });
  });

  it("names the line and the problem when a file does not fit its method", async () => {
    await expect(checkTrainingFile(SFT_FILE, "dpo")).rejects.toThrow(/openai-sft.success-only.jsonl:1: not an openai-dpo record/);
    const dir = await mkdtemp(join(tmpdir(), "react-rl-ft-"));
    const bad = join(dir, "bad.jsonl");
    const [first] = (await readFile(SFT_FILE, "utf8")).split("\n");
    await writeFile(bad, `${first}\n${JSON.stringify({ messages: [{ role: "user", content: "hi" }, { role: "robot", content: "x" }] })}\n`);
    await expect(checkTrainingFile(bad)).rejects.toThrow(UserError);
    await expect(checkTrainingFile(bad)).rejects.toThrow(/bad\.jsonl:2: not an openai-sft record \(messages\.1/);
    await expect(checkTrainingFile(join(dir, "missing.jsonl"))).rejects.toThrow(/file not found/);
  });
});

describe("fine-tuning through the openai SDK against a server on 127.0.0.1", () => {
  it("uploads the file's bytes, starts a supervised job and follows it to success", async () => {
    server = await startFakeFineTuneServer({ apiKey: "sk-test" });
    const client = createOpenAIClient({ baseURL: server.baseURL, apiKey: "sk-test" });
    const training = await checkTrainingFile(SFT_FILE);
    const job = await startFineTune(client, training, { model: "gpt-4.1-mini-2025-04-14", suffix: "react" });

    expect(server.uploads).toEqual([{ purpose: "fine-tune", filename: "openai-sft.success-only.jsonl", text: await readFile(SFT_FILE, "utf8") }]);
    expect(server.created).toEqual([{ model: "gpt-4.1-mini-2025-04-14", training_file: "file-1", suffix: "react", method: { type: "supervised" } }]);

    const events: string[] = [];
    const statuses: string[] = [];
    const done = await followFineTune(client, job.id, {
      pollMs: 1,
      onEvent: (e) => events.push(e.message),
      onStatus: (j: FineTuningJob) => statuses.push(j.status),
    });
    expect(done).toMatchObject({ status: "succeeded", fine_tuned_model: "ft:gpt-4.1-mini-2025-04-14:fake:react:1" });
    expect(statuses).toEqual(["queued", "running", "succeeded"]);
    expect(events).toEqual(["Validating training file", "Fine-tuning job queued", "Fine-tuning job started", "The job has successfully completed"]);
  });

  it("starts a DPO job for a preference file", async () => {
    server = await startFakeFineTuneServer();
    const client = createOpenAIClient({ baseURL: server.baseURL });
    await startFineTune(client, await checkTrainingFile(DPO_FILE), { model: "m" });
    expect(server.created[0]).toMatchObject({ method: { type: "dpo" } });
  });

  it("turns a refused request into a UserError with the server's message", async () => {
    server = await startFakeFineTuneServer({ apiKey: "sk-right" });
    const client = createOpenAIClient({ baseURL: server.baseURL, apiKey: "sk-wrong", maxRetries: 0 });
    await expect(startFineTune(client, await checkTrainingFile(SFT_FILE), { model: "m" })).rejects.toThrow(/rejected the API key/);
    const keyed = createOpenAIClient({ baseURL: server.baseURL, apiKey: "sk-right", maxRetries: 0 });
    await expect(followFineTune(keyed, "ftjob-nope", { pollMs: 1 })).rejects.toThrow(UserError);
  });
});

describe("react-rl finetune", () => {
  it("checks, uploads, starts and follows a job, printing its events", async () => {
    server = await startFakeFineTuneServer();
    const args = ["finetune", "--file", SFT_FILE, "--model", "base-model", "--base-url", server.baseURL, "--poll-seconds", "0.01"];
    const { code, stdout } = await cli(args);
    expect(code).toBe(0);
    expect(stdout).toContain("2 sft examples, checked");
    expect(stdout).toMatch(/Validating training file[\s\S]*Fine-tuning job started[\s\S]*status: succeeded/);
    expect(stdout).toContain("fine-tuned model: ft:base-model:fake:run:1");
    expect(lastJson(stdout)).toEqual({ job: "ftjob-1", status: "succeeded", model: "ft:base-model:fake:run:1" });
  });

  it("exits 1 with the server's reason when the job fails; --job follows a job started with --no-wait", async () => {
    server = await startFakeFineTuneServer({ outcome: "failed" });
    const started = await cli(["finetune", "--file", DPO_FILE, "--model", "m", "--base-url", server.baseURL, "--no-wait"]);
    expect(started.code).toBe(0);
    expect(lastJson(started.stdout)).toEqual({ job: "ftjob-1", status: "validating_files", model: null });
    expect(server.requests.filter((r) => r.startsWith("GET"))).toEqual([]);

    const followed = await cli(["finetune", "--job", "ftjob-1", "--base-url", server.baseURL, "--poll-seconds", "0.01"]);
    expect(followed.code).toBe(1);
    expect(followed.stderr).toContain("job failed: Training file has too few examples (invalid_training_file)");
    expect(lastJson(followed.stdout)).toMatchObject({ status: "failed", model: null });
  });

  it("says clearly when there is no key, and checks the file before any upload", async () => {
    const noKey = await cli(["finetune", "--file", SFT_FILE, "--model", "m"]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain("OPENAI_API_KEY");
    expect(noKey.stderr).not.toMatch(/\n\s+at /);
    // A missing file is the mistake to name first, key or no key
    expect((await cli(["finetune", "--file", "no-such-file.jsonl", "--model", "m"])).stderr).toBe("react-rl finetune: file not found: no-such-file.jsonl\n");

    server = await startFakeFineTuneServer();
    const wrong = await cli(["finetune", "--file", SFT_FILE, "--method", "dpo", "--model", "m", "--base-url", server.baseURL]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^react-rl finetune: .*:1: not an openai-dpo record/);
    expect(server.requests).toEqual([]);

    const missing = await cli(["finetune", "--model", "m", "--base-url", server.baseURL]);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({
      code: 2,
      stderr: "react-rl finetune: --file and --model are required to start a job (or --job ID to follow one); see react-rl finetune --help\n",
    });
    const both = await cli(["finetune", "--job", "ftjob-1", "--file", SFT_FILE, "--base-url", server.baseURL]);
    expect({ code: both.code, stderr: both.stderr }).toEqual({ code: 2, stderr: "react-rl finetune: --job follows a job started earlier: it takes no --file or --model; see react-rl finetune --help\n" });
    expect(server.requests).toEqual([]);
  });
});
