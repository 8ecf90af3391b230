import type { Stats } from "node:fs";
import { stat } from "node:fs/promises";
import type { ParseArgsConfig } from "node:util";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { inWords, numberRange } from "../options.ts";

/** A command line the parser could not refuse on its own: a required flag missing. The CLI exits 2, as for bad usage. */
export class UsageError extends UserError {
  override name = "UsageError";
}

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/**
 * One CLI command (`bench`, or `train sft` in the group `train`): its flags (parsed by
 * node, then validated by a zod schema), its arguments, and what it does.
 */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec;
  /** The arguments it takes, as its usage names them (`FILE`); a last one ending in `...` takes one or more. */
  args: readonly string[];
  run(values: Record<string, unknown>, positionals: string[]): Promise<number>;
}

/**
 * Builds a command whose `run` receives flags typed by its schema; the parser's
 * options are the schema's keys unless given.
 */
export function defineCommand<S extends z.ZodObject>(command: {
  name: string;
  summary: string;
  usage: string;
  options?: OptionSpec;
  args?: readonly string[];
  flags: S;
  run(flags: z.infer<S>, positionals: string[]): Promise<number>;
}): Command {
  return {
    ...command,
    options: command.options ?? optionsOf(command.flags),
    args: command.args ?? [],
    run: (values, positionals) => command.run(validateFlags(command.flags, values), positionals),
  };
}

function validateFlags<S extends z.ZodType>(schema: S, values: Record<string, unknown>): z.infer<S> {
  const result = schema.safeParse(values, { error: inWords });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // The flag is the first step of the path; later ones point inside its value (an item of a list).
  const flag = `--${String(issue.path[0])}`;
  if (issue.message === "required") throw new UsageError(`${flag} is required`);
  throw new UserError(`invalid ${flag}: ${issue.message}`);
}

/**
 * The parser's options for a flag schema: a boolean field is a switch, an array one
 * may repeat, anything else takes a value (numbers are coerced by the schema).
 * `flagName` turns a schema key into its flag (camelCase config keys into kebab-case).
 */
export function optionsOf(schema: z.ZodObject, flagName: (key: string) => string = (key) => key): OptionSpec {
  const options: OptionSpec = {};
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const kind = baseType(field);
    options[flagName(key)] = kind instanceof z.ZodBoolean ? { type: "boolean" } : kind instanceof z.ZodArray ? { type: "string", multiple: true } : { type: "string" };
  }
  return options;
}

/** A field without its default or optional wrapper. */
export function baseType(field: z.ZodType): z.ZodType {
  let inner = field;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) inner = inner.def.innerType as z.ZodType;
  return inner;
}

/**
 * Refuses a folder (`what`: the flag that names it, or its role) whose path is a file,
 * or runs through one: the command would fail on it half-way, or make the folder in the
 * file's place.
 */
export async function checkFolder(what: string, path: string): Promise<void> {
  const info = await statTarget(what, path, "a folder");
  if (info && !info.isDirectory()) throw new UserError(`${what} ${path} is a file, not a folder`);
}

/**
 * Refuses a file to write before any work is done: a folder, a path through a file, or
 * one that exists (a log, a result) unless `force` is on. `force` undefined: the
 * command has no --force, and never replaces a file.
 */
export async function checkFile(what: string, path: string, force?: boolean): Promise<void> {
  const info = await statTarget(what, path, "a file");
  if (info?.isDirectory()) throw new UserError(`${what} ${path} is a folder, not a file`);
  if (!info || force) return;
  throw new UserError(`${what} ${path} already exists: ${force === undefined ? "remove it or choose another" : "pass --force to replace it, or choose another"} ${what}`);
}

/** What is at `path` now, if anything; a path that cannot be `kind` (part of it is a file) is a UserError. */
async function statTarget(what: string, path: string, kind: string): Promise<Stats | undefined> {
  return stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    if (error.code === "ENOTDIR") throw new UserError(`${what} ${path} cannot be ${kind}: part of its path is a file`);
    throw new UserError(`cannot use ${what} ${path}: ${error.message}`);
  });
}

/** The first of `names` the command line gave: a value, or a switch turned on. */
export function givenFlag<F extends object>(flags: F, names: readonly (keyof F)[]): keyof F | undefined {
  return names.find((name) => flags[name] !== undefined && flags[name] !== false);
}

/**
 * A numeric flag: strings from the command line become numbers, checked by `schema`;
 * one that is not a number, or out of range, is told what is allowed (`expected a whole
 * number of at least 1`).
 */
export function numberFlag(schema: z.ZodNumber) {
  const error = `expected ${numberRange(schema)}`;
  return z.coerce.number({ error }).refine((value) => schema.safeParse(value).success, { error });
}
