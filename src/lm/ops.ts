/**
 * The model's building blocks, each with an explicit gradient written for the
 * WASM backend, where a plain 2-D matmul is about 10x faster than a transposed or
 * batched one and `gather` has no gradient at all. All tensors here are 2-D.
 */
import * as tf from "@tensorflow/tfjs";

type Backward = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/**
 * tf.customGrad with its inputs as an array: `forward` computes the value and says
 * how to get the inputs' gradients from the output's (`save` keeps tensors for that).
 */
export function customOp(forward: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: Backward }) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    return forward(args as tf.Tensor[], save);
  });
}

const matMulOp = customOp(([a, b], save) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy, [a, b]) => [tf.matMul(dy, tf.transpose(b)), tf.matMul(tf.transpose(a), dy)],
  };
});

/** a @ b. Backward: da = dy @ bᵀ, db = aᵀ @ dy, transposing first so both stay plain matmuls. */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return matMulOp(a, b) as tf.Tensor2D;
}

/** Rows of `table` picked by integer `ids`. Backward scatters (adds) each row's gradient back to its id. */
export function embed(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  return gatherRows(table, tf.reshape(ids, [-1, 1])) as tf.Tensor2D;
}

/** log p[i, targets[i]] for each row i: the log-probability of each row's target. */
export function pickTargets(logProbs: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return gatherRows(logProbs, tf.stack([tf.range(0, targets.shape[0], 1, "int32"), targets], 1)) as tf.Tensor1D;
}

/** gatherND, whose gradient scatters back; tfjs has none for gather on WASM. */
function gatherRows(x: tf.Tensor, indices: tf.Tensor): tf.Tensor {
  const op = customOp(([x], save) => {
    save([indices]); // kept for the backward pass, which runs after the forward's other tensors are freed
    return {
      value: tf.gatherND(x, indices),
      gradFunc: (dy, [kept]) => tf.scatterND(kept, dy, x.shape),
    };
  });
  return op(x);
}

/**
 * A [size] vector that sums each update into its index (repeated indices add up).
 * Backward gathers each update's gradient from its index.
 */
export function scatterAdd(updates: tf.Tensor1D, indices: Int32Array, size: number): tf.Tensor1D {
  const at = tf.tensor2d(indices, [indices.length, 1], "int32");
  const op = customOp(([u], save) => {
    save([at]);
    return { value: tf.scatterND(at, u, [size]), gradFunc: (dy, [kept]) => tf.gatherND(dy, kept) };
  });
  return op(updates) as tf.Tensor1D;
}

/**
 * Blocks [n_i, w] stacked into [Σ n_i, w]. Backward cuts each block's rows out of the
 * gradient with gatherND: tf.concat's own gradient slices, and on WASM every slice
 * copies its whole input (a concat of B blocks copied the gradient B times over).
 */
export function concatRows(blocks: tf.Tensor2D[]): tf.Tensor2D {
  const op = customOp((inputs) => ({
    value: tf.concat(inputs, 0),
    gradFunc: (dy) => {
      let start = 0;
      return inputs.map((block) => {
        const rows = rowIndices(start, block.shape[0]);
        start += block.shape[0];
        return tf.gatherND(dy, rows);
      });
    },
  }));
  return op(...blocks) as tf.Tensor2D;
}

/** [[start], [start + 1], ..., [end - 1]]: gatherND's indices for a run of rows. */
export function rowIndices(start: number, count: number): tf.Tensor2D {
  const rows = new Int32Array(count);
  for (let i = 0; i < count; i++) rows[i] = start + i;
  return tf.tensor2d(rows, [count, 1], "int32");
}

const EPSILON = 1e-5;

const layerNormOp = customOp(([x, gain, bias], save) => {
  const centred = tf.sub(x, tf.mean(x, -1, true));
  const invStd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), EPSILON));
  const normed = tf.mul(centred, invStd);
  save([normed, invStd, gain]);
  return {
    value: tf.add(tf.mul(normed, gain), bias),
    gradFunc: (dy, [normed, invStd, gain]) => {
      // dx = invStd * (g - mean(g) - normed * mean(g * normed)), with g = dy * gain
      const g = tf.mul(dy, gain);
      const dx = tf.mul(
        invStd,
        tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(normed, tf.mean(tf.mul(g, normed), -1, true))),
      );
      return [dx, tf.sum(tf.mul(dy, normed), 0), tf.sum(dy, 0)];
    },
  };
});

/** Normalises each row to zero mean and unit variance, then scales by `gain` and shifts by `bias`. */
export function layerNorm(x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D): tf.Tensor2D {
  return layerNormOp(x, gain, bias) as tf.Tensor2D;
}

/**
 * GELU in its sigmoid form, x * sigmoid(1.702 x): within 0.02 of the exact one, and
 * several times faster on WASM, whose tanh and erf are slow.
 */
export function gelu(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
}

/** A variable holding `initial`, which is then freed (the variable keeps the data). */
export function variableFrom<R extends tf.Rank>(initial: tf.Tensor<R>, trainable = true): tf.Variable<R> {
  const variable = tf.variable(initial, trainable);
  initial.dispose();
  return variable;
}
