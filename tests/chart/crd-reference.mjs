#!/usr/bin/env node
// Generates docs/consensuscluster-reference.md from the CRD (crds/kuorum.io_consensusclusters.yaml): every
// field with its type, default, bounds and description, the cross-field rules, and the printer columns.
// `make crd-docs` writes it; `make chart` fails when the checked-in page differs from what this generates.
//
// Usage: node tests/chart/crd-reference.mjs [--crd FILE] [--write | --check]
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readYamlDocuments } from "./lib/crd.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const OUT = join(root, "docs/consensuscluster-reference.md");

// Fields that hold a Kubernetes type: the type is named beside what the CRD itself checks.
const KUBERNETES_TYPES = new Map([
  ["spec.template", "[PodTemplateSpec](https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-template-v1/#PodTemplateSpec)"],
  ["spec.agent.resources", "[ResourceRequirements](https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#resources)"],
]);

const cell = (s) => String(s ?? "").replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|").trim();
const code = (v) => "`" + (typeof v === "string" ? v : JSON.stringify(v)).replace(/`/g, "'") + "`";

function typeName(node, path) {
  if (KUBERNETES_TYPES.has(path)) return `${node.type ?? "object"} (a Kubernetes ${KUBERNETES_TYPES.get(path)})`;
  if (node["x-kubernetes-int-or-string"]) return "integer or string";
  if (node.type === "array") return `array of ${node.items ? typeName(node.items, `${path}[]`) : "any"}`;
  if (node.type === "object" && node.additionalProperties && typeof node.additionalProperties === "object") {
    return `map of string to ${typeName(node.additionalProperties, `${path}{}`)}`;
  }
  if (node.type === "object" && !node.properties && node["x-kubernetes-preserve-unknown-fields"]) return "object (any fields)";
  return node.type ?? (node.anyOf ? node.anyOf.map((x) => x.type).filter(Boolean).join(" or ") : "any");
}

function constraints(node) {
  const c = [];
  if (node.enum) c.push(`one of ${node.enum.map(code).join(", ")}`);
  if (node.minimum !== undefined) c.push(`≥ ${node.minimum}`);
  if (node.maximum !== undefined) c.push(`≤ ${node.maximum}`);
  if (node.exclusiveMinimum === true) c.push("(exclusive minimum)");
  if (node.exclusiveMaximum === true) c.push("(exclusive maximum)");
  if (node.minLength !== undefined) c.push(`length ≥ ${node.minLength}`);
  if (node.maxLength !== undefined) c.push(`length ≤ ${node.maxLength}`);
  if (node.minItems !== undefined) c.push(`items ≥ ${node.minItems}`);
  if (node.maxItems !== undefined) c.push(`items ≤ ${node.maxItems}`);
  if (node.pattern) c.push(`matches ${code(node.pattern)}`);
  if (node.format) c.push(`format ${code(node.format)}`);
  if (node["x-kubernetes-list-type"]) c.push(`list type ${code(node["x-kubernetes-list-type"])}${node["x-kubernetes-list-map-keys"] ? ` keyed by ${node["x-kubernetes-list-map-keys"].map(code).join(", ")}` : ""}`);
  if (node.nullable) c.push("may be null");
  return c.join("; ");
}

function rows(node, path, required, out, rules) {
  for (const r of node["x-kubernetes-validations"] ?? []) rules.push({ path, ...r });
  const children = node.properties ?? {};
  for (const name of Object.keys(children)) {
    const child = children[name];
    const childPath = `${path}.${name}`;
    out.push(`| ${code(childPath)}${(node.required ?? []).includes(name) ? " (required)" : ""} | ${cell(typeName(child, childPath))} | ${child.default !== undefined ? code(child.default) : ""} | ${cell(constraints(child))} | ${cell(child.description)} |`);
    rows(child, childPath, node.required ?? [], out, rules);
  }
  if (node.type === "array" && node.items) {
    for (const r of node.items["x-kubernetes-validations"] ?? []) rules.push({ path: `${path}[]`, ...r });
    if (node.items.properties) rows({ ...node.items, "x-kubernetes-validations": undefined }, `${path}[]`, [], out, rules);
  }
  if (node.additionalProperties && typeof node.additionalProperties === "object" && node.additionalProperties.properties) {
    rows(node.additionalProperties, `${path}{}`, [], out, rules);
  }
}

function section(title, node, path) {
  const out = [], rules = [];
  rows(node, path, [], out, rules);
  const lines = [`## ${title}`, ""];
  if (node.description) lines.push(cell(node.description), "");
  lines.push("| field | type | default | validation | description |", "|---|---|---|---|---|", ...out, "");
  if (rules.length) {
    lines.push(`### Rules on ${code(path)} checked by the API server (CEL)`, "");
    for (const r of rules) {
      const when = /\boldSelf\b/.test(r.rule) ? " (on update)" : "";
      lines.push(`- on ${code(r.path)}${when}: ${cell(r.message ?? r.messageExpression ?? "")} — ${code(r.rule)}`);
    }
    lines.push("");
  }
  return lines;
}

export function renderReference(crdFile) {
  const crd = readYamlDocuments(crdFile).find((o) => o.kind === "CustomResourceDefinition");
  if (!crd) throw new Error(`${crdFile}: no CustomResourceDefinition`);
  const s = crd.spec;
  const lines = [
    "# ConsensusCluster reference",
    "",
    `<!-- Generated from ${relative(root, crdFile)} by \`make crd-docs\` (tests/chart/crd-reference.mjs). Do not edit: \`make chart\` fails when this page and the CRD differ. -->`,
    "",
  ];
  for (const v of s.versions ?? []) {
    if (v.served === false) continue;
    const schema = v.schema?.openAPIV3Schema ?? {};
    lines.push(
      `\`${s.names.kind}\` — API version \`${s.group}/${v.name}\`${v.storage ? "" : " (not the storage version)"}, ${s.scope === "Namespaced" ? "namespaced" : "cluster-scoped"}; ` +
        `plural \`${s.names.plural}\`${s.names.shortNames?.length ? `, short name${s.names.shortNames.length > 1 ? "s" : ""} ${s.names.shortNames.map(code).join(", ")}` : ""}.`,
      "",
    );
    if (schema.description) lines.push(cell(schema.description), "");
    const sub = v.subresources ?? {};
    const extras = [];
    if (sub.status) extras.push("a `status` subresource (the operator writes status; users write spec)");
    if (sub.scale) extras.push(`a \`scale\` subresource (\`kubectl scale ${s.names.shortNames?.[0] ?? s.names.singular}/NAME --replicas=N\` sets \`${sub.scale.specReplicasPath}\`)`);
    if (extras.length) lines.push(`It has ${extras.join(" and ")}.`, "");
    const columns = v.additionalPrinterColumns ?? [];
    if (columns.length) {
      lines.push(`\`kubectl get ${s.names.shortNames?.[0] ?? s.names.plural}\` shows:`, "", "| column | type | from | description |", "|---|---|---|---|");
      for (const c of columns) lines.push(`| ${cell(c.name)} | ${cell(c.type)} | ${code(c.jsonPath)} | ${cell(c.description)} |`);
      lines.push("");
    }
    for (const part of ["spec", "status"]) {
      if (schema.properties?.[part]) lines.push(...section(`${part} (${s.group}/${v.name})`, schema.properties[part], part));
    }
    for (const r of schema["x-kubernetes-validations"] ?? []) lines.push(`- on the object: ${cell(r.message ?? "")} — ${code(r.rule)}`);
  }
  return lines.join("\n").replace(/\n+$/, "\n");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const crdIdx = argv.indexOf("--crd");
  const crdFile = crdIdx >= 0 ? resolve(argv[crdIdx + 1]) : join(root, "crds/kuorum.io_consensusclusters.yaml");
  if (!existsSync(crdFile)) {
    console.error(`${relative(root, crdFile)} missing: run make crds`);
    process.exit(1);
  }
  const text = renderReference(crdFile);
  if (argv.includes("--write")) {
    writeFileSync(OUT, text);
    console.log(`wrote ${relative(root, OUT)}`);
  } else if (argv.includes("--check")) {
    const same = existsSync(OUT) && readFileSync(OUT, "utf8") === text;
    console.log(same ? `${relative(root, OUT)} matches the CRD` : `${relative(root, OUT)} differs from the CRD: run make crd-docs`);
    process.exit(same ? 0 : 1);
  } else process.stdout.write(text);
}
