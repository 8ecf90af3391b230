/**
 * The code interpreter's costs: how long after its deadline an infinite loop
 * (and a long native call, which only the hard stop ends) comes back, a worker's
 * cold start, and calls per second for a trivial program, each in a fresh
 * context, in a session, and in-process without the worker (what the worker's
 * round trip costs).
 *
 *   npm run bench:code [-- --calls 500 --repeats 5]
 */
import { parseArgs } from "node:util";
import { newQuickJSWASMModule, RELEASE_SYNC } from "quickjs-emscripten";
import { CodeInterpreter, CodeLimitsSchema } from "../tools/code/index.ts";
import { Sandbox } from "../tools/code/sandbox.ts";

const { values } = parseArgs({ options: { calls: { type: "string", default: "500" }, repeats: { type: "string", default: "5" } } });
const calls = Number(values.calls);
const repeats = Number(values.repeats);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

// Memory for the sort's 3 million numbers; the other limits are the defaults.
const interpreter = new CodeInterpreter({ memoryBytes: 256 * 2 ** 20 });
const coldStart = await timed(() => interpreter.run("1"));
console.log(`worker cold start + first call: ${coldStart.ms.toFixed(0)} ms`);

console.log(`\nstop time (median of ${repeats}, worst in brackets)`);
console.log(`${"program".padEnd(34)}${"deadline".padStart(10)}${"returned after".padStart(22)}${"overrun".padStart(12)}  status`);
const stopCases = [
  { name: "while (true) {}", code: "while (true) {}" },
  // About 2 s inside one native call (sort), where QuickJS never checks its deadline.
  { name: "one long native call (sort)", code: "const a = [...Array(3e6).keys()]; a.sort(); a.length" },
];
const stopRows = [];
for (const { name, code } of stopCases) {
  for (const deadline of [100, 500, 1000]) {
    const runs = [];
    for (let i = 0; i < repeats; i++) {
      // A warm worker first: after a hard stop the next call would also pay for the restart.
      await interpreter.run("0");
      runs.push(await timed(() => interpreter.run(code, { limits: { timeoutMs: deadline } })));
    }
    const ms = runs.map((r) => r.ms);
    const status = [...new Set(runs.map((r) => r.value.status))].join("/");
    const row = { program: name, deadlineMs: deadline, medianMs: median(ms), worstMs: Math.max(...ms), status };
    stopRows.push(row);
    const returned = `${row.medianMs.toFixed(0)} ms (${row.worstMs.toFixed(0)})`;
    const overrun = `+${(row.medianMs - deadline).toFixed(0)} ms`;
    console.log(`${name.padEnd(34)}${`${deadline} ms`.padStart(10)}${returned.padStart(22)}${overrun.padStart(12)}  ${status}`);
  }
}
await interpreter.run("0");

const trivial = "1 + 1";
const fresh = await timed(async () => {
  for (let i = 0; i < calls; i++) await interpreter.run(trivial);
});
const session = interpreter.session();
await session.run(trivial);
const kept = await timed(async () => {
  for (let i = 0; i < calls; i++) await session.run(trivial);
});
session.dispose();
await interpreter.close();

// The same work without the worker: what the thread hop costs.
const module = await newQuickJSWASMModule(RELEASE_SYNC);
const limits = CodeLimitsSchema.parse({});
const inProcess = await timed(async () => {
  for (let i = 0; i < calls; i++) {
    const sandbox = new Sandbox(module);
    sandbox.run(trivial, limits);
    sandbox.dispose();
  }
});

const perSecond = (ms: number) => (1000 * calls) / ms;
console.log(`\ncalls per second, trivial program (${calls} calls)`);
console.log(`  fresh context per call (worker):   ${perSecond(fresh.ms).toFixed(0)}`);
console.log(`  one session (worker):              ${perSecond(kept.ms).toFixed(0)}`);
console.log(`  fresh context, in-process:         ${perSecond(inProcess.ms).toFixed(0)}`);
console.log(
  JSON.stringify({
    coldStartMs: coldStart.ms,
    stop: stopRows,
    callsPerSecond: { fresh: perSecond(fresh.ms), session: perSecond(kept.ms), inProcessFresh: perSecond(inProcess.ms) },
  }),
);
