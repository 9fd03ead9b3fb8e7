// Writes check results as a TRX file in the shape dotnet test's TRX logger writes, so the repository's
// tests/tools/trx-summary.sh counts them with the .NET tests.
// Usage: node trx.mjs RESULTS.jsonl OUT.trx [RUN_NAME]
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname } from "node:path";
import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";

const [resultsFile, out, runName = "kuorum-chart"] = process.argv.slice(2);
const results = existsSync(resultsFile)
  ? readFileSync(resultsFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l))
  : [];

const xml = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
  // XML 1.0 cannot carry most control characters, even escaped.
  .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "?");
// Stable test ids (a name always gets the same id), as the VSTest adapters derive them from the name.
const guid = (s) => {
  const h = createHash("sha256").update(s).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};
const duration = (ms) => {
  const total = Math.max(0, ms);
  const h = Math.floor(total / 3600000), m = Math.floor(total / 60000) % 60, s = Math.floor(total / 1000) % 60;
  const frac = String(Math.round((total % 1000) * 10000)).padStart(7, "0");
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}.${frac}`;
};

const unitTestType = "13cdc9d9-ddb5-4fa4-a97d-d965ccfc6d4b";
const listId = "8c84fa94-04c1-424b-9868-57a2d4851a1d";
const computer = hostname();
const now = new Date().toISOString();
const first = results[0]?.start ?? now;
const last = results.at(-1)?.end ?? now;
const rows = results.map((r) => ({ ...r, testId: guid(r.name), executionId: randomUUID() }));
const count = (o) => rows.filter((r) => r.outcome === o).length;
const passed = count("Passed"), failed = count("Failed"), notExecuted = count("NotExecuted");

const className = (name) => name.replace(/\(.*$/, "").split(".").slice(0, -1).join(".");
const methodName = (name) => name.replace(/\(.*$/, "").split(".").at(-1);

const lines = [];
lines.push(`<?xml version="1.0" encoding="utf-8"?>`);
lines.push(`<TestRun id="${randomUUID()}" name="${xml(runName)} ${xml(now)}" xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">`);
lines.push(`  <Times creation="${now}" queuing="${now}" start="${first}" finish="${last}" />`);
lines.push(`  <TestSettings name="default" id="${randomUUID()}">`);
lines.push(`    <Deployment runDeploymentRoot="${xml(runName)}" />`);
lines.push(`  </TestSettings>`);
lines.push(`  <Results>`);
for (const r of rows) {
  const attrs = `executionId="${r.executionId}" testId="${r.testId}" testName="${xml(r.name)}" computerName="${xml(computer)}" duration="${duration(Date.parse(r.end) - Date.parse(r.start))}" startTime="${r.start}" endTime="${r.end}" testType="${unitTestType}" outcome="${r.outcome}" testListId="${listId}" relativeResultsDirectory="${r.executionId}"`;
  if (r.outcome === "Failed" && r.message) {
    lines.push(`    <UnitTestResult ${attrs}>`);
    lines.push(`      <Output>`);
    lines.push(`        <ErrorInfo>`);
    lines.push(`          <Message>${xml(r.message)}</Message>`);
    lines.push(`        </ErrorInfo>`);
    lines.push(`      </Output>`);
    lines.push(`    </UnitTestResult>`);
  } else {
    lines.push(`    <UnitTestResult ${attrs} />`);
  }
}
lines.push(`  </Results>`);
lines.push(`  <TestDefinitions>`);
for (const r of rows) {
  lines.push(`    <UnitTest name="${xml(r.name)}" storage="tests/chart" id="${r.testId}">`);
  lines.push(`      <Execution id="${r.executionId}" />`);
  lines.push(`      <TestMethod codeBase="tests/chart" adapterTypeName="executor://kuorum/chart-checks" className="${xml(className(r.name))}" name="${xml(methodName(r.name))}" />`);
  lines.push(`    </UnitTest>`);
}
lines.push(`  </TestDefinitions>`);
lines.push(`  <TestEntries>`);
for (const r of rows) lines.push(`    <TestEntry testId="${r.testId}" executionId="${r.executionId}" testListId="${listId}" />`);
lines.push(`  </TestEntries>`);
lines.push(`  <TestLists>`);
lines.push(`    <TestList name="Results Not in a List" id="${listId}" />`);
lines.push(`    <TestList name="All Loaded Results" id="19431567-8539-422a-85d7-44ee4e166bda" />`);
lines.push(`  </TestLists>`);
lines.push(`  <ResultSummary outcome="${failed ? "Failed" : "Completed"}">`);
lines.push(`    <Counters total="${rows.length}" executed="${passed + failed}" passed="${passed}" failed="${failed}" error="0" timeout="0" aborted="0" inconclusive="0" passedButRunAborted="0" notRunnable="0" notExecuted="${notExecuted}" disconnected="0" warning="0" completed="0" inProgress="0" pending="0" />`);
lines.push(`  </ResultSummary>`);
lines.push(`</TestRun>`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, "\ufeff" + lines.join("\n") + "\n");
