// Validation of custom resources against their CRD's openAPIV3Schema with ajv, the way the API server
// validates them:
//  - defaults are applied first (as the API server does before validation);
//  - OpenAPI v3.0 keywords become JSON Schema (nullable, boolean exclusiveMinimum/Maximum,
//    x-kubernetes-int-or-string);
//  - objects are closed unless they say x-kubernetes-preserve-unknown-fields: an unknown field is an error,
//    as with the API server's strict field validation (kubectl's default since Kubernetes 1.27);
//  - x-kubernetes-list-type set/map lists must have unique items/keys;
//  - metadata is ObjectMeta (validated with kubernetes-models), not the CRD's `type: object`;
//  - x-kubernetes-validations (CEL) rules are evaluated (see cel.mjs).
import { readFileSync } from "node:fs";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { parseAllDocuments } from "yaml";
import { celRules, evaluateCelRules } from "./cel.mjs";
import { validateAs } from "./k8s.mjs";

export function readYamlDocuments(file, text = readFileSync(file, "utf8")) {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const out = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** Converts a structural schema node into draft-07 JSON Schema for ajv. */
export function toJsonSchema(node, { isRoot = false, embedded = false } = {}) {
  if (node === null || typeof node !== "object") return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case "properties":
        out.properties = Object.fromEntries(
          Object.entries(value).map(([name, child]) => [
            name,
            isRoot && name === "metadata" ? { type: "object" } : toJsonSchema(child, { embedded: child["x-kubernetes-embedded-resource"] === true }),
          ]),
        );
        break;
      case "items":
        out.items = toJsonSchema(value);
        break;
      case "additionalProperties":
        out.additionalProperties = typeof value === "object" ? toJsonSchema(value) : value;
        break;
      case "allOf": case "anyOf": case "oneOf":
        out[key] = value.map((v) => toJsonSchema(v));
        break;
      case "not":
        out.not = toJsonSchema(value);
        break;
      case "exclusiveMinimum": case "exclusiveMaximum":
        break; // handled below (OpenAPI 3.0 booleans)
      case "nullable": case "example": case "externalDocs": case "title":
      case "x-kubernetes-preserve-unknown-fields": case "x-kubernetes-embedded-resource":
      case "x-kubernetes-int-or-string": case "x-kubernetes-list-map-keys": case "x-kubernetes-map-type":
      case "x-kubernetes-validations":
        break;
      case "x-kubernetes-list-type":
        if (value === "set") out.uniqueItems = true;
        if (value === "map" && node["x-kubernetes-list-map-keys"]) out.uniqueListMapKeys = node["x-kubernetes-list-map-keys"];
        break;
      default:
        out[key] = value;
    }
  }
  for (const [k, bound] of [["exclusiveMinimum", "minimum"], ["exclusiveMaximum", "maximum"]]) {
    if (node[k] === true && node[bound] !== undefined) { out[k] = node[bound]; delete out[bound]; }
    else if (typeof node[k] === "number") out[k] = node[k];
  }
  if (node["x-kubernetes-int-or-string"] === true) {
    delete out.type;
    if (!out.anyOf) out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  if (node.nullable === true) {
    if (typeof out.type === "string") out.type = [out.type, "null"];
    if (out.enum && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  const preserve = node["x-kubernetes-preserve-unknown-fields"] === true;
  if (node.type === "object" && out.additionalProperties === undefined && !preserve) {
    out.additionalProperties = false;
    if (embedded) {
      out.properties = { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" }, ...(out.properties ?? {}) };
    }
  }
  return out;
}

function collectFormats(node, into = new Set()) {
  if (node && typeof node === "object") {
    if (typeof node.format === "string") into.add(node.format);
    for (const v of Object.values(node)) collectFormats(v, into);
  }
  return into;
}

function newAjv() {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictTypes: false, strictTuples: false, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addFormat("int32", { type: "number", validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat("int64", { type: "number", validate: (n) => Number.isInteger(n) });
  ajv.addFormat("float", { type: "number", validate: () => true });
  ajv.addFormat("double", { type: "number", validate: () => true });
  ajv.addKeyword({
    keyword: "uniqueListMapKeys",
    type: "array",
    schemaType: "array",
    validate: function unique(keys, data) {
      const seen = new Set();
      for (const item of data) {
        const id = JSON.stringify(keys.map((k) => item?.[k]));
        if (seen.has(id)) {
          unique.errors = [{ keyword: "uniqueListMapKeys", message: `duplicate entry for list-map keys ${keys.join(",")} = ${id}`, params: {} }];
          return false;
        }
        seen.add(id);
      }
      return true;
    },
    errors: true,
  });
  return ajv;
}

/** Loads CRD objects from files and returns {crds, validate(obj) -> problems[]}. */
export async function loadCrds(files) {
  const crds = [];
  for (const file of files) {
    for (const doc of readYamlDocuments(file)) {
      if (doc.kind !== "CustomResourceDefinition") continue;
      crds.push({ file, crd: doc });
    }
  }
  const validators = new Map();
  for (const { crd } of crds) {
    for (const version of crd.spec?.versions ?? []) {
      const schema = version.schema?.openAPIV3Schema;
      if (!schema) continue;
      const ajv = newAjv();
      // Formats the API server ignores are ignored here too; the ones it knows are checked.
      for (const f of collectFormats(schema)) if (!ajv.formats[f]) ajv.addFormat(f, true);
      validators.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, {
        crd,
        version,
        served: version.served !== false,
        ajvValidate: ajv.compile(toJsonSchema(schema, { isRoot: true })),
        rules: celRules(schema),
      });
    }
  }

  async function validate(obj, where) {
    const [group, version] = String(obj?.apiVersion ?? "").split("/");
    const v = validators.get(`${group}/${version}/${obj?.kind}`);
    if (!v) return [`${where}: no CRD in ${files.join(", ")} defines ${obj?.apiVersion} ${obj?.kind}`];
    if (!v.served) return [`${where}: ${obj.apiVersion} is not served by the CRD`];
    const problems = [];
    const copy = structuredClone(obj);
    if (!v.ajvValidate(copy)) {
      for (const e of v.ajvValidate.errors) {
        const detail = e.keyword === "additionalProperties" ? `unknown field "${e.params.additionalProperty}"`
          : e.keyword === "enum" ? `${e.message}: ${e.params.allowedValues.join(", ")}`
          : e.message;
        problems.push(`${where} ${e.instancePath || "/"}: ${detail}`);
      }
    }
    const meta = obj.metadata;
    if (!meta || typeof meta !== "object") problems.push(`${where} /metadata: required`);
    else {
      if (!meta.name && !meta.generateName) problems.push(`${where} /metadata/name: required`);
      if (meta.name && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(meta.name)) {
        problems.push(`${where} /metadata/name: "${meta.name}" is not a DNS-1123 subdomain`);
      }
      if (v.crd.spec.scope === "Cluster" && meta.namespace) problems.push(`${where} /metadata/namespace: ${obj.kind} is cluster-scoped`);
      problems.push(...(await validateAs(meta, "meta/v1", "ObjectMeta", `${where} /metadata`)));
    }
    if (problems.length === 0) problems.push(...evaluateCelRules(v.rules, copy).map((p) => `${where} ${p}`));
    return problems;
  }

  return { crds, validators, validate };
}
