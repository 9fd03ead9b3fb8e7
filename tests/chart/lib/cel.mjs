// The CEL rules of a CRD schema (x-kubernetes-validations), evaluated on an object the way the API server
// does on create: `self` is the value at the rule's node; rules that read `oldSelf` are transition rules,
// which the API server evaluates only on update, so they do not apply to a new object.
// Evaluated with @marcbachmann/cel-js. A rule that does not compile here (a Kubernetes CEL library function
// this evaluator lacks) fails the check with that rule named: it is never passed over.
import { Environment } from "@marcbachmann/cel-js";

const env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false, enableOptionalTypes: true });

/** The schema itself, kept for a walk alongside the data. */
export function celRules(schema) {
  return schema;
}

// JSON numbers become CEL ints where they are integral (CEL has no implicit int/double conversion).
function toCel(value) {
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  return value;
}

function check(node, value, path, problems) {
  if (!node || typeof node !== "object" || value === undefined || value === null) return;
  for (const rule of node["x-kubernetes-validations"] ?? []) {
    if (/\boldSelf\b/.test(rule.rule)) continue; // transition rule: update only
    const where = `${path || "/"}${rule.fieldPath ? ` (${rule.fieldPath})` : ""}`;
    let ok;
    try {
      ok = env.evaluate(rule.rule, { self: toCel(value) });
    } catch (e) {
      problems.push(`${where}: CEL rule \`${rule.rule}\` could not be evaluated: ${String(e.message).split("\n")[0]}`);
      continue;
    }
    if (ok !== true) problems.push(`${where}: ${rule.message ?? `failed rule: ${rule.rule}`}${rule.messageExpression ? ` (${rule.messageExpression})` : ""}`);
  }
  if (node.properties && typeof value === "object" && !Array.isArray(value)) {
    for (const [name, child] of Object.entries(node.properties)) check(child, value[name], `${path}/${name}`, problems);
  }
  if (node.additionalProperties && typeof node.additionalProperties === "object" && typeof value === "object" && !Array.isArray(value)) {
    for (const [name, v] of Object.entries(value)) if (!node.properties?.[name]) check(node.additionalProperties, v, `${path}/${name}`, problems);
  }
  if (node.items && Array.isArray(value)) value.forEach((v, i) => check(node.items, v, `${path}/${i}`, problems));
  for (const k of ["allOf", "anyOf", "oneOf"]) for (const sub of node[k] ?? []) check(sub, value, path, problems);
}

/** Problems from the CEL rules of `schema` on `value` (with defaults already applied). */
export function evaluateCelRules(schema, value) {
  const problems = [];
  check(schema, value, "", problems);
  return problems;
}
