import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = new URL("..", import.meta.url).pathname;
// Without the repository's .npmrc (legacy-peer-deps) or settings its npm passes down: as a user's project sees it
const userEnvironment = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));

const npm = (args: string[], cwd: string) => run("npm", args, { cwd, env: userEnvironment, maxBuffer: 1 << 26 });

/** The package's own manifest, as `npm pack` put it in the tarball. */
async function packedManifest(tarball: string): Promise<{ dependencies: Record<string, string>; peerDependencies: Record<string, string> }> {
  const { stdout } = await run("tar", ["-xzOf", tarball, "package/package.json"], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout);
}

/**
 * A project that depends on the packed tarball. Without a registry at hand, each package that
 * react-rl declares (dependencies and peers) comes from this checkout's node_modules as a linked
 * folder; npm itself installs the tarball, checks those against its declared ranges, and links its
 * bin. An import react-rl does not declare finds nothing.
 */
async function userProject(tarball: string): Promise<string> {
  const project = await mkdtemp(join(tmpdir(), "react-rl-user-"));
  const manifest = await packedManifest(tarball);
  const declared = [...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)];
  const dependencies = { "react-rl": `file:${tarball}`, ...Object.fromEntries(declared.map((name) => [name, `file:${join(root, "node_modules", name)}`])) };
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "user-project", private: true, type: "module", dependencies }));
  await npm(["install", "--offline", "--legacy-peer-deps=false", "--ignore-scripts", "--no-audit", "--no-fund"], project);
  return project;
}

const script = `
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BASE_PLANNER, CodeInterpreter, HOTPOTQA_SAMPLE, loadPrompt } from "react-rl";

const interpreter = new CodeInterpreter();
const result = await interpreter.run("[20, 22].reduce((a, b) => a + b)");
await interpreter.close();
console.log(JSON.stringify({
  code: result.status === "ok" ? result.value : result.error,
  exemplars: (await loadPrompt("hotpotqa")).exemplars.length > 0,
  projectPrompt: (await loadPrompt("mine")).instruction,
  sample: existsSync(HOTPOTQA_SAMPLE),
  planner: existsSync(join(BASE_PLANNER, "weights.bin")),
}));
`;

const typed = `
import { defineTool, type Tool } from "react-rl";
import { z } from "zod";

const echo: Tool<string> = defineTool({ name: "Echo", description: "says it back", schema: z.string(), call: (text) => text });
// @ts-expect-error: a tool's name is a string (were the types missing, this line would pass)
const wrong: number = echo.name;
console.log(wrong);
`;

/** The files a markdown page links to, relative to the package root (anchors dropped; web links left out). */
function relativeLinks(page: string, markdown: string): string[] {
  const targets = [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!.split("#")[0]!);
  return targets.filter((target) => target !== "" && !/^[a-z]+:/.test(target)).map((target) => posix.join(posix.dirname(page), target));
}

describe("the packed package", () => {
  it("installs into a user's project and works from plain Node, TypeScript and npx", async () => {
    const packs = await mkdtemp(join(tmpdir(), "react-rl-pack-"));
    // npm pack builds dist/ first (the prepare script)
    const { stdout } = await npm(["pack", "--json", "--pack-destination", packs], root);
    const [{ filename, files }] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
    const shipped = files.map((file) => file.path);
    expect(shipped).toEqual(expect.arrayContaining(["dist/src/index.js", "dist/src/index.d.ts", "bin/react-rl.mjs", "prompts/hotpotqa.txt", "dist/tools/code/python/sandbox.py", "docs/package.md"]));
    expect(shipped.filter((path) => /^(src|tools|test)\//.test(path) || path.endsWith(".tsbuildinfo"))).toEqual([]);
    // The shipped docs' links lead to shipped files: a user reads them in node_modules/react-rl
    const links = await Promise.all(shipped.filter((path) => path.endsWith(".md")).map(async (page) => relativeLinks(page, await readFile(join(root, page), "utf8"))));
    expect(links.flat().filter((target) => !shipped.some((path) => path === target || path.startsWith(`${target.replace(/\/$/, "")}/`)))).toEqual([]);

    const project = await userProject(join(packs, filename));
    await writeFile(join(project, "script.mjs"), script);
    // the user's own prompt, in their project (not in node_modules)
    await mkdir(join(project, "prompts"));
    await writeFile(join(project, "prompts", "mine.txt"), "Answer as I say.\n");
    await writeFile(join(project, "typed.ts"), typed);
    const compilerOptions = { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: true };
    await writeFile(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["typed.ts"] }));

    const [plain, types, help] = await Promise.all([
      run(process.execPath, ["script.mjs"], { cwd: project }),
      run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "."], { cwd: project }),
      run("npx", ["--offline", "react-rl", "--help"], { cwd: project, env: userEnvironment }),
    ]);
    expect(JSON.parse(plain.stdout)).toEqual({ code: "42", exemplars: true, projectPrompt: "Answer as I say.", sample: true, planner: true });
    expect(types.stdout).toBe("");
    expect(help.stdout).toContain("usage: react-rl COMMAND");
  }, 180_000);
});
