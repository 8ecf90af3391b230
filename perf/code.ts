/**
 * The code interpreters' costs. JavaScript (QuickJS): how long after its
 * deadline an infinite loop (and a long native call, which only the hard stop
 * ends) comes back, a worker's cold start, and calls per second for a trivial
 * program, each in a fresh context, in a session, and in-process without the
 * worker (what the worker's round trip costs). Python (Pyodide): the worker's
 * cold start, how long after its deadline an infinite loop comes back (stopped
 * by a KeyboardInterrupt) and one that catches the interrupt (stopped by
 * killing the worker), and calls per second on the warm worker.
 *
 *   npm run bench:code [-- --calls 500 --repeats 5 --only javascript|python]
 */
import { parseArgs } from "node:util";
import { newQuickJSWASMModule, RELEASE_SYNC } from "quickjs-emscripten";
import { CodeInterpreter, CodeLimitsSchema, PythonInterpreter, type CodeResult } from "../tools/code/index.ts";
import { Sandbox } from "../tools/code/sandbox.ts";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "500" },
    repeats: { type: "string", default: "5" },
    only: { type: "string" },
  },
});
const calls = Number(values.calls);
const repeats = Number(values.repeats);
const languages = values.only === undefined ? ["javascript", "python"] : [values.only];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const perSecond = (ms: number, n = calls) => (1000 * n) / ms;
async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

interface StopCase {
  name: string;
  code: string;
}

const JAVASCRIPT_STOP_CASES: StopCase[] = [
  { name: "while (true) {}", code: "while (true) {}" },
  // About 2 s inside one native call (sort), where QuickJS never checks its deadline.
  { name: "one long native call (sort)", code: "const a = [...Array(3e6).keys()]; a.sort(); a.length" },
];

const PYTHON_STOP_CASES: StopCase[] = [
  { name: "while True: pass", code: "while True: pass" },
  // Catches the deadline's KeyboardInterrupt: only killing the worker ends it.
  { name: "a loop that catches the interrupt", code: "while True:\n    try:\n        while True: pass\n    except BaseException: pass" },
];

/** Runs each program against each deadline `repeats` times, each after a warm-up call, and prints the median and worst. */
async function stopTimes(run: (code: string, timeoutMs: number) => Promise<CodeResult>, cases: StopCase[]) {
  console.log(`\nstop time (median of ${repeats}, worst in brackets)`);
  console.log(`${"program".padEnd(34)}${"deadline".padStart(10)}${"returned after".padStart(22)}${"overrun".padStart(12)}  status`);
  const rows = [];
  for (const { name, code } of cases) {
    for (const deadline of [100, 500, 1000]) {
      const runs = [];
      for (let i = 0; i < repeats; i++) {
        // A warm worker first: after a hard stop the next call would also pay for the restart.
        await run("0", 60_000);
        runs.push(await timed(() => run(code, deadline)));
      }
      const ms = runs.map((r) => r.ms);
      const status = [...new Set(runs.map((r) => r.value.status))].join("/");
      const row = { program: name, deadlineMs: deadline, medianMs: median(ms), worstMs: Math.max(...ms), status };
      rows.push(row);
      const returned = `${row.medianMs.toFixed(0)} ms (${row.worstMs.toFixed(0)})`;
      const overrun = `+${(row.medianMs - deadline).toFixed(0)} ms`;
      console.log(`${name.padEnd(34)}${`${deadline} ms`.padStart(10)}${returned.padStart(22)}${overrun.padStart(12)}  ${status}`);
    }
  }
  return rows;
}

async function javascript() {
  // Memory for the sort's 3 million numbers; the other limits are the defaults.
  const interpreter = new CodeInterpreter({ memoryBytes: 256 * 2 ** 20 });
  const coldStart = await timed(() => interpreter.run("1"));
  console.log(`JavaScript worker cold start + first call: ${coldStart.ms.toFixed(0)} ms`);
  const stop = await stopTimes((code, timeoutMs) => interpreter.run(code, { limits: { timeoutMs } }), JAVASCRIPT_STOP_CASES);
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

  console.log(`\ncalls per second, trivial program (${calls} calls)`);
  console.log(`  fresh context per call (worker):   ${perSecond(fresh.ms).toFixed(0)}`);
  console.log(`  one session (worker):              ${perSecond(kept.ms).toFixed(0)}`);
  console.log(`  fresh context, in-process:         ${perSecond(inProcess.ms).toFixed(0)}`);
  console.log(
    JSON.stringify({
      coldStartMs: coldStart.ms,
      stop,
      callsPerSecond: { fresh: perSecond(fresh.ms), session: perSecond(kept.ms), inProcessFresh: perSecond(inProcess.ms) },
    }),
  );
}

async function python() {
  const interpreter = new PythonInterpreter();
  const coldStart = await timed(() => interpreter.run("1"));
  console.log(`\nPython worker cold start + first call: ${coldStart.ms.toFixed(0)} ms`);
  const stop = await stopTimes((code, timeoutMs) => interpreter.run(code, { limits: { timeoutMs } }), PYTHON_STOP_CASES);
  await interpreter.run("0");
  const trivial = "1 + 1";
  // Each call starts a worker of its own (restored from a snapshot): a few dozen calls tell the rate.
  const pythonCalls = Math.min(calls, 30);
  const warm = await timed(async () => {
    for (let i = 0; i < pythonCalls; i++) await interpreter.run(trivial);
  });
  await interpreter.close();
  console.log(`\nPython calls per second, trivial program (${pythonCalls} calls back to back, each in an interpreter of its own): ${perSecond(warm.ms, pythonCalls).toFixed(2)}`);
  console.log(JSON.stringify({ python: { coldStartMs: coldStart.ms, stop, callsPerSecond: perSecond(warm.ms, pythonCalls) } }));
}

if (languages.includes("javascript")) await javascript();
if (languages.includes("python")) await python();
