// `npm run train:large [-- FLAGS]`: the large planner's recipe, as `npm run train:base` is the
// small one's: pretrain the `large` preset into runs/large/pretrain, then fine-tune it on expert
// episodes into runs/large/sft. FLAGS go to both commands, after the recipe's own, so they win:
// `-- --backend webgpu` trains on a GPU; `-- --steps 3` is a quick trial of both stages.
// Each command is printed before it runs; the first to fail stops the recipe with its exit code.
// A rerun keeps a stage its folder holds finished with the steps asked for (an unfinished one
// resumes), so an interrupted SFT does not cost the pretraining again; once a stage trains,
// every later one trains anew.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../bin/react-rl.mjs", import.meta.url));
const stages = [
  // 27.8M parameters. 96 other worlds' pages (about 67,000 rows of 128 tokens, four times the
  // base's 24 worlds, seeds 2 to 97) read about twice: 2,000 steps of 64 rows. Peak rate half
  // the small model's, as a wider model takes smaller steps.
  ["train", "pretrain", "--force", "--preset", "large", "--out", "runs/large/pretrain", "--extra-worlds", "96", "--steps", "2000", "--batch-size", "64", "--lr", "1e-3"],
  // All 3,000 of world 1's training questions, read 3.2 times as the base's SFT reads them
  // (600 steps of 16 episodes, against 1,200 of 8); again half the small model's rate.
  ["train", "sft", "--force", "--from", "runs/large/pretrain", "--out", "runs/large/sft", "--examples", "3000", "--steps", "600", "--batch-size", "16", "--lr", "5e-4"],
];

/** The value of a command's last `flag` (the user's, after the recipe's, wins). */
const lastValue = (command, flag) => command[command.lastIndexOf(flag) + 1];

/** The steps the finished checkpoint in `dir` trained; undefined for none, or an unfinished one. */
function finishedSteps(dir) {
  try {
    const { meta } = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    return meta?.done === true ? meta.steps : undefined;
  } catch {
    return undefined;
  }
}

// Every stage from here on runs: help is each one's to print, and a stage trained anew leaves the later ones stale
let runRest = process.argv.includes("--help");
for (const args of stages) {
  const command = [...args, ...process.argv.slice(2)];
  const [out, steps] = [lastValue(command, "--out"), Number(lastValue(command, "--steps"))];
  if (!runRest && finishedSteps(out) === steps) {
    console.error(`${out} holds this stage finished (${steps} steps): kept; remove it to train it again`);
    continue;
  }
  runRest = true;
  console.error(`> react-rl ${command.join(" ")}`);
  const { status, signal } = spawnSync(process.execPath, [cli, ...command], { stdio: "inherit" });
  if (signal) process.kill(process.pid, signal);
  if (status !== 0) process.exit(status ?? 1);
}
