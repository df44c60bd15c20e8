/** Descriptors to train on: `rows` vectors of `dim` floats, row-major. */
export interface FeatureMatrix {
  rows: number;
  dim: number;
  data: Float32Array;
}

export function featureMatrix(vectors: Float32Array[]): FeatureMatrix {
  if (vectors.length === 0) throw new Error('no descriptors to train on');
  const dim = vectors[0].length;
  const data = new Float32Array(vectors.length * dim);
  vectors.forEach((v, i) => {
    if (v.length !== dim) throw new Error(`descriptor ${i} has ${v.length} dims, expected ${dim}`);
    data.set(v, i * dim);
  });
  return { rows: vectors.length, dim, data };
}

/** Rows `idx` of `x`, in that order. */
export function selectRows(x: FeatureMatrix, idx: ArrayLike<number>): FeatureMatrix {
  const data = new Float32Array(idx.length * x.dim);
  for (let i = 0; i < idx.length; i++) data.set(x.data.subarray(idx[i] * x.dim, (idx[i] + 1) * x.dim), i * x.dim);
  return { rows: idx.length, dim: x.dim, data };
}

/** Per-dimension mean (float64 accumulation). */
export function columnMean(x: FeatureMatrix): Float32Array {
  const acc = new Float64Array(x.dim);
  for (let r = 0; r < x.rows; r++) {
    const o = r * x.dim;
    for (let k = 0; k < x.dim; k++) acc[k] += x.data[o + k];
  }
  return Float32Array.from(acc, (v) => v / x.rows);
}

/** Per-dimension standard deviation around `mean`. */
export function columnStd(x: FeatureMatrix, mean: Float32Array): Float32Array {
  const acc = new Float64Array(x.dim);
  for (let r = 0; r < x.rows; r++) {
    const o = r * x.dim;
    for (let k = 0; k < x.dim; k++) acc[k] += (x.data[o + k] - mean[k]) ** 2;
  }
  return Float32Array.from(acc, (v) => Math.sqrt(v / Math.max(1, x.rows - 1)));
}
