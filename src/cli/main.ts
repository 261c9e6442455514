#!/usr/bin/env node
// The `ts-kcl` command line. Each subcommand lives in its own file and is added below.
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { dashboardCommand } from './dashboard-command.js';
import { multilangCommand } from './multilang-command.js';
import { statusCommand } from './status-command.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('ts-kcl')
  .description('ts-kcl: a native TypeScript Kinesis Client Library (Java KCL 2.x lease table and lifecycle, no Java)')
  .version(version)
  .showHelpAfterError();

program.addCommand(multilangCommand());
program.addCommand(statusCommand());
program.addCommand(dashboardCommand());
// `status` and `demo` are added here the same way: program.addCommand(statusCommand()); …

await program.parseAsync(process.argv);
