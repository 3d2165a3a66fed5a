#!/usr/bin/env node
// The CLI is TypeScript run through tsx's loader, so the published source is what runs.
import { register } from 'tsx/esm/api';

// `srpose ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
