// react-rl view: the viewer's API on a small run folder, and its page in headless Chromium.
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.ts";
import { serveViewer, type Viewer } from "../src/report/viewer.ts";
import type { Trajectory } from "../trajectories/index.ts";
import { CLI_BIN } from "./helpers/cli.ts";
import { decodePng } from "./helpers/png.ts";
import { makeTrajectory } from "./helpers/trajectory.ts";

const run = promisify(execFile);

const BRIDGE = "Where was the author of Green Stone born?";
const COMPARISON = "Who was born later, Mako Dandlul or Drorste Brobrond?";

/** An episode of `question` taking `actions`, each answered by its observation; it succeeds when it finishes with the gold answer. */
function episode(id: string, type: string, question: string, gold: string, actions: [string, string][]): Trajectory {
  const answer = /^Finish\[(.*)\]$/.exec(actions.at(-1)![0])?.[1] ?? null;
  const em = answer === gold ? 1 : 0;
  const base = makeTrajectory(id, em, actions.length);
  return {
    ...base,
    question,
    type,
    gold,
    answer,
    steps: actions.map(([action, observation], i) => ({ ...base.steps[i]!, thought: `I look up step ${i + 1}.`, action, observation })),
  };
}

const before = [
  episode("test-00001", "bridge2", BRIDGE, "Vaherby", [
    ["Search[Green Stone]", "Green Stone is a novel by Mako Dandlul."],
    ["Finish[Paris]", "Episode finished."],
  ]),
  episode("test-00002", "comparison", COMPARISON, "Mako Dandlul", [["Finish[Mako Dandlul]", "Episode finished."]]),
];
const after = [
  episode("test-00001", "bridge2", BRIDGE, "Vaherby", [
    ["Search[Green Stone]", "Green Stone is a novel by Mako Dandlul."],
    ["Search[Mako Dandlul]", "Mako Dandlul (born 1967) is a poet. He was born in Vaherby."],
    ["Finish[Vaherby]", "Episode finished."],
  ]),
  episode("test-00002", "comparison", COMPARISON, "Mako Dandlul", [["Finish[Mako Dandlul]", "Episode finished."]]),
];

const jsonl = (episodes: Trajectory[]) => episodes.map((e) => `${JSON.stringify(e)}\n`).join("");

let dir: string;
let viewer: Viewer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "react-rl-view-"));
  for (const [stage, episodes] of [["before", before], ["after", after]] as const) {
    await mkdir(join(dir, stage));
    await writeFile(join(dir, stage, "trajectories.jsonl"), jsonl(episodes));
  }
  await writeFile(join(dir, "metrics.jsonl"), `${JSON.stringify({ round: 1, success: 0.5 })}\n`);
  await writeFile(join(dir, "notes.jsonl"), "not a trajectory\n");
  // A log outside the folder, linked from inside it: never listed, never served.
  const outside = await mkdtemp(join(tmpdir(), "react-rl-outside-"));
  await writeFile(join(outside, "secret.jsonl"), jsonl([{ ...before[0]!, question: "a secret question?" }]));
  await symlink(join(outside, "secret.jsonl"), join(dir, "linked.jsonl"));
  await symlink(outside, join(dir, "linked-folder"));
  viewer = await serveViewer(dir, 0);
});

afterAll(() => viewer?.close());

async function get(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(new URL(path, viewer.url), init);
  return { status: response.status, body: await response.json() };
}

describe("the viewer's API", () => {
  it("lists the folder's trajectory logs, with why one cannot be read, and nothing outside the folder", async () => {
    const { body } = await get("/api/logs");
    expect(body.logs.map((log: { path: string }) => log.path)).toEqual(["after/trajectories.jsonl", "before/trajectories.jsonl", "notes.jsonl"]);
    expect(viewer.logsFound).toBe(3);
    expect(body.logs[1]).toMatchObject({ episodes: 2, success: 0.5, types: ["bridge2", "comparison"] });
    expect(body.logs[2].error).toMatch(/^notes\.jsonl:1: not valid JSON/);
    for (const file of ["linked.jsonl", "linked-folder/secret.jsonl", "../before/trajectories.jsonl", join(dir, "before", "trajectories.jsonl"), "notes.jsonl", "metrics.jsonl"]) {
      expect(await get(`/api/episode?file=${encodeURIComponent(file)}&index=0`)).toMatchObject({ status: 404 });
    }
  });

  it("counts no log in a folder that holds none yet (the CLI says so)", async () => {
    const empty = await serveViewer(await mkdtemp(join(tmpdir(), "react-rl-empty-")), 0);
    try {
      expect(empty.logsFound).toBe(0);
    } finally {
      await empty.close();
    }
  });

  it("filters episodes by outcome, family and text, and pairs them with another log's outcome on the same question", async () => {
    const ids = async (query: string) => ((await get(`/api/episodes?${query}`)).body.episodes as { id: string }[]).map((e) => e.id);
    const file = "file=before/trajectories.jsonl";
    expect(await ids(file)).toEqual(["test-00001", "test-00002"]);
    expect(await ids(`${file}&outcome=success`)).toEqual(["test-00002"]);
    expect(await ids(`${file}&outcome=failure`)).toEqual(["test-00001"]);
    expect(await ids(`${file}&type=bridge2`)).toEqual(["test-00001"]);
    expect(await ids(`${file}&search=drorste`)).toEqual(["test-00002"]);
    const compared = `${file}&compare=after/trajectories.jsonl`;
    expect((await get(`/api/episodes?${compared}`)).body.episodes.map((e: { other: number }) => e.other)).toEqual([1, 1]);
    expect(await ids(`${compared}&change=fixed`)).toEqual(["test-00001"]);
    expect(await ids(`${compared}&change=same`)).toEqual(["test-00002"]);
    expect(await ids(`${compared}&change=broken`)).toEqual([]);

    const { body } = await get("/api/episode?file=after/trajectories.jsonl&index=0");
    expect(body.episode.steps.map((s: { action: string }) => s.action)).toEqual(["Search[Green Stone]", "Search[Mako Dandlul]", "Finish[Vaherby]"]);
    expect((await get("/api/question?file=after/trajectories.jsonl&id=test-00002")).body.episodes).toHaveLength(1);
  });

  it("refuses bad query parameters, other hosts and other methods", async () => {
    const refused = [
      ["/api/episodes?file=before/trajectories.jsonl&colour=red", 400, /colour/],
      ["/api/episodes?file=before/trajectories.jsonl&outcome=maybe", 400, /outcome/],
      ["/api/episodes?file=before/trajectories.jsonl&change=fixed", 400, /change needs compare/],
      ["/api/episodes", 400, /file/],
      ["/api/episode?file=before/trajectories.jsonl&index=-1", 400, /index/],
      ["/api/episode?file=before/trajectories.jsonl&index=7", 404, /no episode 7/],
      ["/api/episodes?file=before/trajectories.jsonl&compare=nowhere.jsonl", 404, /nowhere\.jsonl/],
      ["/before/trajectories.jsonl", 404, /nothing at/],
    ] as const;
    for (const [path, status, error] of refused) {
      const { status: got, body } = await get(path);
      expect([path, got, body.error]).toEqual([path, status, expect.stringMatching(error)]);
    }
    expect((await get("/api/logs", { method: "POST" })).status).toBe(405);
    // A page of another site that resolves its name to 127.0.0.1 (DNS rebinding) names its own host.
    const rebound = await new Promise<number>((resolve, reject) => {
      import("node:http").then(({ request }) => {
        const { port } = new URL(viewer.url);
        request({ host: "127.0.0.1", port, path: "/api/logs", headers: { host: "attacker.example" } }, (response) => resolve(response.statusCode!))
          .on("error", reject)
          .end();
      }, reject);
    });
    expect(rebound).toBe(403);
  });
});

/** Headless Chromium, with a profile of its own (runs may overlap); its stdout. */
async function chromium(args: string[]): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), "chromium-profile-"));
  const flags = ["--headless", "--disable-gpu", "--no-sandbox", `--user-data-dir=${profile}`, "--virtual-time-budget=5000", ...args];
  try {
    return (await run("chromium", flags, { maxBuffer: 1 << 24, timeout: 60_000 })).stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new Error("these tests need headless Chromium: apt-get install chromium (.ci/run installs it)");
    throw error;
  }
}

/** The page's text once its script has run, without tags. */
async function pageText(query = ""): Promise<string> {
  const dom = await chromium(["--dump-dom", `${viewer.url}${query}`]);
  return dom.replace(/<script>[\s\S]*<\/script>/, "").replace(/<[^>]+>/g, " ").replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&amp;/g, "&");
}

describe("the viewer's page in headless Chromium", () => {
  it("shows the first episode before and after, filters the list, and goes step by step", async () => {
    const page = await pageText();
    // The demo's layout: before/ compared with after/ by default.
    expect(page).toContain(BRIDGE);
    expect(page).toContain("Action 1: Search[Green Stone]");
    expect(page).toContain("Observation 1: Green Stone is a novel by Mako Dandlul.");
    expect(page).toContain("Action 2: Finish[Paris]"); // before
    expect(page).toContain("Action 3: Finish[Vaherby]"); // after
    expect(page).toContain("2 episodes");
    expect(page).toContain("notes.jsonl: not a trajectory log (notes.jsonl:1: not valid JSON)");

    // Filtered to the questions after/ fixed, the first step of the first of them.
    const firstStep = await pageText("?file=before/trajectories.jsonl&compare=after/trajectories.jsonl&change=fixed&step=1");
    expect(firstStep).toContain("1 episodes");
    expect(firstStep).not.toContain(COMPARISON);
    expect(firstStep).toContain("step 1 of 3");
    expect(firstStep).toContain("Action 1: Search[Green Stone]");
    expect(firstStep).not.toContain("Action 2:");
  }, 120_000);

  it("renders episodes in a screenshot: the right size, not blank, text in the episode pane", async () => {
    const file = join(dir, "screenshot.png");
    await chromium([`--screenshot=${file}`, "--window-size=1024,700", "--hide-scrollbars", viewer.url]);
    const image = decodePng(await readFile(file));
    expect([image.width, image.height]).toEqual([1024, 700]);
    const colours = new Set<string>();
    let dark = 0; // text pixels in the episode pane (right of the list)
    for (let y = 0; y < image.height; y += 2) {
      for (let x = 0; x < image.width; x += 2) {
        const [r, g, b] = image.pixel(x, y) as [number, number, number];
        colours.add(`${r >> 4},${g >> 4},${b >> 4}`);
        if (x > 0.4 * image.width && y > 100 && r + g + b < 200) dark += 1;
      }
    }
    expect(colours.size).toBeGreaterThan(20);
    expect(dark).toBeGreaterThan(500);
  }, 120_000);
});

describe("react-rl view", () => {
  it("prints its address, serves the page there, and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, [CLI_BIN, "view", dir, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.on("exit", (code) => reject(new Error(`view exited with ${code} before printing its address`)));
    });
    expect(await (await fetch(url)).text()).toContain("<title>react-rl view</title>");
    const exit = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
  }, 60_000);

  it("says in one line what is wrong with its arguments", async () => {
    const { port } = new URL(viewer.url);
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => errors.push(line);
    try {
      expect(await main(["view"])).toBe(2);
      expect(await main(["view", join(dir, "nowhere")])).toBe(1);
      expect(await main(["view", dir, "--port", port])).toBe(1);
      expect(await main(["view", dir, "--port", "70000"])).toBe(1);
    } finally {
      console.error = original;
    }
    expect(errors).toEqual([
      "react-rl view: missing RUN_DIR; see react-rl view --help",
      `react-rl view: ${join(dir, "nowhere")} is not a folder: name a run folder (the --out of bench, train or demo)`,
      `react-rl view: port ${port} is in use: pick another with --port N (0 picks a free one)`,
      "react-rl view: invalid --port: expected a whole number from 0 to 65535",
    ]);
  });
});
