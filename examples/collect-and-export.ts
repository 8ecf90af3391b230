// From episodes to fine-tuning data: collect trajectories, then export them for
// OpenAI fine-tuning (SFT and DPO) and for open trainers (token ids with a loss mask).
//
//   npx tsx examples/collect-and-export.ts [OUT_DIR]
//
// The same from the shell:
//   npx react-rl bench --policy baseline --limit 40 --out runs/collect/baseline
//   npx react-rl export --format openai-sft --success-only --in runs/collect/baseline --out sft.jsonl
import { join } from "node:path";
import {
  BaselinePolicy,
  Docstore,
  exportTrajectories,
  HOTPOTQA_SAMPLE,
  loadDataset,
  loadPrompt,
  OraclePolicy,
  readTrajectories,
  runBenchmark,
  WikiEnvironment,
  withToolList,
  writeExport,
  type Policy,
  type QaTask,
} from "react-rl";

const out = process.argv[2] ?? "runs/example-collect";
const all = await loadDataset(HOTPOTQA_SAMPLE);
const docstore = Docstore.fromTasks(all);
const tasks = all.slice(0, 40);
const prompt = await loadPrompt("hotpotqa"); // the prompt the episodes run with, and the one the exports show

/** Runs a policy on the questions into OUT/NAME (resumable) and returns its trajectories. */
async function collect(name: string, policy: Policy<QaTask>) {
  const dir = join(out, name);
  const { summary } = await runBenchmark({ tasks, policy, environment: () => new WikiEnvironment(docstore), out: dir, template: prompt });
  console.log(`${name}: ${summary.n} episodes, EM ${summary.em.toFixed(3)}`);
  return (await readTrajectories(join(dir, "trajectories.jsonl"))).trajectories;
}

// The policy to improve, and a stand-in expert. With an LLM, the "expert" is the same
// model sampled several times (temperature > 0): its successes against its own failures.
const own = await collect("baseline", new BaselinePolicy());
const expert = await collect("oracle", new OraclePolicy());
// The prompt as the episodes saw it: its {tools} listing the wiki's Search and Lookup
const head = withToolList(prompt, new WikiEnvironment(docstore).tools);

// SFT on the policy's own successes (rejection sampling: keep what earned a reward).
const sft = exportTrajectories(own, { format: "openai-sft", head, filter: { successOnly: true, noInvalid: true } });
await writeExport(join(out, "sft.jsonl"), sft);

// DPO: for each question, a success against a failure of the same question, at the step where they part.
const dpo = exportTrajectories([...expert, ...own], { format: "openai-dpo", head });
await writeExport(join(out, "dpo.jsonl"), dpo);

// Token ids for TRL, verl or OpenRLHF: mask 1 on what the policy wrote, 0 on observations.
const tokens = exportTrajectories(own, { format: "tokens", head });
await writeExport(join(out, "tokens.jsonl"), tokens);

console.log(`sft.jsonl: ${sft.lines.length} conversations (from ${sft.kept} successful episodes)`);
console.log(`dpo.jsonl: ${dpo.lines.length} preference pairs`);
console.log(`tokens.jsonl: ${tokens.lines.length} token records`);
const pair = JSON.parse(dpo.lines[0]!);
console.log(`first pair: preferred ${JSON.stringify(pair.preferred_output[0].content)}`);
console.log(`        non-preferred ${JSON.stringify(pair.non_preferred_output[0].content)}`);
console.log(`next: npx react-rl finetune --file ${join(out, "sft.jsonl")} --model gpt-4.1-mini-2025-04-14`);
