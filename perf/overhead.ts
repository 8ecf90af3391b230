/**
 * The runtime's own time per step, next to LangChain.js `createAgent`, on the same
 * episodes: the oracle plans for react-rl and a fake chat model replays the same
 * tool calls for LangChain, over the same wiki tools. Policy/model and tool time
 * are measured and taken out on our side; on LangChain's side tool time is taken
 * out and the fake model's trivial work is counted as framework (it is LangChain code).
 *
 *   npm run bench:overhead [-- --episodes N]
 */
import { parseArgs } from "node:util";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { tool } from "@langchain/core/tools";
import { createAgent } from "langchain";
import { z } from "zod";
import type { Environment } from "../tools/environment.ts";
import { Docstore, WikiEnvironment, type QaTask } from "../tools/wiki/index.ts";
import { runEpisode } from "../src/agent/episode.ts";
import { loadDataset } from "../src/suites/datasets.ts";
import { HOTPOTQA_SAMPLE } from "../src/suites/bundled.ts";
import { OraclePolicy } from "../src/policies/oracle.ts";

const { values } = parseArgs({ options: { episodes: { type: "string", default: "300" } } });
const episodes = Number(values.episodes);
const tasks = (await loadDataset(HOTPOTQA_SAMPLE)).slice(0, episodes);
const docstore = Docstore.fromTasks(tasks);

/** Wraps an environment so the time spent in its tools is known. */
function timed(environment: Environment<QaTask>, clock: { toolMs: number }): Environment<QaTask> {
  return {
    tools: environment.tools,
    reset: (task) => environment.reset(task),
    async step(action) {
      const start = performance.now();
      const result = await environment.step(action);
      clock.toolMs += performance.now() - start;
      return result;
    },
  };
}

async function reactRl() {
  const clock = { toolMs: 0 };
  const oracle = new OraclePolicy();
  let steps = 0;
  let policyMs = 0;
  const start = performance.now();
  for (const task of tasks) {
    const trajectory = await runEpisode(oracle, timed(new WikiEnvironment(docstore), clock), { task });
    steps += trajectory.steps.length;
    policyMs += trajectory.steps.reduce((sum, s) => sum + s.latencyMs, 0);
  }
  const wallMs = performance.now() - start;
  return { steps, wallMs, frameworkMs: wallMs - policyMs - clock.toolMs };
}

/** The same episodes as tool calls for LangChain: Search each supporting title, then Finish (which ends the run). */
async function langChain() {
  const clock = { toolMs: 0 };
  let environment = timed(new WikiEnvironment(docstore), clock);
  let calls = 0;
  const act = (name: string) => async (argument: string) => {
    calls += 1;
    return (await environment.step({ name, argument })).observation;
  };
  const asTool = (name: string, returnDirect = false) =>
    tool(async ({ input }: { input: string }) => act(name)(input), {
      name,
      description: `${name}[input] in the wiki`,
      schema: z.object({ input: z.string() }),
      returnDirect,
    });
  let model = fakeModel();
  let steps = 0;
  for (const [i, task] of tasks.entries()) {
    for (const [j, title] of [...new Set(task.supportingFacts.map(([t]) => t))].entries()) {
      model = model.respondWithTools([{ name: "Search", args: { input: title }, id: `${i}-${j}` }]);
      steps += 1;
    }
    model = model.respondWithTools([{ name: "Finish", args: { input: task.answer }, id: `${i}-finish` }]);
    steps += 1;
  }
  model = model.respond(new AIMessage("done"));
  const agent = createAgent({ model, tools: [asTool("Search"), asTool("Lookup"), asTool("Finish", true)] });
  const start = performance.now();
  for (const task of tasks) {
    environment = timed(new WikiEnvironment(docstore), clock);
    await environment.reset(task);
    await agent.invoke({ messages: [new HumanMessage(task.question)] }, { recursionLimit: 50 });
  }
  const wallMs = performance.now() - start;
  if (calls !== steps) throw new Error(`LangChain made ${calls} tool calls, expected ${steps}`);
  return { steps, wallMs, frameworkMs: wallMs - clock.toolMs };
}

// One untimed round each first, so both are measured with warm JIT and caches.
await reactRl();
await langChain();
const ours = await reactRl();
const theirs = await langChain();
const perStep = (r: { frameworkMs: number; steps: number }) => (1000 * r.frameworkMs) / r.steps;
const row = (name: string, r: typeof ours) =>
  `${name.padEnd(22)} ${String(r.steps).padStart(6)} ${r.wallMs.toFixed(0).padStart(9)} ${perStep(r).toFixed(1).padStart(16)}`;
console.log(`episodes: ${tasks.length} (bundled HotpotQA sample, oracle plan)`);
console.log(`${"framework".padEnd(22)} ${"steps".padStart(6)} ${"wall ms".padStart(9)} ${"overhead µs/step".padStart(16)}`);
console.log(row("react-rl runEpisode", ours));
console.log(row("LangChain createAgent", theirs));
console.log(`ratio (LangChain / react-rl overhead per step): ${(perStep(theirs) / perStep(ours)).toFixed(1)}x`);
console.log(JSON.stringify({ episodes: tasks.length, reactRlUsPerStep: perStep(ours), langChainUsPerStep: perStep(theirs) }));
