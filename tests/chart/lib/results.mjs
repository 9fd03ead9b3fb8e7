// Check results: one line of JSON per check, appended to a file that run.sh turns into a TRX file.
import { appendFileSync } from "node:fs";

export class Results {
  /** @param {string|undefined} file JSON-lines file to append to (optional). */
  constructor(file) {
    this.file = file;
    this.list = [];
  }

  /** Runs fn (sync or async); a thrown error or a non-empty returned list of problems fails the check. */
  async check(name, fn) {
    const start = new Date();
    let problems;
    try {
      const out = await fn();
      problems = Array.isArray(out) ? out : [];
    } catch (e) {
      problems = [e?.stack && !e.expected ? `${e.message}\n${e.stack.split("\n").slice(1, 4).join("\n")}` : String(e?.message ?? e)];
    }
    const end = new Date();
    this.record({ name, outcome: problems.length ? "Failed" : "Passed", message: problems.join("\n"), start: start.toISOString(), end: end.toISOString() });
    return problems.length === 0;
  }

  record(result) {
    this.list.push(result);
    if (this.file) appendFileSync(this.file, JSON.stringify(result) + "\n");
    const mark = result.outcome === "Passed" ? "ok  " : "FAIL";
    console.log(`${mark} ${result.name}`);
    if (result.outcome !== "Passed" && result.message) console.log(result.message.replace(/^/gm, "       "));
  }

  get failed() {
    return this.list.filter((r) => r.outcome !== "Passed");
  }
}

/** An error whose message is the whole story (no stack trace in the report). */
export function problem(message) {
  const e = new Error(message);
  e.expected = true;
  return e;
}
