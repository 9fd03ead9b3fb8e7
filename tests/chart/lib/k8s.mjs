// Validation of rendered Kubernetes objects against the official OpenAPI schemas, offline.
//
// Two checks per object:
//  1. kubernetes-models' validators (ajv code generated from the Kubernetes OpenAPI spec): types, enums,
//     required fields, formats.
//  2. Unknown fields, as the API server's strict field validation reports them (kubectl's default since
//     Kubernetes 1.27). The OpenAPI spec does not close its objects, so the generated validators let a
//     misspelt key such as `readOnlyRootFilesytem` through. The field lists are read from the same
//     package's TypeScript declarations, which are generated from the same spec.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const nodeModules = resolve(here, "..", "node_modules");

/** Where each API group's models live: kubernetes-models for the built-in kinds, plus the
 *  Prometheus Operator's kinds (ServiceMonitor) from @kubernetes-models/prometheus-operator. */
function modelDir(apiVersion) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (apiVersion === "meta/v1") return join(nodeModules, "@kubernetes-models/apimachinery/apis/meta/v1");
  if (group === "monitoring.coreos.com") return join(nodeModules, "@kubernetes-models/prometheus-operator", group, version);
  return join(nodeModules, "kubernetes-models", group === "" ? version : join(group, version));
}

export function modelFile(apiVersion, kind) {
  const file = join(modelDir(apiVersion), `${kind}.js`);
  return existsSync(file) ? file : null;
}

const modelCache = new Map();
async function loadModel(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (!modelCache.has(key)) {
    const file = modelFile(apiVersion, kind);
    modelCache.set(key, file ? (await import(pathToFileURL(file).href))[kind] : null);
  }
  return modelCache.get(key);
}

// ---- Field lists from the .d.ts declarations ------------------------------------------------------

const declCache = new Map();

/** Parses the first `export interface` of a .d.ts file into {fields: Map(name -> typeText), imports: Map}. */
function readDeclaration(dtsFile) {
  if (declCache.has(dtsFile)) return declCache.get(dtsFile);
  const text = readFileSync(dtsFile, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/^import \{ ([^}]+) \} from "([^"]+)";$/gm)) {
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) imports.set(name, m[2]);
  }
  const start = text.search(/^export interface \w+(?: extends [\w, ]+)? \{/m);
  let decl = null;
  if (start >= 0) {
    const fields = new Map();
    const body = text.slice(text.indexOf("{", start) + 1);
    // Strip comments, then walk the body at brace depth 0 collecting `"name"?: type;`.
    const code = body.replace(/\/\*[\s\S]*?\*\//g, "");
    let depth = 0, current = "";
    for (const ch of code) {
      if (depth === 0 && ch === "}") break;
      if (ch === "{" || ch === "<" || ch === "(") depth++;
      if (ch === "}" || ch === ">" || ch === ")") depth--;
      if (ch === ";" && depth === 0) {
        const m = current.trim().match(/^"([^"]+)"\??:\s*([\s\S]*)$/);
        if (m) fields.set(m[1], m[2].trim());
        current = "";
      } else current += ch;
    }
    decl = { fields, imports, file: dtsFile };
  }
  declCache.set(dtsFile, decl);
  return decl;
}

function resolveImport(fromFile, spec) {
  const base = spec.startsWith(".") ? resolve(dirname(fromFile), spec) : join(nodeModules, spec);
  const dts = base.replace(/\.js$/, "") + ".d.ts";
  return existsSync(dts) ? dts : null;
}

/** Turns a type text into a walker: {kind: "object", decl} | {kind: "array", of} | {kind: "map", of} | {kind: "leaf"}. */
function typeOf(typeText, decl) {
  const t = typeText.replace(/\s+/g, " ").trim();
  let m = t.match(/^Array<(.*)>$/);
  if (m) return { kind: "array", of: typeOf(m[1], decl) };
  m = t.match(/^\{ \[key: string\]: (.*?);? \}$/);
  if (m) return { kind: "map", of: typeOf(m[1], decl) };
  m = t.match(/^(\w+)$/);
  if (m && decl.imports.has(m[1])) {
    const file = resolveImport(decl.file, decl.imports.get(m[1]));
    const target = file && readDeclaration(file);
    // Interfaces with no fields (RawExtension and the like) are open: anything goes.
    if (target && target.fields.size > 0) return { kind: "object", decl: target };
  }
  return { kind: "leaf" };
}

function unknownFields(value, decl, path, out) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const typeText = decl.fields.get(key);
    if (typeText === undefined) {
      out.push(`${path}/${key}: unknown field (not in ${decl.file.split("node_modules/")[1].replace(/\.d\.ts$/, "")})`);
      continue;
    }
    walk(child, typeOf(typeText, decl), `${path}/${key}`, out);
  }
}

function walk(value, type, path, out) {
  if (value === null || value === undefined) return;
  if (type.kind === "object") unknownFields(value, type.decl, path, out);
  else if (type.kind === "array" && Array.isArray(value)) value.forEach((v, i) => walk(v, type.of, `${path}/${i}`, out));
  else if (type.kind === "map" && typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, type.of, `${path}/${k}`, out);
}

/** Unknown fields of a value of the model type `kind` in `apiVersion` (e.g. "v1", "PodTemplateSpec"). */
export function unknownFieldsOf(value, apiVersion, kind, path = "") {
  const file = modelFile(apiVersion, kind);
  if (!file) return [`${path || "/"}: no model for ${apiVersion} ${kind}`];
  const decl = readDeclaration(file.replace(/\.js$/, ".d.ts"));
  if (!decl) return [`${path || "/"}: cannot read the declaration of ${apiVersion} ${kind}`];
  const out = [];
  unknownFields(value, decl, path, out);
  return out;
}

function describeAjvErrors(errors, prefix = "") {
  return (errors ?? []).map((e) => {
    const where = `${prefix}${e.instancePath}` || "/";
    const detail = e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : "";
    return `${where}: ${e.message ?? e.keyword}${detail}`;
  });
}

/**
 * Validates one object of a built-in kind (or a ServiceMonitor). Returns a list of problems, empty when valid.
 * An object of a kind the models do not know is itself a problem: nothing is waved through unchecked.
 */
export async function validateObject(obj) {
  const where = `${obj?.kind ?? "?"}/${obj?.metadata?.name ?? "?"}`;
  if (!obj || typeof obj !== "object") return [`${where}: not an object`];
  if (!obj.apiVersion || !obj.kind) return [`${where}: apiVersion and kind are required`];
  const Model = await loadModel(obj.apiVersion, obj.kind);
  if (!Model) return [`${where}: no official schema for ${obj.apiVersion} ${obj.kind}`];
  const problems = [];
  try {
    new Model(obj).validate();
  } catch (e) {
    problems.push(...(e.errors ? describeAjvErrors(e.errors, "") : [e.message]));
  }
  problems.push(...unknownFieldsOf(obj, obj.apiVersion, obj.kind));
  return problems.map((p) => `${where} ${p}`);
}

/** Validates a value against a model type that is not a top-level kind, e.g. v1 PodTemplateSpec. */
export async function validateAs(value, apiVersion, kind, path) {
  const Model = await loadModel(apiVersion, kind);
  if (!Model) return [`${path}: no model for ${apiVersion} ${kind}`];
  const problems = [];
  try {
    new Model(value).validate();
  } catch (e) {
    problems.push(...(e.errors ? describeAjvErrors(e.errors, path) : [`${path}: ${e.message}`]));
  }
  problems.push(...unknownFieldsOf(value, apiVersion, kind, path));
  return problems;
}
