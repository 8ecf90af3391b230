import { z } from "zod";
import { describeZodError, UserError } from "../errors.ts";
import { readJsonFile } from "../files.ts";
import { WORLD_VERSION, WorldSchema, type World } from "./schema.ts";

/** Reads and checks a world file written by `react-rl world generate`; any problem is a UserError naming the file. */
export async function loadWorld(path: string): Promise<World> {
  const json = await readJsonFile(path, z.unknown(), "world file");
  const version = (json as { version?: unknown } | null)?.version;
  if (version !== WORLD_VERSION) {
    const found = `version ${String(version)}`;
    throw new UserError(`${path}: not a hopworld file of version ${WORLD_VERSION} (${found}); regenerate it with react-rl world generate`);
  }
  const parsed = WorldSchema.safeParse(json);
  if (!parsed.success) throw new UserError(`${path}: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** The file text for a world: compact JSON, so the same world always gives the same bytes. */
export function serializeWorld(world: World): string {
  return `${JSON.stringify(world)}\n`;
}
