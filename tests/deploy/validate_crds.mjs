// Validates the Prometheus Operator resources of a rendered manifest against the operator's
// CRD schemas (kubernetes-validate knows only the core kinds) and checks that each
// ServiceMonitor selects a Service of the same manifest that has the port it scrapes.
// Usage: node validate_crds.mjs rendered.yaml   (exits 1 on the first problem)
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";

const docs = parseAllDocuments(readFileSync(process.argv[2], "utf8"))
  .map((d) => d.toJS())
  .filter(Boolean);
const fail = (msg) => {
  console.error(`servicemonitor: ${msg}`);
  process.exit(1);
};
const services = docs.filter((d) => d.kind === "Service");
const monitors = docs.filter((d) => d.kind === "ServiceMonitor");
for (const m of monitors) {
  try {
    new ServiceMonitor(m).validate();
  } catch (e) {
    fail(`${m.metadata?.name}: ${e.message}`);
  }
  const want = m.spec.selector.matchLabels ?? {};
  const matched = services.filter((s) =>
    Object.entries(want).every(([k, v]) => (s.metadata.labels ?? {})[k] === v),
  );
  if (matched.length !== 1) fail(`${m.metadata.name} selects ${matched.length} Services, want 1`);
  for (const ep of m.spec.endpoints) {
    if (!matched[0].spec.ports.some((p) => p.name === ep.port)) {
      fail(`${m.metadata.name} scrapes port ${ep.port}, which ${matched[0].metadata.name} lacks`);
    }
  }
  console.log(`servicemonitor: ${m.metadata.name} valid, scrapes ${matched[0].metadata.name}`);
}
if (monitors.length === 0) console.log("servicemonitor: none in this manifest");
