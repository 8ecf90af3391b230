/**
 * JavaScript evaluated inside the sandbox before any program: it installs
 * `console` and returns the functions the host uses to show values and thrown
 * errors. It runs inside QuickJS, under the program's own limits, because
 * showing a value may run the program's getters and proxies.
 *
 * Printed text is kept in the VM, up to a limit, and read by the host once the
 * program ends: a call into the host per `console.log` would cost ten times more.
 * The prelude keeps its own references to the built-ins it uses, so a program
 * that replaces `JSON.stringify` or `Array.prototype.join` does not change how
 * its output is shown. It is a string: the host never runs it.
 *
 * Evaluates to `() => ({ show, describe, reset, output })`: `show(value)`
 * renders a result, `describe(thrown)` an exception, `reset(limit)` empties
 * `output` (`{ text, dropped }`) and sets how many characters it keeps.
 */
export const PRELUDE = String.raw`() => {
  "use strict";
  const apply = Reflect.apply;
  const stringify = JSON.stringify;
  const slice = String.prototype.slice;
  const toText = String;
  const is = Object.is;
  const keysOf = Object.keys;
  const isArray = Array.isArray;
  const getPrototypeOf = Object.getPrototypeOf;
  const symbolToString = Symbol.prototype.toString;
  const dateToISOString = Date.prototype.toISOString;
  const regExpToString = RegExp.prototype.toString;
  const regExpTest = RegExp.prototype.test;
  const mapEntries = Map.prototype.entries;
  const setValues = Set.prototype.values;
  const mapIteratorNext = getPrototypeOf(new Map()[Symbol.iterator]()).next;
  const setIteratorNext = getPrototypeOf(new Set()[Symbol.iterator]()).next;
  const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, "size").get;
  const setSize = Object.getOwnPropertyDescriptor(Set.prototype, "size").get;
  const ErrorType = Error, MapType = Map, SetType = Set, DateType = Date, RegExpType = RegExp, PromiseType = Promise;
  const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
  const MAX_ITEMS = 30;
  const MAX_DEPTH = 2;

  const errorText = (error) => toText(error.name) + ": " + toText(error.message);
  const keyText = (key) => (apply(regExpTest, IDENTIFIER, [key]) ? key : stringify(key));

  /** At most MAX_ITEMS items, then a count of the rest. */
  const listText = (open, items, total, close) => {
    let text = "";
    for (let i = 0; i < items.length; i++) text += (i ? ", " : "") + items[i];
    if (total > items.length) text += (items.length ? ", " : "") + "... " + (total - items.length) + " more";
    return open + text + close;
  };

  const collect = (iterator, next, depth, seen, render) => {
    const items = [];
    for (let step = apply(next, iterator, []); !step.done && items.length < MAX_ITEMS; step = apply(next, iterator, [])) {
      items[items.length] = render(step.value, depth, seen);
    }
    return items;
  };

  const show = (value, depth, seen) => {
    switch (typeof value) {
      case "string": return stringify(value);
      case "number": return is(value, -0) ? "-0" : toText(value);
      case "bigint": return toText(value) + "n";
      case "symbol": return apply(symbolToString, value, []);
      case "function": return "[Function " + (value.name || "(anonymous)") + "]";
      case "undefined": case "boolean": return toText(value);
    }
    if (value === null) return "null";
    if (value instanceof ErrorType) return errorText(value);
    if (value instanceof DateType) return value.getTime() === value.getTime() ? apply(dateToISOString, value, []) : "Invalid Date";
    if (value instanceof RegExpType) return apply(regExpToString, value, []);
    if (value instanceof PromiseType) return "Promise {...}";
    for (let i = 0; i < seen.length; i++) if (seen[i] === value) return "[Circular]";
    const inner = [...seen, value];
    if (isArray(value)) {
      if (depth >= MAX_DEPTH) return "[Array(" + value.length + ")]";
      const items = [];
      for (let i = 0; i < value.length && i < MAX_ITEMS; i++) items[i] = show(value[i], depth + 1, inner);
      return listText("[", items, value.length, "]");
    }
    if (value instanceof MapType) {
      const size = apply(mapSize, value, []);
      if (depth >= MAX_DEPTH) return "[Map(" + size + ")]";
      const entry = (pair, d, s) => show(pair[0], d, s) + " => " + show(pair[1], d, s);
      return listText("Map(" + size + ") {", collect(apply(mapEntries, value, []), mapIteratorNext, depth + 1, inner, entry), size, "}");
    }
    if (value instanceof SetType) {
      const size = apply(setSize, value, []);
      if (depth >= MAX_DEPTH) return "[Set(" + size + ")]";
      return listText("Set(" + size + ") {", collect(apply(setValues, value, []), setIteratorNext, depth + 1, inner, show), size, "}");
    }
    const prototype = getPrototypeOf(value);
    const constructorName = prototype && prototype.constructor && prototype.constructor.name;
    const label = constructorName && constructorName !== "Object" ? constructorName + " " : "";
    if (depth >= MAX_DEPTH) return "[" + (label ? constructorName : "Object") + "]";
    const keys = keysOf(value);
    const items = [];
    for (let i = 0; i < keys.length && i < MAX_ITEMS; i++) items[i] = keyText(keys[i]) + ": " + property(value, keys[i], depth + 1, inner);
    return listText(label + "{", items, keys.length, "}");
  };

  /** A getter may throw: that property alone is shown as unreadable. */
  const property = (object, key, depth, seen) => {
    let value;
    try {
      value = object[key];
    } catch (error) {
      return "[unreadable]";
    }
    return show(value, depth, seen);
  };

  /** Renders without ever throwing: a hostile value (a throwing proxy trap) gets a placeholder. */
  const safely = (render) => (value) => {
    try {
      return render(value);
    } catch (error) {
      return "[value that cannot be shown]";
    }
  };
  const showValue = safely((value) => show(value, 0, []));

  const output = { text: "", dropped: 0, limit: 0 };
  const print = (...args) => {
    let line = "";
    for (let i = 0; i < args.length; i++) line += (i ? " " : "") + (typeof args[i] === "string" ? args[i] : showValue(args[i]));
    line += "\n";
    const room = output.limit - output.text.length;
    if (line.length <= room) {
      output.text += line;
    } else {
      output.text += apply(slice, line, [0, room]);
      output.dropped += line.length - room;
    }
  };
  globalThis.console = { log: print, info: print, warn: print, error: print, debug: print };

  const isErrorLike = (value) =>
    value instanceof ErrorType ||
    (value !== null && typeof value === "object" && typeof value.name === "string" && typeof value.message === "string");
  return {
    show: showValue,
    describe: safely((thrown) => (isErrorLike(thrown) ? errorText(thrown) + lineOf(thrown) : "Uncaught " + show(thrown, 0, []))),
    reset: (limit) => {
      output.text = "";
      output.dropped = 0;
      output.limit = limit;
    },
    output,
  };

  /** Where in the program the error arose: the first program.js frame of its stack, else its lineNumber (syntax errors). */
  function lineOf(error) {
    const frame = /program\.js:(\d+)/.exec(typeof error.stack === "string" ? error.stack : "");
    const line = frame ? frame[1] : error.lineNumber;
    return typeof line === "number" || typeof line === "string" ? " (line " + line + ")" : "";
  }
}`;
