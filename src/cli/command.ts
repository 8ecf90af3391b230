import { stat } from "node:fs/promises";
import type { ParseArgsConfig } from "node:util";
import { z } from "zod";
import { UserError } from "../errors.ts";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** One CLI subcommand: its flags (parsed by node, then validated by a zod schema) and what it does. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec;
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
  flags: S;
  run(flags: z.infer<S>, positionals: string[]): Promise<number>;
}): Command {
  return {
    ...command,
    options: command.options ?? optionsOf(command.flags),
    run: (values, positionals) => command.run(validateFlags(command.flags, values), positionals),
  };
}

function validateFlags<S extends z.ZodType>(schema: S, values: Record<string, unknown>): z.infer<S> {
  const result = schema.safeParse(values);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // The flag is the first step of the path; later ones point inside its value (an item of a list).
  throw new UserError(`invalid --${String(issue.path[0])}: ${issue.message}`);
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
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    if (error.code === "ENOTDIR") throw new UserError(`${what} ${path} cannot be a folder: part of its path is a file`);
    throw new UserError(`cannot use ${what} ${path}: ${error.message}`);
  });
  if (info && !info.isDirectory()) throw new UserError(`${what} ${path} is a file, not a folder`);
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

/** In words, the numbers a schema allows: `a whole number from 1 to 20`, `a number above 0 and at most 1`. */
export function numberRange(schema: z.ZodNumber): string {
  const json = z.toJSONSchema(schema) as { type: string; minimum?: number; maximum?: number; exclusiveMinimum?: number; exclusiveMaximum?: number };
  const whole = json.type === "integer";
  // A whole number's implicit bounds, those of the safe integers, go unsaid
  const said = (value: number | undefined) => (value === undefined || Math.abs(value) >= Number.MAX_SAFE_INTEGER ? undefined : value);
  let [low, high, above, below] = [said(json.minimum), said(json.maximum), said(json.exclusiveMinimum), said(json.exclusiveMaximum)];
  if (whole) {
    // A whole number above 0 is one of at least 1
    if (above !== undefined) [low, above] = [above + 1, undefined];
    if (below !== undefined) [high, below] = [below - 1, undefined];
  }
  const kind = whole ? "a whole number" : "a number";
  if (low !== undefined && high !== undefined) return `${kind} from ${low} to ${high}`;
  const lower = low !== undefined ? `at least ${low}` : above !== undefined ? `above ${above}` : undefined;
  const upper = high !== undefined ? `at most ${high}` : below !== undefined ? `below ${below}` : undefined;
  const limits = [lower, upper].filter((part) => part !== undefined);
  if (limits.length === 0) return kind;
  return `${kind} ${limits[0]!.startsWith("at ") ? "of " : ""}${limits.join(" and ")}`;
}
