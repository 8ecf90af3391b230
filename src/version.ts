import { readFileSync } from "node:fs";
import { z } from "zod";

/** The package version: trajectories record it, so a log tells which code wrote it. */
export const VERSION: string = z
  .object({ version: z.string() })
  .parse(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))).version;
