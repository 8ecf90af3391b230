import { parseArgs } from "node:util";
import { TrajectoryFileError } from "../../trajectories/index.ts";
import { UserError } from "../errors.ts";
import { fileSystemRefusal } from "../files.ts";
import { didYouMean } from "../options.ts";
import { benchCommand, collectCommand } from "./bench.ts";
import { demoCommand } from "./demo.ts";
import { type Command, type OptionSpec, UsageError } from "./command.ts";
import { exportCommand } from "./export.ts";
import { fewshotCommand } from "./fewshot.ts";
import { finetuneCommand } from "./finetune.ts";
import { scoreCommand } from "./score.ts";
import { serveCommand } from "./serve.ts";
import { toolCommand } from "./tool.ts";
import { pretrainCommand, sftCommand } from "./train.ts";
import { trainMethodCommands } from "./train-methods.ts";
import { trajectoriesCommands } from "./trajectories.ts";
import { viewCommand } from "./view.ts";
import { worldCommands } from "./world.ts";
import { VERSION as version } from "../version.ts";

/** For bin/react-rl.mjs: once Dawn (the WebGPU backend's GPU) has started, Node does not exit on its own. */
export { dawnStarted } from "../lm/index.ts";

const commands: Command[] = [
  demoCommand,
  benchCommand,
  collectCommand,
  scoreCommand,
  toolCommand,
  ...trajectoriesCommands,
  exportCommand,
  finetuneCommand,
  fewshotCommand,
  ...worldCommands,
  pretrainCommand,
  sftCommand,
  ...trainMethodCommands,
  serveCommand,
  viewCommand,
];

/** A command's words: `["train", "sft"]`. */
const wordsOf = (command: Command) => command.name.split(" ");
/** The commands of a group (`train`): those whose name begins with its word. */
const groupOf = (word: string) => commands.filter((command) => wordsOf(command).length > 1 && wordsOf(command)[0] === word);
/** What may come first: the one-word commands and the groups, in list order. */
const firstWords = () => [...new Set(commands.map((command) => wordsOf(command)[0]!))];

function overview(listed: Command[], usage: string): string {
  const width = Math.max(...listed.map((c) => c.name.length));
  return `react-rl ${version}: ReAct agents that learn from their own trial and error

usage: ${usage}

${listed.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}`;
}

const isHelp = (arg: string | undefined) => arg === "--help" || arg === "-h" || arg === "help";

/** Runs the CLI and returns its exit code: 0 ok, 1 a user mistake or failure, 2 bad usage. */
export async function main(argv: string[]): Promise<number> {
  // `react-rl help train sft` is `react-rl train sft --help`
  if (argv[0] === "help" && argv.length > 1) return main([...argv.slice(1), "--help"]);
  const [first, ...rest] = argv;
  if (first === undefined || isHelp(first)) {
    console.log(overview(commands, "react-rl COMMAND [options]   (react-rl COMMAND --help for its options)"));
    return 0;
  }
  if (first === "--version") {
    console.log(version);
    return 0;
  }
  const group = groupOf(first);
  if (group.length > 0) {
    const [second, ...args] = rest;
    if (second === undefined || isHelp(second)) {
      console.log(overview(group, `react-rl ${first} COMMAND [options]   (react-rl ${first} COMMAND --help for its options)`));
      return 0;
    }
    const command = group.find((c) => wordsOf(c)[1] === second);
    if (command) return runCommand(command, args);
    const names = group.map((c) => wordsOf(c)[1]!);
    return usageError(`react-rl ${first}`, `unknown command '${second}'${didYouMean(second, names)}; the ${first} commands: ${names.join(", ")}`);
  }
  const command = commands.find((c) => c.name === first);
  if (command) return runCommand(command, rest);
  if (first.startsWith("-")) return usageError("react-rl", `unknown option ${first}${didYouMean(first, ["--help", "--version"])}; see react-rl --help`);
  return usageError("react-rl", `unknown command '${first}'${didYouMean(first, firstWords())}; the commands: ${firstWords().join(", ")}`);
}

function usageError(who: string, message: string): number {
  console.error(`${who}: ${message}`);
  return 2;
}

async function runCommand(command: Command, argv: string[]): Promise<number> {
  const who = `react-rl ${command.name}`;
  const options: OptionSpec = { ...command.options, help: { type: "boolean", short: "h" } };
  const args = negativeValues(argv, options);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    return usageError(who, `${misuse(args, options) ?? (error as Error).message}; see ${who} --help`);
  }
  if (parsed.values.help) {
    console.log(`usage: ${command.usage}`);
    return 0;
  }
  const argsProblem = checkArgs(command, parsed.positionals);
  if (argsProblem) return usageError(who, `${argsProblem}; see ${who} --help`);
  const { help: _help, ...values } = parsed.values;
  try {
    return await command.run(values, parsed.positionals);
  } catch (error) {
    if (error instanceof UsageError) return usageError(who, `${error.message}; see ${who} --help`);
    const message = isUserFacing(error) ? error.message : fileSystemRefusal(error);
    if (message === undefined) throw error;
    // Quoted input (a file's bad JSON) can hold line breaks: the mistake stays one line
    console.error(`${who}: ${message.replace(/\s*\n\s*/g, " ")}`);
    return 1;
  }
}

/**
 * What node's strict parser refused, in words: an unknown option (and the likely one),
 * a value missing, or one given to a switch. Found again in the lenient parser's tokens,
 * as node's own messages are written for programmers.
 */
function misuse(args: string[], options: OptionSpec): string | undefined {
  const { tokens } = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  const known = Object.keys(options).map((name) => `--${name}`);
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const option = options[token.name];
    if (!option) return `unknown option ${token.rawName}${didYouMean(token.rawName, known)}`;
    if (option.type === "boolean" && token.inlineValue) return `${token.rawName} takes no value`;
    // Lenient, the parser takes a following flag as the value
    if (option.type === "string" && (token.value === undefined || (!token.inlineValue && token.value.startsWith("-")))) return `${token.rawName} needs a value`;
  }
  return undefined;
}

/** What is wrong with a command's arguments, if anything. */
function checkArgs(command: Command, positionals: string[]): string | undefined {
  const last = command.args.at(-1);
  const most = last?.endsWith("...") ? Infinity : command.args.length;
  if (positionals.length < command.args.length) return `missing ${command.args.slice(positionals.length).join(" ")}`;
  if (positionals.length > most) return `unexpected argument '${positionals[most]}'`;
  return undefined;
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
