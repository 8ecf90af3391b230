/**
 * What keeps a Python program away from the host, layer by layer. Each layer
 * holds alone: sandbox.py's import guard can be walked around, so the
 * Emscripten imports refuse, and should a program still reach JavaScript, the
 * worker it runs in holds nothing of the host.
 *
 * 1. Emscripten: the C library functions that run shell commands, evaluate
 *    JavaScript, read host files or start workers are replaced before the
 *    WebAssembly module is linked (`refuseHostImports`), so `os.system` and
 *    `ctypes.CDLL(None).emscripten_run_script(...)` reach a stub.
 * 2. Pyodide's API: its members that mount host folders, open Node sockets or
 *    read packages and files from disk refuse (`sealPyodide`).
 * 3. The worker: no `process`, no `eval` or function constructors, and the
 *    CommonJS loader that Pyodide's `require` uses refuses every module
 *    (`sealWorker`), so `child_process` cannot be named from any code.
 */
import { Module } from "node:module";
import type { PyodideAPI } from "pyodide";

/** Emscripten imports that reach past the WebAssembly memory, and what each answers instead. */
const HOST_IMPORTS: Record<string, number> = {
  _emscripten_system: -1,
  emscripten_run_script: 0,
  emscripten_run_script_int: 0,
  emscripten_run_script_string: 0,
  emscripten_async_run_script: 0,
  emscripten_async_load_script: 0,
  emscripten_async_wget: 0,
  emscripten_async_wget_data: 0,
  emscripten_async_wget2: 0,
  emscripten_async_wget2_data: 0,
  emscripten_async_wget2_abort: 0,
  emscripten_create_worker: 0,
  emscripten_call_worker: 0,
  emscripten_destroy_worker: 0,
  emscripten_websocket_new: -1,
  emscripten_run_preload_plugins: -1,
  emscripten_run_preload_plugins_data: 0,
};

/**
 * Replaces the host-reaching Emscripten imports in every module the worker
 * links. Pyodide hands WebAssembly the very object its `dlsym` resolves
 * symbols from, so the stubs also answer `ctypes` lookups by name.
 */
export function refuseHostImports(): void {
  const { instantiate, instantiateStreaming } = WebAssembly;
  const stub = (imports?: WebAssembly.Imports) => {
    const env = imports?.env as Record<string, unknown> | undefined;
    for (const [name, answer] of Object.entries(HOST_IMPORTS)) if (env && name in env) env[name] = () => answer;
    return imports;
  };
  WebAssembly.instantiate = ((source: BufferSource | WebAssembly.Module, imports?: WebAssembly.Imports) =>
    instantiate(source as BufferSource, stub(imports))) as typeof WebAssembly.instantiate;
  WebAssembly.instantiateStreaming = (source, imports) => instantiateStreaming(source, stub(imports));
}

/**
 * Pyodide's API stays reachable from Python (`pyodide_js`), so its members
 * that touch the host (mounting host folders, Node's sockets, reading files
 * and packages from disk) refuse, and the host filesystem type goes.
 */
export function sealPyodide(api: PyodideAPI): void {
  const internals = api as unknown as Record<"_api" | "_module", Record<string, unknown>>;
  const hostReaching: [Record<string, unknown>, string[]][] = [
    [api as unknown as Record<string, unknown>, ["mountNodeFS", "mountNativeFS", "useNodeSockFS", "loadPackage", "loadPackagesFromImports"]],
    [internals._api, ["initializeNodeSockFS", "loadBinaryFile", "loadDynlib", "install"]],
    [internals._module, ["FS_createPreloadedFile", "FS_createLazyFile"]],
    [api.FS as Record<string, unknown>, ["createPreloadedFile", "createLazyFile"]],
  ];
  for (const [owner, names] of hostReaching) for (const name of names) owner[name] = refuse;
  delete (api.FS.filesystems as Record<string, unknown>).NODEFS;
  delete internals._module.NODEFS;
}

/**
 * Takes from the worker everything through which code could reach the host,
 * once Pyodide has loaded what it needs: `process` (kill, exit, bindings),
 * `eval` and the function constructors (no JavaScript can be written from a
 * string, so neither `require` in Pyodide's scope nor `import()` can be
 * named), V8's stack-trace hook (it hands out callers' `this`), the CommonJS
 * loader, and the network globals.
 */
export function sealWorker(): void {
  const loader = Module as unknown as { _load: unknown };
  loader._load = refuse;
  const globals = globalThis as Record<string, unknown>;
  for (const name of ["process", "fetch", "WebSocket", "EventSource", "XMLHttpRequest", "BroadcastChannel"]) delete globals[name];
  Object.defineProperty(globalThis, "eval", { value: refuse, writable: false, configurable: false });
  const functionKinds = [Function, (async () => {}).constructor, function* () {}.constructor, async function* () {}.constructor];
  for (const kind of functionKinds) Object.defineProperty(kind.prototype, "constructor", { value: undefined });
  Object.defineProperty(Error, "prepareStackTrace", { value: undefined, writable: false, configurable: false });
}

function refuse(): never {
  throw new Error("not available in the Python sandbox");
}
