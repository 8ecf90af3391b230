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

/** A numeric flag: strings from the command line become numbers, checked by `schema`. */
export const numberFlag = <N extends z.ZodNumber>(schema: N) => z.coerce.number().pipe(schema);
