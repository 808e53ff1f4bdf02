#!/usr/bin/env node
// Entry point of the `katib` command: runs the compiled CLI (built by `npm ci` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new globalThis.URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('katib: the compiled CLI is missing (dist/src/cli/main.js); run `npm run build` in the katib-ts folder');
  process.exit(2);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv);
