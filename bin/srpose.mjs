#!/usr/bin/env node
// The CLI: built JavaScript (lib/cli.mjs, from src/cli/main.ts by `npm run build`).
import { main } from '../lib/cli.mjs';

// `srpose ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
process.exitCode = await main(process.argv.slice(2));
