import { readFileSync } from "node:fs";
import { z } from "zod";
import { packagePath } from "./package-files.ts";

/** The package version: trajectories record it, so a log tells which code wrote it. */
export const VERSION: string = z
  .object({ version: z.string() })
  .parse(JSON.parse(readFileSync(packagePath("package.json"), "utf8"))).version;
