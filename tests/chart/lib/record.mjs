// Appends one check result to a results file (JSON lines), for the shell scripts.
// Usage: node record.mjs RESULTS NAME Passed|Failed START_ISO [MESSAGE]
import { appendFileSync } from "node:fs";
const [file, name, outcome, start, message = ""] = process.argv.slice(2);
appendFileSync(file, JSON.stringify({ name, outcome, message, start, end: new Date().toISOString() }) + "\n");
