// The embedded planner's inference kernels, in AssemblyScript, compiled to
// WebAssembly with SIMD (`npm run build:kernels`). Every pointer is a byte offset
// into the module's memory, which the host lays out (src/lm/inference.ts); all
// values are float32, row-major.

/** Where the host may start laying out its data. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * out[rows, n] = a[rows, k] · w[k, n] (plus out, when `accumulate`): eight columns
 * at a time, outermost, so that block of w stays in cache while every row passes,
 * and four rows at a time within, so each loaded row of the block serves four.
 */
export function matmul(a: usize, w: usize, out: usize, rows: i32, k: i32, n: i32, accumulate: bool): void {
  const aRow = (<usize>k) << 2;
  const wRow = (<usize>n) << 2;
  const n8 = n & ~7;
  for (let j = 0; j < n8; j += 8) {
    const wj = w + ((<usize>j) << 2);
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let wp = wj;
      let ap = a + <usize>r * aRow;
      for (let kk = 0; kk < k; kk++) {
        const w0 = v128.load(wp);
        const w1 = v128.load(wp, 16);
        const x0 = f32x4.splat(load<f32>(ap));
        const x1 = f32x4.splat(load<f32>(ap + aRow));
        const x2 = f32x4.splat(load<f32>(ap + 2 * aRow));
        const x3 = f32x4.splat(load<f32>(ap + 3 * aRow));
        c00 = f32x4.add(c00, f32x4.mul(x0, w0));
        c01 = f32x4.add(c01, f32x4.mul(x0, w1));
        c10 = f32x4.add(c10, f32x4.mul(x1, w0));
        c11 = f32x4.add(c11, f32x4.mul(x1, w1));
        c20 = f32x4.add(c20, f32x4.mul(x2, w0));
        c21 = f32x4.add(c21, f32x4.mul(x2, w1));
        c30 = f32x4.add(c30, f32x4.mul(x3, w0));
        c31 = f32x4.add(c31, f32x4.mul(x3, w1));
        wp += wRow;
        ap += 4;
      }
      const op = out + <usize>r * wRow + ((<usize>j) << 2);
      put(op, c00, accumulate);
      put(op + 16, c01, accumulate);
      put(op + wRow, c10, accumulate);
      put(op + wRow + 16, c11, accumulate);
      put(op + 2 * wRow, c20, accumulate);
      put(op + 2 * wRow + 16, c21, accumulate);
      put(op + 3 * wRow, c30, accumulate);
      put(op + 3 * wRow + 16, c31, accumulate);
    }
    for (; r < rows; r++) {
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
      let wp = wj;
      const ar = a + <usize>r * aRow;
      for (let kk = 0; kk < k; kk++) {
        const x = f32x4.splat(load<f32>(ar + ((<usize>kk) << 2)));
        c0 = f32x4.add(c0, f32x4.mul(x, v128.load(wp)));
        c1 = f32x4.add(c1, f32x4.mul(x, v128.load(wp, 16)));
        wp += wRow;
      }
      const op = out + <usize>r * wRow + ((<usize>j) << 2);
      put(op, c0, accumulate);
      put(op + 16, c1, accumulate);
    }
  }
  for (let r = 0; r < rows; r++) matmulTail(a + <usize>r * aRow, w, out + <usize>r * wRow, k, n, n8, accumulate);
}

/** Columns from `first` on of one row, one at a time (n not a multiple of 8). */
function matmulTail(ar: usize, w: usize, or: usize, k: i32, n: i32, first: i32, accumulate: bool): void {
  for (let j = first; j < n; j++) {
    let sum: f32 = accumulate ? load<f32>(or + ((<usize>j) << 2)) : 0;
    for (let kk = 0; kk < k; kk++) sum += load<f32>(ar + ((<usize>kk) << 2)) * load<f32>(w + ((<usize>(kk * n + j)) << 2));
    store<f32>(or + ((<usize>j) << 2), sum);
  }
}

// @ts-ignore: decorator
@inline
function put(p: usize, v: v128, accumulate: bool): void {
  v128.store(p, accumulate ? f32x4.add(v128.load(p), v) : v);
}

/**
 * Attention of one new row over a sequence's cache: its key and value (each
 * `heads` × `headDim` floats side by side, as q holds its queries) are written at
 * position count-1, then, head by head, the scores q·k over positions 0..count-1
 * (four keys at a time), their softmax and the values' weighted sum (four rows
 * at a time). The cache is head-major: head h's keys are rows of `headDim` floats
 * from keys + h·headStride floats. `scores` is scratch for `count` floats.
 */
export function attend(q: usize, key: usize, value: usize, keys: usize, values: usize, count: i32, heads: i32, headDim: i32, headStride: i32, scores: usize, out: usize): void {
  const rowBytes = (<usize>headDim) << 2;
  for (let h = 0; h < heads; h++) {
    const offset = <usize>h * rowBytes;
    const kh = keys + (<usize>h * <usize>headStride << 2);
    const vh = values + (<usize>h * <usize>headStride << 2);
    memory.copy(kh + <usize>(count - 1) * rowBytes, key + offset, rowBytes);
    memory.copy(vh + <usize>(count - 1) * rowBytes, value + offset, rowBytes);
    const qh = q + offset;
    let t = 0;
    let kp = kh;
    for (; t + 4 <= count; t += 4) {
      store4(scores + ((<usize>t) << 2), dot4(qh, kp, rowBytes, headDim));
      kp += 4 * rowBytes;
    }
    for (; t < count; t++) {
      store<f32>(scores + ((<usize>t) << 2), dot(qh, kp, headDim));
      kp += rowBytes;
    }
    softmax(scores, count);
    weightedSum(scores, vh, count, headDim, headDim, out + offset);
  }
}

// @ts-ignore: decorator
@inline
function store4(p: usize, v: v128): void {
  v128.store(p, v);
}

/** The dot products of q with four rows `step` bytes apart, as one vector. */
function dot4(q: usize, k: usize, step: usize, width: i32): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const width4 = width & ~3;
  for (let i = 0; i < width4; i += 4) {
    const off = (<usize>i) << 2;
    const qv = v128.load(q + off);
    a0 = f32x4.add(a0, f32x4.mul(qv, v128.load(k + off)));
    a1 = f32x4.add(a1, f32x4.mul(qv, v128.load(k + step + off)));
    a2 = f32x4.add(a2, f32x4.mul(qv, v128.load(k + 2 * step + off)));
    a3 = f32x4.add(a3, f32x4.mul(qv, v128.load(k + 3 * step + off)));
  }
  // Transpose-add: lane i of the result is the sum of a_i's lanes
  const x = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const y = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  let sums = f32x4.add(v128.shuffle<f32>(x, y, 0, 1, 4, 5), v128.shuffle<f32>(x, y, 2, 3, 6, 7));
  for (let i = width4; i < width; i++) {
    const off = (<usize>i) << 2;
    const qi = load<f32>(q + off);
    sums = f32x4.add(sums, f32x4(qi * load<f32>(k + off), qi * load<f32>(k + step + off), qi * load<f32>(k + 2 * step + off), qi * load<f32>(k + 3 * step + off)));
  }
  return sums;
}

/** q · k over `width` floats. */
function dot(q: usize, k: usize, width: i32): f32 {
  let acc = f32x4.splat(0);
  const width4 = width & ~3;
  for (let i = 0; i < width4; i += 4) {
    const off = (<usize>i) << 2;
    acc = f32x4.add(acc, f32x4.mul(v128.load(q + off), v128.load(k + off)));
  }
  let sum = sum4(acc);
  for (let i = width4; i < width; i++) sum += load<f32>(q + ((<usize>i) << 2)) * load<f32>(k + ((<usize>i) << 2));
  return sum;
}

/** out[t] = q · rows[t] for `count` rows of `width` floats, `stride` floats apart. */
export function dots(q: usize, rows: usize, count: i32, width: i32, stride: i32, out: usize): void {
  const step = (<usize>stride) << 2;
  let rp = rows;
  for (let t = 0; t < count; t++) {
    store<f32>(out + ((<usize>t) << 2), dot(q, rp, width));
    rp += step;
  }
}

/** out[i] = Σ_t p[t] · rows[t][i] for `count` rows of `width` floats, `stride` floats apart. */
function weightedSum(p: usize, rows: usize, count: i32, width: i32, stride: i32, out: usize): void {
  const step = (<usize>stride) << 2;
  const width4 = width & ~3;
  for (let i = 0; i < width; i++) store<f32>(out + ((<usize>i) << 2), 0);
  let t = 0;
  let rp = rows;
  // Four rows at a time: one load and store of out serves four
  for (; t + 4 <= count; t += 4) {
    const pt = p + ((<usize>t) << 2);
    const w0 = f32x4.splat(load<f32>(pt)), w1 = f32x4.splat(load<f32>(pt, 4));
    const w2 = f32x4.splat(load<f32>(pt, 8)), w3 = f32x4.splat(load<f32>(pt, 12));
    for (let i = 0; i < width4; i += 4) {
      const off = (<usize>i) << 2;
      const sum = f32x4.add(
        f32x4.add(f32x4.mul(w0, v128.load(rp + off)), f32x4.mul(w1, v128.load(rp + step + off))),
        f32x4.add(f32x4.mul(w2, v128.load(rp + 2 * step + off)), f32x4.mul(w3, v128.load(rp + 3 * step + off))),
      );
      v128.store(out + off, f32x4.add(v128.load(out + off), sum));
    }
    for (let i = width4; i < width; i++) {
      const off = (<usize>i) << 2;
      let sum = load<f32>(out + off);
      for (let j = 0; j < 4; j++) sum += load<f32>(pt + ((<usize>j) << 2)) * load<f32>(rp + <usize>j * step + off);
      store<f32>(out + off, sum);
    }
    rp += 4 * step;
  }
  for (; t < count; t++) {
    const weight = load<f32>(p + ((<usize>t) << 2));
    for (let i = 0; i < width; i++) {
      const off = (<usize>i) << 2;
      store<f32>(out + off, load<f32>(out + off) + weight * load<f32>(rp + off));
    }
    rp += step;
  }
}

// @ts-ignore: decorator
@inline
function sum4(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/**
 * e^x for four lanes: x = n·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor series to
 * r^6 (relative error under 1e-7), times 2^n built in the exponent bits. Below
 * -87 (where float32 runs out) the result is 0, as exp's is.
 */
// @ts-ignore: decorator
@inline
function exp4(x: v128): v128 {
  const clamped = f32x4.min(f32x4.max(x, f32x4.splat(-87)), f32x4.splat(88));
  const n = f32x4.nearest(f32x4.mul(clamped, f32x4.splat(1.44269504)));
  const r = f32x4.sub(f32x4.sub(clamped, f32x4.mul(n, f32x4.splat(0.693145752))), f32x4.mul(n, f32x4.splat(1.42860677e-6)));
  let p = f32x4.splat(1.0 / 720);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 120));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 24));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 6));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return v128.and(f32x4.mul(p, scale), f32x4.ge(x, f32x4.splat(-87)));
}

/** e^x for one float, by exp4 (the lanes of a vector and its tail agree). */
function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}

/** x[0..n) = softmax(x[0..n)), in place. */
export function softmax(x: usize, n: i32): void {
  const n4 = n & ~3;
  let maxes = f32x4.splat(-Infinity);
  for (let i = 0; i < n4; i += 4) maxes = f32x4.max(maxes, v128.load(x + ((<usize>i) << 2)));
  let max = Mathf.max(Mathf.max(f32x4.extract_lane(maxes, 0), f32x4.extract_lane(maxes, 1)), Mathf.max(f32x4.extract_lane(maxes, 2), f32x4.extract_lane(maxes, 3)));
  for (let i = n4; i < n; i++) max = Mathf.max(max, load<f32>(x + ((<usize>i) << 2)));
  const shift = f32x4.splat(max);
  let sums = f32x4.splat(0);
  for (let i = 0; i < n4; i += 4) {
    const p = x + ((<usize>i) << 2);
    const e = exp4(f32x4.sub(v128.load(p), shift));
    v128.store(p, e);
    sums = f32x4.add(sums, e);
  }
  let sum = sum4(sums);
  for (let i = n4; i < n; i++) {
    const p = x + ((<usize>i) << 2);
    const e = exp1(load<f32>(p) - max);
    store<f32>(p, e);
    sum += e;
  }
  const inv = f32x4.splat(1 / sum);
  for (let i = 0; i < n4; i += 4) {
    const p = x + ((<usize>i) << 2);
    v128.store(p, f32x4.mul(v128.load(p), inv));
  }
  for (let i = n4; i < n; i++) {
    const p = x + ((<usize>i) << 2);
    store<f32>(p, load<f32>(p) / sum);
  }
}

/** Each of `rows` rows of width d normalised to zero mean, unit variance, then scaled and shifted. */
export function layerNorm(x: usize, gain: usize, bias: usize, out: usize, rows: i32, d: i32): void {
  const rowBytes = (<usize>d) << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const or = out + <usize>r * rowBytes;
    let mean: f32 = 0;
    for (let i = 0; i < d; i++) mean += load<f32>(xr + ((<usize>i) << 2));
    mean /= <f32>d;
    let variance: f32 = 0;
    for (let i = 0; i < d; i++) {
      const c = load<f32>(xr + ((<usize>i) << 2)) - mean;
      variance += c * c;
    }
    const invStd: f32 = 1 / Mathf.sqrt(variance / <f32>d + 1e-5);
    for (let i = 0; i < d; i++) {
      const off = (<usize>i) << 2;
      store<f32>(or + off, (load<f32>(xr + off) - mean) * invStd * load<f32>(gain + off) + load<f32>(bias + off));
    }
  }
}

/** x = x · sigmoid(1.702 x), in place: the model's GELU (ops.ts). */
export function gelu(x: usize, n: i32): void {
  const n4 = n & ~3;
  const one = f32x4.splat(1);
  for (let i = 0; i < n4; i += 4) {
    const p = x + ((<usize>i) << 2);
    const v = v128.load(p);
    v128.store(p, f32x4.div(v, f32x4.add(one, exp4(f32x4.mul(v, f32x4.splat(-1.702))))));
  }
  for (let i = n4; i < n; i++) {
    const p = x + ((<usize>i) << 2);
    const v = load<f32>(p);
    store<f32>(p, v / (1 + exp1(-1.702 * v)));
  }
}

/** x += y over n floats. */
export function addInPlace(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = (<usize>i) << 2;
    v128.store(x + off, f32x4.add(v128.load(x + off), v128.load(y + off)));
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    store<f32>(x + off, load<f32>(x + off) + load<f32>(y + off));
  }
}

/** x[i] = log(max(x[i], floor)) over n floats. */
export function logFloor(x: usize, n: i32, floor: f32): void {
  for (let i = 0; i < n; i++) {
    const p = x + ((<usize>i) << 2);
    store<f32>(p, Mathf.log(Mathf.max(load<f32>(p), floor)));
  }
}
