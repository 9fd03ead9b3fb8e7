#!/usr/bin/env node
// The checks behind `make chart`: Helm lint and template of charts/kuorum with the default values and each
// documented option, every rendered object against the official Kubernetes schemas, the operator's
// contract (arguments, probes, security context, exact RBAC), the CRD copy, manifests/install.yaml, the
// sample ConsensusClusters and the YAML in the docs against the CRD, and the generated CRD reference.
//
// Usage: node tests/chart/check.mjs --helm PATH [--results FILE] [--only GROUPS] [--values FILE]... [--samples PATH]...
//        node tests/chart/check.mjs --helm PATH --write-manifests
//   GROUPS: comma-separated of tools, crds, lint, render, manifests, samples, notes, docs
//   --values FILE   lint and render only with this values file (negative.sh feeds broken ones)
//   --samples PATH  validate these ConsensusCluster files instead of manifests/samples/*.yaml
//   --crds DIR      read the CRDs from DIR instead of crds/
// Exits 1 when any check fails.
import { readFileSync, writeFileSync, existsSync, readdirSync, statSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { Results, problem } from "./lib/results.mjs";
import { validateObject, validateAs } from "./lib/k8s.mjs";
import { loadCrds, readYamlDocuments } from "./lib/crd.mjs";
import { renderReference } from "./crd-reference.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const rel = (p) => relative(root, p) || ".";

// ---- The fixed facts the checks hold the chart to -------------------------------------------------

const CHART = join(root, "charts/kuorum");
const RELEASE = "kuorum";
const NAMESPACE = "kuorum-system";
const CRD_NAME = "kuorum.io_consensusclusters.yaml";
const INSTALL_YAML = join(root, "manifests/install.yaml");
const REFERENCE_DOC = join(root, "docs/consensuscluster-reference.md");
const OWNED_DOCS = ["docs/install.md", "docs/getting-started.md", "docs/troubleshooting.md"].map((d) => join(root, d));
const CASES_DIR = join(here, "cases");
const APP_VERSION = /^appVersion:\s*"?([^"\s]+)"?/m.exec(readFileSync(join(CHART, "Chart.yaml"), "utf8"))[1];

/** The operator's permissions, exactly (group|resource|verb). */
const MANAGER_RULES = expand([
  ["kuorum.io", ["consensusclusters"], ["get", "list", "watch", "update", "patch"]],
  ["kuorum.io", ["consensusclusters/status"], ["get", "update", "patch"]],
  ["kuorum.io", ["consensusclusters/finalizers"], ["update"]],
  ["apps", ["statefulsets"], ["get", "list", "watch", "create", "update", "patch", "delete"]],
  ["", ["services", "configmaps", "serviceaccounts"], ["get", "list", "watch", "create", "update", "patch", "delete"]],
  ["", ["secrets"], ["get", "list", "watch", "create", "update"]],
  ["policy", ["poddisruptionbudgets"], ["get", "list", "watch", "create", "update", "patch", "delete"]],
  ["rbac.authorization.k8s.io", ["roles", "rolebindings"], ["get", "list", "watch", "create", "update", "patch", "delete"]],
  ["", ["pods"], ["get", "list", "watch", "patch"]],
  ["", ["events"], ["create", "patch"]],
  ["events.k8s.io", ["events"], ["create", "patch"]],
]);
const LEASE_RULES = expand([["coordination.k8s.io", ["leases"], ["get", "create", "update"]]]);

function expand(rules) {
  const out = new Set();
  for (const [group, resources, verbs] of rules) for (const r of resources) for (const v of verbs) out.add(`${group}|${r}|${v}`);
  return out;
}

const image = (repo, tag = APP_VERSION) => `${repo}:${tag}`;
const DEFAULTS = {
  replicas: 1,
  scope: "cluster",
  watch: "",
  leaderElection: true,
  rbac: true,
  serviceAccount: RELEASE,
  createServiceAccount: true,
  metricsService: true,
  serviceMonitor: false,
  createNamespace: false,
  image: image("ghcr.io/kuorum/kuorum-operator"),
  agentImage: image("ghcr.io/kuorum/kuorum-agent"),
  pullPolicy: "IfNotPresent",
};

/** Each documented option, the values file that turns it on, and what it must render. */
const CASES = [
  { name: "default", values: null, expect: {} },
  { name: "namespace-scope", expect: { scope: "namespace", watch: NAMESPACE } },
  { name: "namespace-scope-other", expect: { scope: "namespace", watch: "team-a" } },
  { name: "service-monitor", expect: { serviceMonitor: true } },
  { name: "no-leader-election", expect: { leaderElection: false } },
  { name: "high-availability", expect: { replicas: 2 } },
  {
    name: "private-registry",
    expect: {
      image: "registry.example.com/mirror/kuorum-operator@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      agentImage: "registry.example.com/mirror/kuorum-agent:0.1.0-patched",
      pullPolicy: "Always",
    },
  },
  { name: "existing-service-account", expect: { rbac: false, createServiceAccount: false, serviceAccount: "kuorum-operator-managed" } },
  { name: "plain-install", expect: { createNamespace: true } },
].map((c) => ({ values: join(CASES_DIR, `${c.name}.yaml`), ...c, expect: { ...DEFAULTS, ...c.expect } }));
const PLAIN_INSTALL = CASES.find((c) => c.name === "plain-install");

// ---- Command line ---------------------------------------------------------------------------------

const args = { values: [], samples: [], only: null, helm: null, results: undefined, crds: join(root, "crds"), writeManifests: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const next = () => process.argv[++i] ?? (console.error(`${a} needs a value`), process.exit(2));
  if (a === "--helm") args.helm = resolve(next());
  else if (a === "--results") args.results = resolve(next());
  else if (a === "--only") args.only = new Set(next().split(","));
  else if (a === "--values") args.values.push(resolve(next()));
  else if (a === "--samples") args.samples.push(resolve(next()));
  else if (a === "--crds") args.crds = resolve(next());
  else if (a === "--write-manifests") args.writeManifests = true;
  else { console.error(`unknown argument ${a}`); process.exit(2); }
}
if (!args.helm) { console.error("--helm PATH is required"); process.exit(2); }
const wants = (group) => !args.only || args.only.has(group);
const crdFile = join(args.crds, CRD_NAME);
const crdMissing = `${rel(crdFile)} missing: run make crds`;

// ---- Helm ---------------------------------------------------------------------------------------------

function helm(...helmArgs) {
  const r = spawnSync(args.helm, helmArgs, { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw problem(`helm ${helmArgs.join(" ")}: ${r.error.message}`);
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr.trim() };
}

const valuesArgs = (file) => (file ? ["--values", file] : []);

function render(valuesFile) {
  const r = helm("template", RELEASE, CHART, "--namespace", NAMESPACE, "--include-crds", ...valuesArgs(valuesFile));
  if (!r.ok) throw problem(`helm template failed${valuesFile ? ` with ${rel(valuesFile)}` : ""}:\n${r.stderr}`);
  return r.stdout;
}

export function installYaml() {
  const header = [
    "# Kuorum: the plain install, for `kubectl apply --server-side -f manifests/install.yaml`.",
    "# Generated from charts/kuorum by `make manifests`: do not edit; change the chart and regenerate.",
    `# Same as: helm template ${RELEASE} charts/kuorum --namespace ${NAMESPACE} --include-crds --values ${rel(PLAIN_INSTALL.values)}`,
  ].join("\n");
  return `${header}\n${render(PLAIN_INSTALL.values)}`;
}

// ---- Contract of the rendered chart ---------------------------------------------------------------

const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"]);
const STANDARD_LABELS = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of", "helm.sh/chart"];

function ruleSet(rules) {
  const out = new Set();
  for (const r of rules ?? []) {
    if (r.resourceNames || r.nonResourceURLs) out.add(`unexpected resourceNames/nonResourceURLs in ${JSON.stringify(r)}`);
    for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const v of r.verbs ?? []) out.add(`${g}|${res}|${v}`);
  }
  return out;
}

function sameSet(actual, expected, what) {
  const extra = [...actual].filter((x) => !expected.has(x));
  const missing = [...expected].filter((x) => !actual.has(x));
  return [
    ...extra.map((x) => `${what}: grants more than the operator needs: ${x}`),
    ...missing.map((x) => `${what}: lacks ${x}`),
  ];
}

function contract(objects, e) {
  const p = [];
  const find = (kind, pred = () => true) => objects.filter((o) => o.kind === kind && pred(o));
  const fullname = RELEASE;

  for (const o of objects) {
    const id = `${o.kind}/${o.metadata?.name}`;
    if (o.kind === "CustomResourceDefinition") continue; // generated, labelled by the CRD generator
    for (const l of STANDARD_LABELS) if (!o.metadata?.labels?.[l]) p.push(`${id}: missing label ${l}`);
    if (CLUSTER_SCOPED.has(o.kind) && o.metadata?.namespace) p.push(`${id}: cluster-scoped but has a namespace`);
    if (!CLUSTER_SCOPED.has(o.kind) && !o.metadata?.namespace) p.push(`${id}: no metadata.namespace (kubectl apply would put it in the current namespace)`);
  }

  // The operator Deployment.
  const deployments = find("Deployment");
  if (deployments.length !== 1) return [...p, `expected one Deployment, found ${deployments.length}`];
  const d = deployments[0];
  if (d.metadata.name !== `${fullname}-operator`) p.push(`Deployment name ${d.metadata.name}, expected ${fullname}-operator`);
  if (d.metadata.namespace !== NAMESPACE) p.push(`Deployment namespace ${d.metadata.namespace}, expected ${NAMESPACE}`);
  if (d.spec.replicas !== e.replicas) p.push(`replicas ${d.spec.replicas}, expected ${e.replicas}`);
  const podLabels = d.spec.template.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(d.spec.selector.matchLabels ?? {})) if (podLabels[k] !== v) p.push(`selector ${k}=${v} does not match the pod labels`);
  const pod = d.spec.template.spec;
  if (pod.serviceAccountName !== e.serviceAccount) p.push(`serviceAccountName ${pod.serviceAccountName}, expected ${e.serviceAccount}`);
  const c = pod.containers.find((x) => x.name === "operator");
  if (!c) return [...p, "no container named operator"];
  if (c.image !== e.image) p.push(`image ${c.image}, expected ${e.image}`);
  if (c.imagePullPolicy !== e.pullPolicy) p.push(`imagePullPolicy ${c.imagePullPolicy}, expected ${e.pullPolicy}`);
  const wantArgs = [
    `--leader-elect=${e.leaderElection}`,
    `--leader-election-namespace=${NAMESPACE}`,
    `--watch-namespace=${e.watch}`,
    "--metrics-bind-address=:8080",
    "--health-probe-bind-address=:8081",
    `--agent-image=${e.agentImage}`,
  ];
  for (const a of wantArgs) if (!(c.args ?? []).includes(a)) p.push(`operator args lack ${a} (have ${JSON.stringify(c.args)})`);
  const envRef = (name) => c.env?.find((x) => x.name === name)?.valueFrom?.fieldRef?.fieldPath;
  if (envRef("POD_NAMESPACE") !== "metadata.namespace") p.push("env POD_NAMESPACE is not the fieldRef metadata.namespace");
  if (envRef("POD_NAME") !== "metadata.name") p.push("env POD_NAME is not the fieldRef metadata.name");
  const port = (nameOrNumber) => (typeof nameOrNumber === "number" ? nameOrNumber : c.ports?.find((x) => x.name === nameOrNumber)?.containerPort);
  for (const [probe, path] of [["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]]) {
    const g = c[probe]?.httpGet;
    if (!g || g.path !== path || port(g.port) !== 8081) p.push(`${probe} is not GET ${path} on port 8081`);
  }
  if (port("metrics") !== 8080) p.push("no container port named metrics on 8080");
  // Security: non-root, read-only root file system, no privilege escalation, every capability dropped.
  const psc = pod.securityContext ?? {}, sc = c.securityContext ?? {};
  if (psc.runAsNonRoot !== true && sc.runAsNonRoot !== true) p.push("runAsNonRoot is not true");
  if ((sc.runAsUser ?? psc.runAsUser) !== 65532) p.push("the operator does not run as uid 65532");
  if (sc.allowPrivilegeEscalation !== false) p.push("allowPrivilegeEscalation is not false");
  if (sc.readOnlyRootFilesystem !== true) p.push("readOnlyRootFilesystem is not true");
  if (!(sc.capabilities?.drop ?? []).includes("ALL")) p.push("capabilities.drop does not contain ALL");
  if ((sc.capabilities?.add ?? []).length) p.push(`capabilities added: ${sc.capabilities.add}`);
  if (sc.privileged) p.push("privileged");
  if ((sc.seccompProfile ?? psc.seccompProfile)?.type !== "RuntimeDefault") p.push("seccompProfile is not RuntimeDefault");
  if (!c.resources?.requests?.memory || !c.resources?.limits?.memory) p.push("memory request or limit missing");

  // ServiceAccount.
  const sas = find("ServiceAccount");
  if (e.createServiceAccount && !sas.some((s) => s.metadata.name === e.serviceAccount && s.metadata.namespace === NAMESPACE)) p.push(`no ServiceAccount ${e.serviceAccount}`);
  if (!e.createServiceAccount && sas.length) p.push("a ServiceAccount is rendered though serviceAccount.create is false");

  // RBAC: exactly the contract, in the right scope.
  const subjectOk = (b) => (b.subjects ?? []).length === 1 && b.subjects[0].kind === "ServiceAccount" && b.subjects[0].name === e.serviceAccount && b.subjects[0].namespace === NAMESPACE;
  const bound = (bindingKind, roleKind, name, ns) => {
    const b = find(bindingKind, (x) => x.roleRef?.kind === roleKind && x.roleRef?.name === name && (ns === undefined || x.metadata.namespace === ns));
    if (b.length !== 1) return [`expected one ${bindingKind} of ${roleKind}/${name}, found ${b.length}`];
    return subjectOk(b[0]) ? [] : [`${bindingKind}/${b[0].metadata.name} does not bind exactly ServiceAccount ${NAMESPACE}/${e.serviceAccount}`];
  };
  const clusterRoles = find("ClusterRole"), roles = find("Role");
  if (!e.rbac) {
    if (clusterRoles.length || roles.length || find("RoleBinding").length || find("ClusterRoleBinding").length) p.push("RBAC objects rendered though rbac.create is false");
  } else {
    if (e.scope === "cluster") {
      if (clusterRoles.length !== 1) p.push(`expected one ClusterRole, found ${clusterRoles.length}`);
      else {
        p.push(...sameSet(ruleSet(clusterRoles[0].rules), MANAGER_RULES, `ClusterRole/${clusterRoles[0].metadata.name}`));
        p.push(...bound("ClusterRoleBinding", "ClusterRole", clusterRoles[0].metadata.name));
      }
    } else {
      if (clusterRoles.length || find("ClusterRoleBinding").length) p.push("namespace scope renders a ClusterRole or ClusterRoleBinding");
      const manager = roles.filter((r) => r.metadata.namespace === e.watch && !ruleSet(r.rules).has("coordination.k8s.io|leases|get"));
      if (manager.length !== 1) p.push(`expected one manager Role in ${e.watch}, found ${manager.length}`);
      else {
        p.push(...sameSet(ruleSet(manager[0].rules), MANAGER_RULES, `Role/${manager[0].metadata.name}`));
        p.push(...bound("RoleBinding", "Role", manager[0].metadata.name, e.watch));
      }
    }
    const lease = roles.filter((r) => ruleSet(r.rules).has("coordination.k8s.io|leases|get"));
    if (e.leaderElection) {
      if (lease.length !== 1 || lease[0].metadata.namespace !== NAMESPACE) p.push(`expected one leader-election Role in ${NAMESPACE}`);
      else {
        p.push(...sameSet(ruleSet(lease[0].rules), LEASE_RULES, `Role/${lease[0].metadata.name}`));
        p.push(...bound("RoleBinding", "Role", lease[0].metadata.name, NAMESPACE));
      }
    } else if (lease.length) p.push("a leader-election Role is rendered though leader election is off");
  }

  // Metrics Service and ServiceMonitor.
  const services = find("Service");
  if (e.metricsService) {
    const s = services.find((x) => x.spec.ports?.some((pt) => pt.name === "metrics"));
    if (!s) p.push("no metrics Service");
    else {
      for (const [k, v] of Object.entries(s.spec.selector ?? {})) if (podLabels[k] !== v) p.push(`metrics Service selector ${k}=${v} does not select the operator pods`);
      if (s.spec.ports.find((pt) => pt.name === "metrics").targetPort !== "metrics") p.push("metrics Service does not target the metrics port");
    }
    const sms = find("ServiceMonitor");
    if (e.serviceMonitor) {
      if (sms.length !== 1) p.push(`expected one ServiceMonitor, found ${sms.length}`);
      else if (s) {
        for (const [k, v] of Object.entries(sms[0].spec.selector?.matchLabels ?? {})) if (s.metadata.labels?.[k] !== v) p.push(`ServiceMonitor selector ${k}=${v} does not select the metrics Service`);
        if (!sms[0].spec.endpoints?.some((x) => x.port === "metrics" && x.path === "/metrics")) p.push("ServiceMonitor does not scrape port metrics at /metrics");
      }
    } else if (sms.length) p.push("a ServiceMonitor is rendered though it is off");
  }

  // Namespace for the plain install.
  const namespaces = find("Namespace");
  if (e.createNamespace) {
    if (namespaces.length !== 1 || namespaces[0].metadata.name !== NAMESPACE) p.push(`expected the Namespace ${NAMESPACE}`);
    else {
      if (namespaces[0].metadata.labels?.["pod-security.kubernetes.io/enforce"] !== "restricted") p.push("the Namespace does not enforce the restricted Pod Security Standard");
      const firstNamespaced = objects.findIndex((o) => !CLUSTER_SCOPED.has(o.kind));
      if (firstNamespaced >= 0 && objects.indexOf(namespaces[0]) > firstNamespaced) p.push("the Namespace comes after objects that live in it");
    }
  } else if (namespaces.length) p.push("a Namespace is rendered though createNamespace is false");
  return p;
}

// ---- Custom resources -----------------------------------------------------------------------------

let crdSetPromise = null;
function crdSet() {
  if (!existsSync(crdFile)) return Promise.reject(problem(crdMissing));
  crdSetPromise ??= loadCrds(readdirSync(args.crds).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(args.crds, f)));
  return crdSetPromise;
}

/** Validates the objects of one file or YAML block: custom resources against the CRDs, the rest against the official schemas. */
async function validateResources(objects, where) {
  const problems = [];
  if (!objects.length) return [`${where}: no objects`];
  for (const [i, o] of objects.entries()) {
    const id = `${where}#${i + 1} ${o?.kind ?? "?"}/${o?.metadata?.name ?? "?"}`;
    if (String(o?.apiVersion ?? "").startsWith("kuorum.io/")) {
      const { validate } = await crdSet();
      problems.push(...(await validate(o, id)));
      // spec.template is a Kubernetes PodTemplateSpec whatever the CRD's schema says of it.
      if (o.kind === "ConsensusCluster" && o.spec?.template !== undefined) {
        problems.push(...(await validateAs(o.spec.template, "v1", "PodTemplateSpec", `${id} /spec/template`)));
      }
      if (o.kind === "ConsensusCluster" && o.spec?.agent?.resources !== undefined) {
        problems.push(...(await validateAs(o.spec.agent.resources, "v1", "ResourceRequirements", `${id} /spec/agent/resources`)));
      }
    } else {
      problems.push(...(await validateObject(o)).map((x) => `${where}#${i + 1} ${x}`));
    }
  }
  return problems;
}

function listYaml(paths) {
  const out = [];
  for (const p of paths) {
    if (!existsSync(p)) { out.push(p); continue; }
    if (statSync(p).isDirectory()) out.push(...readdirSync(p).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(p, f)));
    else out.push(p);
  }
  return out;
}

/** ```yaml blocks of a Markdown file, except those right after a `<!-- fragment -->` line. */
function yamlBlocks(file) {
  const lines = readFileSync(file, "utf8").split("\n");
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```ya?ml\s*$/.exec(lines[i]);
    if (!open) continue;
    const fragment = /<!--\s*fragment\s*-->/.test(lines[i - 1] ?? "") || /<!--\s*fragment\s*-->/.test(lines[i - 2] ?? "");
    const indent = open[1].length;
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].slice(indent));
    if (!fragment) blocks.push({ line: i + 1, text: body.join("\n") });
    i = j;
  }
  return blocks;
}

// ---- The run --------------------------------------------------------------------------------------

const results = new Results(args.results);
const T = "Kuorum.Chart";

if (args.writeManifests) {
  writeFileSync(INSTALL_YAML, installYaml());
  console.log(`wrote ${rel(INSTALL_YAML)}`);
  process.exit(0);
}

if (wants("tools")) {
  await results.check(`${T}.Tools.HelmIsVersion4`, () => {
    const r = helm("version", "--short");
    return r.ok && /^v4\./.test(r.stdout.trim()) ? [] : [`helm version --short printed "${r.stdout.trim()}" ${r.stderr}`];
  });
}

if (wants("crds")) {
  await results.check(`${T}.Crds.ConsensusClusterCrdPresent`, () => (existsSync(crdFile) ? [] : [crdMissing]));
  const crdFiles = existsSync(args.crds) ? listYaml([args.crds]) : [];
  for (const f of crdFiles) {
    await results.check(`${T}.Crds.OfficialSchema(file: ${rel(f)})`, async () => {
      const problems = [];
      for (const o of readYamlDocuments(f)) problems.push(...(await validateObject(o)));
      return problems;
    });
  }
  await results.check(`${T}.Crds.ConsensusClusterContract`, async () => {
    if (!existsSync(crdFile)) return [crdMissing];
    const crd = readYamlDocuments(crdFile).find((o) => o.kind === "CustomResourceDefinition");
    const s = crd?.spec ?? {};
    const p = [];
    if (s.group !== "kuorum.io") p.push(`group ${s.group}, expected kuorum.io`);
    if (s.names?.kind !== "ConsensusCluster") p.push(`kind ${s.names?.kind}, expected ConsensusCluster`);
    if (s.scope !== "Namespaced") p.push(`scope ${s.scope}, expected Namespaced`);
    if (!(s.names?.shortNames ?? []).includes("cc")) p.push("short name cc missing");
    const v = (s.versions ?? []).find((x) => x.name === "v1alpha1");
    if (!v?.served || !v?.storage) p.push("v1alpha1 is not served and stored");
    if (v && !v.subresources?.status) p.push("no status subresource");
    return p;
  });
  await results.check(`${T}.Crds.ChartCopyInSync`, () => {
    const chartCrds = join(CHART, "crds");
    const want = existsSync(args.crds) ? readdirSync(args.crds).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
    const have = existsSync(chartCrds) ? readdirSync(chartCrds).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
    if (!want.includes(CRD_NAME)) return [crdMissing];
    const p = [];
    for (const f of want) {
      if (!have.includes(f)) p.push(`charts/kuorum/crds/${f} missing: run make chart-crds`);
      else if (readFileSync(join(chartCrds, f), "utf8") !== readFileSync(join(args.crds, f), "utf8")) p.push(`charts/kuorum/crds/${f} differs from ${rel(join(args.crds, f))}: run make chart-crds`);
    }
    for (const f of have) if (!want.includes(f)) p.push(`charts/kuorum/crds/${f} is not in ${rel(args.crds)}: run make chart-crds`);
    return p;
  });
}

const cases = args.values.length
  ? args.values.map((v) => ({ name: rel(v), values: v, expect: null }))
  : CASES;

if (wants("lint")) {
  for (const c of cases) {
    await results.check(`${T}.Lint.Strict(values: ${c.name})`, () => {
      const r = helm("lint", "--strict", CHART, "--namespace", NAMESPACE, ...valuesArgs(c.values));
      return r.ok ? [] : [`helm lint --strict failed:\n${(r.stdout + "\n" + r.stderr).trim()}`];
    });
  }
}

if (wants("render")) {
  for (const c of cases) {
    let objects = null;
    await results.check(`${T}.Render.OfficialSchemas(values: ${c.name})`, async () => {
      objects = readYamlDocuments(`helm template (${c.name})`, render(c.values));
      const problems = [];
      for (const o of objects) problems.push(...(await validateObject(o)));
      return problems;
    });
    if (c.expect) {
      await results.check(`${T}.Render.OperatorContract(values: ${c.name})`, () => {
        if (!objects) throw problem("nothing rendered");
        return contract(objects, c.expect);
      });
    }
  }
}

if (wants("manifests")) {
  await results.check(`${T}.Manifests.InstallYamlMatchesChart`, () => {
    if (!existsSync(INSTALL_YAML)) return [`${rel(INSTALL_YAML)} missing: run make manifests`];
    const want = installYaml();
    const have = readFileSync(INSTALL_YAML, "utf8");
    if (have === want) return [];
    const a = have.split("\n"), b = want.split("\n");
    const line = a.findIndex((l, i) => l !== b[i]);
    return [`${rel(INSTALL_YAML)} differs from the chart from line ${line + 1} ("${a[line] ?? "<end>"}" vs "${b[line] ?? "<end>"}"): run make manifests`];
  });
  await results.check(`${T}.Manifests.InstallYamlOfficialSchemas`, async () => {
    if (!existsSync(INSTALL_YAML)) return [`${rel(INSTALL_YAML)} missing: run make manifests`];
    const objects = readYamlDocuments(INSTALL_YAML);
    const problems = [];
    for (const o of objects) problems.push(...(await validateObject(o)));
    if (!objects.some((o) => o.kind === "CustomResourceDefinition" && o.spec?.names?.kind === "ConsensusCluster")) {
      problems.push(`${rel(INSTALL_YAML)} has no ConsensusCluster CRD: run make chart-crds manifests`);
    }
    return problems;
  });
}

if (wants("samples")) {
  const samples = listYaml(args.samples.length ? args.samples : [join(root, "manifests/samples")]);
  if (!samples.length) await results.check(`${T}.Samples.Present`, () => ["manifests/samples has no YAML files"]);
  for (const f of samples) {
    await results.check(`${T}.Samples.MatchCrd(sample: ${rel(f)})`, async () => {
      if (!existsSync(f)) return [`${rel(f)}: no such file`];
      return validateResources(readYamlDocuments(f), rel(f));
    });
  }
}

if (wants("notes")) {
  for (const c of [CASES[0], CASES[1]]) {
    await results.check(`${T}.Notes.ExampleMatchesCrd(values: ${c.name})`, async () => {
      const r = helm("install", RELEASE, CHART, "--namespace", NAMESPACE, "--dry-run=client", ...valuesArgs(c.values));
      if (!r.ok) return [`helm install --dry-run=client failed:\n${r.stderr}`];
      const notes = r.stdout.slice(r.stdout.indexOf("\nNOTES:\n"));
      const m = /<<'YAML'\n([\s\S]*?)\n\s*YAML\n/.exec(notes);
      if (!m) return ["NOTES.txt has no <<'YAML' example"];
      const indent = /^\s*/.exec(m[1])[0].length;
      const text = m[1].split("\n").map((l) => l.slice(indent)).join("\n");
      const p = await validateResources(readYamlDocuments("NOTES.txt", text), "NOTES.txt");
      if (!notes.includes(`deployment/${RELEASE}-operator`)) p.push("NOTES.txt does not name the operator Deployment");
      return p;
    });
  }
}

if (wants("docs")) {
  await results.check(`${T}.Docs.ReferenceMatchesCrd`, () => {
    if (!existsSync(crdFile)) return [crdMissing];
    const want = renderReference(crdFile);
    const have = existsSync(REFERENCE_DOC) ? readFileSync(REFERENCE_DOC, "utf8") : "";
    return have === want ? [] : [`${rel(REFERENCE_DOC)} is not what ${rel(crdFile)} generates: run make crd-docs`];
  });
  for (const doc of OWNED_DOCS) {
    await results.check(`${T}.Docs.YamlExamplesValid(doc: ${rel(doc)})`, async () => {
      if (!existsSync(doc)) return [`${rel(doc)} missing`];
      const problems = [];
      for (const b of yamlBlocks(doc)) {
        const where = `${rel(doc)}:${b.line}`;
        const objects = readYamlDocuments(where, b.text);
        if (objects.length && objects.every((o) => o && typeof o === "object" && o.apiVersion && o.kind)) {
          problems.push(...(await validateResources(objects, where)));
        } else {
          // A block without apiVersion/kind is a Helm values file: it must pass the schema and render.
          const dir = mkdtempSync(join(tmpdir(), "kuorum-docs-values-"));
          const tmp = join(dir, `${basename(doc)}-${b.line}.yaml`);
          writeFileSync(tmp, b.text);
          const r = helm("template", RELEASE, CHART, "--namespace", NAMESPACE, "--values", tmp);
          rmSync(dir, { recursive: true, force: true });
          if (!r.ok) problems.push(`${where}: values block does not render:\n${r.stderr}`);
        }
      }
      return problems;
    });
  }
}

process.exitCode = results.failed.length ? 1 : 0;
