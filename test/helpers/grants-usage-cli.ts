// Runs `warden grants usage` alone (its arguments after `usage`), as a child process for the CLI
// tests, until the `warden grants` dispatcher routes to it.
import { grantsUsageCommand } from "../../core/cli/grants-usage.ts";

process.exitCode = await grantsUsageCommand(process.argv.slice(2));
