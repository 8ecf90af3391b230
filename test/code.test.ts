import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { CodeInterpreter, codeObservation, codeTool, langChainCodeTool, type CodeResult } from "../tools/code/index.ts";
import { callWithText } from "../tools/tool.ts";

const MIB = 1024 * 1024;
/** Hostile programs get a short deadline so they end quickly; nothing here asserts how long anything took. */
const SHORT = { limits: { timeoutMs: 200 } };
// Ordinary programs get a long deadline, so a busy machine never makes them time out.
const interpreter = new CodeInterpreter({ timeoutMs: 10_000, memoryBytes: 32 * MIB, maxOutputChars: 500 });
const run = async (code: string, options = {}) => codeObservation(await interpreter.run(code, options));

afterAll(() => interpreter.close());

describe("code interpreter", () => {
  it("shows what the program printed and the value of its last expression", async () => {
    expect(await run(`console.log("sum", 1 + 2, [1, "a"], { k: null }); 6 * 7`)).toBe(
      `Output:\nsum 3 [1, "a"] {k: null}\nResult: 42`,
    );
    expect(await run(`"text"`)).toBe(`Result: "text"`);
    expect(await run(`console.log("only output")`)).toBe("Output:\nonly output");
  });

  it("awaits a promise result and runs the jobs the program queued", async () => {
    expect(await run(`Promise.resolve().then(() => console.log("later")); (async () => 7)()`)).toBe("Output:\nlater\nResult: 7");
    expect(await run(`new Promise(() => {})`)).toMatch(/^Result: Promise \{<pending>\}/);
  });

  it("starts every call in a clean context", async () => {
    expect(await run(`globalThis.leftover = 1; Object.prototype.polluted = 2; leftover`)).toBe("Result: 1");
    expect(await run(`[typeof leftover, typeof ({}).polluted]`)).toBe(`Result: ["undefined", "undefined"]`);
  });

  it("keeps definitions across calls in a session, until disposed", async () => {
    const session = interpreter.session();
    await session.run(`let count = 1; function bump() { return ++count; }`);
    expect(codeObservation(await session.run(`bump(); bump()`))).toBe("Result: 3");
    expect(await run(`typeof bump`)).toBe(`Result: "undefined"`);
    session.dispose();
    await expect(session.run(`count`)).rejects.toThrow(/after dispose/);
  });

  it("stops an infinite loop at the deadline, and the next call works", async () => {
    expect(await run(`while (true) {}`, SHORT)).toBe("Error: timed out after 200 ms");
    expect(await run(`for (;;) { try { while (true) {} } catch (e) {} }`, SHORT)).toBe("Error: timed out after 200 ms");
    expect(await run(`const spin = () => { Promise.resolve().then(spin); }; spin()`, SHORT)).toBe("Error: timed out after 200 ms");
    expect(await run(`1 + 1`)).toBe("Result: 2");
  });

  it("reports a program whose interrupted promise chain the engine cannot free, and the next call works", async () => {
    // Freeing this runtime trips an assertion inside QuickJS; the worker that ran it is replaced.
    const chain = `let n = 0; const spin = () => { n++; return Promise.resolve().then(spin); }; spin(); n`;
    expect(await run(chain, SHORT)).toMatch(/^Error: (timed out after 200 ms|out of memory)$/);
    expect(await run(`1 + 1`)).toBe("Result: 2");
  });

  it.each([
    ["an array of arrays", `const a = []; while (true) a.push(new Array(1e5).fill(0))`],
    ["a list of strings", `const a = []; while (true) a.push("x".repeat(1e6) + a.length)`],
    ["one huge string", `"a".repeat(2 ** 29)`],
    ["a program that catches the failure", `const a = []; while (true) { try { a.push("y".repeat(1e6) + a.length) } catch (e) {} }`],
  ])("ends a memory bomb (%s) with a clear error, and the next call works", async (_, program) => {
    const result = await interpreter.run(program, SHORT);
    expect(result.status).not.toBe("ok");
    expect(codeObservation(result)).toMatch(/^Error: (out of memory|timed out after 200 ms)$/);
    expect(await run(`[1, 2].length`)).toBe("Result: 2");
  });

  it("reports a string that grows past the engine's limit", async () => {
    expect(await run(`let s = "x"; while (true) s += s`)).toMatch(/^Error: (InternalError: string too long \(line 1\)|out of memory)$/);
  });

  it.each([
    ["unbounded recursion", `function f() { return f() + 1; } f()`, "InternalError: stack overflow (line 1)"],
    ["deeply nested source", `eval("(".repeat(1e5) + "1" + ")".repeat(1e5))`, "SyntaxError: stack overflow (line 1)"],
    ["deeply nested JSON", `JSON.parse("[".repeat(1e5))`, "SyntaxError: stack overflow (line 1)"],
    ["a deeply nested value", `let a = []; for (let i = 0; i < 1e5; i++) a = [a]; String(a)`, "InternalError: stack overflow (line 1)"],
  ])("stops %s at the stack limit", async (_, program, error) => {
    expect(await run(program)).toBe(`Error: ${error}`);
  });

  it("allows ordinary recursion", async () => {
    expect(await run(`function depth(n) { return n === 0 ? 0 : depth(n - 1) + 1; } depth(1000)`)).toBe("Result: 1000");
  });

  it("cuts huge output and results to the limit with a marker", async () => {
    const printed = await interpreter.run(`for (let i = 0; i < 1e5; i++) console.log("line " + i); "done"`);
    expect(printed.status).toBe("ok");
    expect(printed.output).toHaveLength(500 + "… [truncated 1088390 chars]".length);
    expect(printed.output).toMatch(/^line 0\nline 1\n[^]*… \[truncated 1088390 chars\]$/);
    expect(codeObservation(printed)).toMatch(/\nResult: "done"$/);
    // The result is the JSON string: a million z's and two quotes.
    expect(await run(`"z".repeat(1e6)`)).toBe(`Result: "${"z".repeat(499)}… [truncated 999502 chars]`);
  });

  it.each([
    ["process", `process.exit(1)`, "ReferenceError: 'process' is not defined (line 1)"],
    ["require", `require("fs")`, "ReferenceError: 'require' is not defined (line 1)"],
    ["fetch", `fetch("http://127.0.0.1/")`, "ReferenceError: 'fetch' is not defined (line 1)"],
    ["a dynamic import", `import("fs")`, "ReferenceError: could not load module 'fs'"],
    ["a static import", `import fs from "fs"`, "SyntaxError: expecting '(' (line 1)"],
    ["the Function constructor", `this.constructor.constructor("return process")()`, "ReferenceError: 'process' is not defined (line 1)"],
    ["timers", `setTimeout(() => {}, 0)`, "ReferenceError: 'setTimeout' is not defined (line 1)"],
  ])("reaches nothing of the host: %s", async (_, program, error) => {
    expect(await run(program)).toBe(`Error: ${error}`);
  });

  it("offers only the language's built-ins as globals", async () => {
    const globals = (await interpreter.run(`Object.getOwnPropertyNames(globalThis).join(" ")`)) as { value: string };
    const names = globals.value.slice(1, -1).split(" ");
    expect(names).toEqual(expect.arrayContaining(["Object", "JSON", "Math", "Promise", "console"]));
    for (const host of ["process", "require", "module", "Buffer", "fetch", "setTimeout", "WebAssembly", "ArrayBuffer", "SharedArrayBuffer"]) {
      expect(names).not.toContain(host);
    }
  });

  it("leaves the host's prototypes alone", async () => {
    await run(`Object.prototype.hacked = true; Array.prototype.push = null; JSON.stringify = () => "owned"; 0`);
    expect(({} as Record<string, unknown>).hacked).toBeUndefined();
    expect(JSON.stringify([1])).toBe("[1]");
    // Programs that break the built-ins the console uses still print normally.
    expect(await run(`JSON.stringify = null; Array.prototype.join = null; console.log([1, "a"]); "ok"`)).toBe(
      `Output:\n[1, "a"]\nResult: "ok"`,
    );
  });

  it("reports a syntax error with its line", async () => {
    expect(await run(`const x = 1;\nconst y = ;`)).toBe("Error: SyntaxError: unexpected token in expression: ';' (line 2)");
  });

  it.each([
    ["an Error", `throw new TypeError("bad input")`, "TypeError: bad input (line 1)"],
    ["a string", `throw "oops"`, `Uncaught "oops"`],
    ["a number", `throw 404`, "Uncaught 404"],
    ["null", `throw null`, "Uncaught null"],
    ["undefined", `throw undefined`, "Uncaught undefined"],
    ["an object", `throw { code: 7, why: ["x"] }`, `Uncaught {code: 7, why: ["x"]}`],
    ["a Symbol", `throw Symbol("s")`, "Uncaught Symbol(s)"],
    ["a rejected promise", `Promise.reject(new RangeError("no"))`, "RangeError: no (line 1)"],
    ["an async throw", `(async () => { await null; throw 5; })()`, "Uncaught 5"],
    ["an object with a throwing getter", `throw { get message() { throw 1; } }`, "Uncaught {message: [unreadable]}"],
  ])("reports a thrown %s", async (_, program, error) => {
    expect(await run(program)).toBe(`Error: ${error}`);
  });

  it("keeps the output printed before an error", async () => {
    expect(await run(`console.log("step 1"); null.x`)).toBe("Output:\nstep 1\nError: TypeError: cannot read property 'x' of null (line 1)");
  });

  it("shows values of every kind", async () => {
    const shown = await run(`const o = {
      n: -0, big: 5n, s: Symbol("t"), f: function named() {}, d: new Date(0), r: /a+/g, m: new Map([[1, "one"]]), set: new Set([2]),
    };
    o.self = o;
    o`);
    expect(shown).toBe(
      "Result: {n: -0, big: 5n, s: Symbol(t), f: [Function named], d: 1970-01-01T00:00:00.000Z, r: /a+/g, " +
        `m: Map(1) {1 => "one"}, set: Set(1) {2}, self: [Circular]}`,
    );
    expect(await run(`Array.from({ length: 40 }, (_, i) => i)`)).toMatch(/^Result: \[0, 1, [^]*, 29, \.\.\. 10 more\]$/);
    expect(await run(`new (class Point { constructor() { this.x = 1; } })()`)).toBe("Result: Point {x: 1}");
  });

  it("survives a stress run of 100 hostile programs, and the host's heap stays near where it was", async () => {
    const hostile: [program: string, ends: CodeResult["status"]][] = [
      [`while (true) {}`, "timeout"],
      [`"a".repeat(2 ** 29)`, "out-of-memory"],
      [`function f() { return f(); } f()`, "error"],
      [`this.constructor.constructor("return process")().exit()`, "error"],
      [`console.log("x".repeat(1e6))`, "ok"],
      [`throw Symbol("boom")`, "error"],
      [`Promise.reject(null)`, "error"],
      [`eval("[".repeat(2e4))`, "error"],
      [`Object.defineProperty(Object.prototype, "then", { get() { while (true) {} } }); Promise.resolve({})`, "timeout"],
      [`let s = "x"; while (true) s += s`, "error"],
    ];
    await run(`0`);
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 100; i++) {
      const [program, ends] = hostile[i % hostile.length]!;
      const result = await interpreter.run(program, SHORT);
      expect([program, result.status]).toEqual([program, ends]);
      expect(codeObservation(result)).toMatch(/^(Output:\n|Result: |Error: )./);
    }
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(50 * MIB);
    expect(await run(`"still " + "working"`)).toBe(`Result: "still working"`);
  });

  it("tells a session it was reset after its worker had to be replaced", async () => {
    const session = interpreter.session();
    await session.run(`var kept = 1`);
    const bomb = `const a = []; while (true) a.push("x".repeat(1e6) + a.length)`;
    expect((await session.run(bomb, { limits: { timeoutMs: 5000 } })).status).toBe("out-of-memory");
    const after = await session.run(`typeof kept`);
    expect(after.output).toMatch(/^Note: this session was restarted/);
    expect(after).toMatchObject({ status: "ok", value: `"undefined"` });
    session.dispose();
  });

  it("refuses to start a call whose signal is already aborted", async () => {
    await expect(interpreter.run(`1`, { signal: AbortSignal.abort() })).rejects.toThrow();
  });
});

describe("Code tool", () => {
  it("answers a text action Code[program]", async () => {
    const tool = codeTool({ interpreter });
    expect(tool.name).toBe("Code");
    expect(await callWithText(tool, `[3, 4].map((x) => x * x).reduce((a, b) => a + b)`)).toBe("Result: 25");
  });

  it("runs every call in one session when given one", async () => {
    const session = interpreter.session();
    const tool = codeTool({ session });
    await callWithText(tool, `var total = 40`);
    expect(await callWithText(tool, `total + 2`)).toBe("Result: 42");
    session.dispose();
  });

  it("plugs into LangChain with an object schema", async () => {
    const tool = langChainCodeTool({ interpreter });
    expect(await tool.invoke({ code: `"lang" + "chain"` })).toBe(`Result: "langchain"`);
  });

  it("runs from the command line: react-rl tool code PROGRAM", async () => {
    const bin = new URL("../bin/react-rl.mjs", import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(process.execPath, [bin, "tool", "code", `console.log("hi"); 2 ** 10`]);
    expect(stdout).toBe("Output:\nhi\nResult: 1024\n");
  });
});
