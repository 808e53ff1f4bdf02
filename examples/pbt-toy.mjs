#!/usr/bin/env node
// The toy problem of the PBT paper (Jaderberg et al. 2017, section 4.1), as a trial program that really resumes.
// The true objective is Q(θ) = 1.2 − (θ0² + θ1²); training only sees the surrogate Q̂(θ|h) = 1.2 − (h0·θ0² + h1·θ1²),
// so good hyperparameters h are what make training improve Q. Each trial loads θ and the step count from
// `<checkpoint>/checkpoint.json` (its parent's, copied there before it starts), takes a few gradient steps, prints
// `score=Q(θ)` after each, and saves its checkpoint for its children.
//
// Usage: node pbt-toy.mjs --h0=0.5 --h1=0.5 --checkpoint=DIR [--steps=4] [--lr=0.05]
import fs from 'node:fs';
import path from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const h = [Number(args.h0), Number(args.h1)];
if (!h.every(Number.isFinite)) throw new Error(`pbt-toy: --h0 and --h1 must be numbers (got ${args.h0}, ${args.h1})`);
if (!args.checkpoint) throw new Error('pbt-toy: --checkpoint=DIR is required');
const steps = Number(args.steps ?? 4);
const lr = Number(args.lr ?? 0.05);
const file = path.join(args.checkpoint, 'checkpoint.json');

let state = { theta: [0.9, 0.9], step: 0 };
if (fs.existsSync(file)) {
  state = JSON.parse(fs.readFileSync(file, 'utf8'));
  console.log(`resumed from checkpoint at step ${state.step}`);
}
const score = (t) => 1.2 - (t[0] ** 2 + t[1] ** 2);
for (let i = 0; i < steps; i++) {
  // Gradient ascent on the surrogate: dQ̂/dθi = −2·hi·θi.
  state.theta = state.theta.map((t, k) => t + lr * (-2 * h[k] * t));
  state.step++;
  console.log(`step=${state.step} score=${score(state.theta).toFixed(6)}`);
}
fs.mkdirSync(args.checkpoint, { recursive: true });
fs.writeFileSync(file, JSON.stringify(state));
