import { parseArgs } from "node:util";
import { TrajectoryFileError } from "../../trajectories/index.ts";
import { UserError } from "../errors.ts";
import { benchCommand, collectCommand } from "./bench.ts";
import { demoCommand } from "./demo.ts";
import type { Command, OptionSpec } from "./command.ts";
import { exportCommand } from "./export.ts";
import { fewshotCommand } from "./fewshot.ts";
import { finetuneCommand } from "./finetune.ts";
import { scoreCommand } from "./score.ts";
import { serveCommand } from "./serve.ts";
import { toolCommand } from "./tool.ts";
import { pretrainCommand, sftCommand } from "./train.ts";
import { trainMethodCommands } from "./train-methods.ts";
import { trajectoriesCommand } from "./trajectories.ts";
import { viewCommand } from "./view.ts";
import { worldCommand } from "./world.ts";
import { VERSION as version } from "../version.ts";

const commands: Command[] = [demoCommand, benchCommand, collectCommand, scoreCommand, toolCommand, trajectoriesCommand, exportCommand, finetuneCommand, fewshotCommand, worldCommand, pretrainCommand, sftCommand, ...trainMethodCommands, serveCommand, viewCommand];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `react-rl ${version}: ReAct agents that learn from their own trial and error

usage: react-rl COMMAND [options]   (react-rl COMMAND --help for its options)

${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}`;
}

/** Runs the CLI and returns its exit code: 0 ok, 1 a user mistake or failure, 2 bad usage. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    console.log(overview());
    return 0;
  }
  if (name === "--version") {
    console.log(version);
    return 0;
  }
  // Two-word commands (`train sft`) come before one-word ones of the same first word.
  const twoWord = commands.find((c) => c.name === `${name} ${rest[0]}`);
  const command = twoWord ?? commands.find((c) => c.name === name);
  if (!command) {
    console.error(`react-rl: unknown command '${name}'\n\n${overview()}`);
    return 2;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: negativeValues(twoWord ? rest.slice(1) : rest, command.options),
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    console.error(`react-rl ${command.name}: ${(error as Error).message}\n\nusage: ${command.usage}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(`usage: ${command.usage}`);
    return 0;
  }
  const { help: _help, ...values } = parsed.values;
  try {
    return await command.run(values, parsed.positionals);
  } catch (error) {
    if (!isUserFacing(error)) throw error;
    console.error(`react-rl ${command.name}: ${error.message}`);
    return 1;
  }
}

/**
 * `--limit -1` as `--limit=-1`: node's parser refuses a value that starts with a dash
 * (it could be a flag), but after a flag that takes a value, a negative number is one.
 */
function negativeValues(args: string[], options: OptionSpec): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const [arg, next] = [args[i]!, args[i + 1]];
    if (arg === "--") return [...joined, ...args.slice(i)];
    const takesValue = arg.startsWith("--") && options[arg.slice(2)]?.type === "string";
    if (takesValue && next !== undefined && /^-\.?\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      i += 1;
    } else joined.push(arg);
  }
  return joined;
}

function isUserFacing(error: unknown): error is Error {
  return error instanceof UserError || error instanceof TrajectoryFileError;
}
