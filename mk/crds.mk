# CRDs are generated from the C# types in src/Kuorum.Operator/Resources (descriptions from their XML docs).
# make crds        regenerates crds/
# make crds-check  regenerates into a temporary directory and fails when crds/ differs (CI runs it)
OPERATOR_PROJECT := src/Kuorum.Operator/Kuorum.Operator.csproj

.PHONY: crds crds-check

crds:
	$(DOTNET) build $(OPERATOR_PROJECT) $(DOTNET_FLAGS) -v quiet
	$(DOTNET) run --project $(OPERATOR_PROJECT) $(RUN_FLAGS) --no-build -- generate-crds --output $(CURDIR)/crds

crds-check:
	@$(DOTNET) build $(OPERATOR_PROJECT) $(DOTNET_FLAGS) -v quiet > /dev/null
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(DOTNET) run --project $(OPERATOR_PROJECT) $(RUN_FLAGS) --no-build -- generate-crds --output "$$tmp" > /dev/null && \
	if diff -ru crds "$$tmp"; then echo "crds: up to date"; \
	else echo "crds: crds/ differs from the C# types; run 'make crds' and commit the result" >&2; exit 1; fi
