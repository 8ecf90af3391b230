import { fileURLToPath } from "node:url";

// Compiled, this module lies one folder deeper: dist/src/ rather than src/.
const root = new URL(import.meta.url.endsWith(".ts") ? "../" : "../../", import.meta.url);

/** The path of a file the package ships at its root (package.json, data/, models/), from the sources or compiled. */
export const packagePath = (path: string): string => fileURLToPath(new URL(path, root));
