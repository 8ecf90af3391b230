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

/** Builds a command whose `run` receives flags typed by its schema. */
export function defineCommand<S extends z.ZodType>(command: {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec;
  flags: S;
  run(flags: z.infer<S>, positionals: string[]): Promise<number>;
}): Command {
  return {
    ...command,
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

/** A numeric flag: strings from the command line become numbers, checked by `schema`. */
export const numberFlag = <N extends z.ZodNumber>(schema: N) => z.coerce.number().pipe(schema);
