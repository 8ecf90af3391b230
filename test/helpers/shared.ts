import { fileURLToPath } from "node:url";

/** A file of the team's shared benchmark samples, which sit beside the repository (`../shared/data`). */
export function sharedData(path: string): string {
  return fileURLToPath(new URL(`../../../shared/data/${path}`, import.meta.url));
}
