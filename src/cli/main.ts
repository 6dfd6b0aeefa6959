#!/usr/bin/env node
// Entry point of the `token-broker` command.
import { runCli } from './program.js';
import { processTerminal } from './terminal.js';

const code = await runCli(process.argv.slice(2), processTerminal);
// Let stdout/stderr drain, then leave even if a handle (a gRPC channel) lingers.
process.exitCode = code;
setImmediate(() => process.exit(code));
