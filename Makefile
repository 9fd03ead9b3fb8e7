# The front door: every build, test and tool runs from here.
SHELL := /bin/bash
.DEFAULT_GOAL := test

CONFIGURATION ?= Release
RESULTS := artifacts/test-results
DOTNET := dotnet
DOTNET_FLAGS := -c $(CONFIGURATION) --nologo
RUN_FLAGS := -c $(CONFIGURATION)
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

# make sim: SEEDS schedules from START; SEED replays one schedule with its full trace; BUG injects a broken rule.
SEEDS ?= 1000
START ?= 1
SEED ?=
BUG ?=

.PHONY: build run publish test sim bench clean

build:
	$(DOTNET) build Operator.sln $(DOTNET_FLAGS)

# The main job: a narrated local cluster of three agents and a demo application on loopback; last line "demo: ok".
run: build
	$(DOTNET) src/Kuorum.Demo/bin/$(CONFIGURATION)/net10.0/kuorum-demo.dll run

# The agent as a Native AOT executable in artifacts/publish/agent.
publish:
	$(DOTNET) publish src/Kuorum.Agent -c Release -r linux-x64 -p:PublishAot=true -o artifacts/publish/agent

# Runs every test project, the CRD drift check, the chart checks (make chart) and the Dockerfiles' build steps
# (make images-check); the last line is "N passed, N failed" (", N skipped" when any are).
test: build
	@rm -rf $(RESULTS); mkdir -p $(RESULTS)
	@set +e; \
	$(DOTNET) test Operator.sln $(DOTNET_FLAGS) --no-build --logger trx --results-directory $(RESULTS); \
	status=$$?; \
	$(MAKE) --no-print-directory crds-check || status=1; \
	CHART_RESULTS_DIR=$(RESULTS) tests/chart/run.sh || status=1; \
	$(MAKE) --no-print-directory images-check > $(RESULTS)/images-check.log 2>&1 || { tail -n 20 $(RESULTS)/images-check.log; status=1; }; \
	tests/tools/trx-summary.sh $(RESULTS) $$status > $(RESULTS)/summary.txt; \
	cat $(RESULTS)/summary.txt; \
	exit $$status

sim:
	$(DOTNET) run --project tests/Kuorum.Simulation $(RUN_FLAGS) -- \
	  $(if $(SEED),--seed $(SEED),--seeds $(SEEDS) --start $(START)) $(if $(BUG),--bug $(BUG))

# make bench QUICK=1: a reduced set of every suite, in under 3 minutes.
QUICK ?= 0

# The agents under test are the Native AOT build, as shipped (make publish; incremental after the first time).
bench: bench-tools publish
	KUORUM_AGENT_EXE=$(CURDIR)/artifacts/publish/agent/kuorum-agent \
	  $(DOTNET) run --project tests/Kuorum.Benchmarks $(RUN_FLAGS) -- --artifacts artifacts/bench $(if $(filter-out 0,$(QUICK)),--quick)

# Targets owned by parts of the project (crds, chart, …) live in mk/.
-include mk/*.mk

clean:
	rm -rf artifacts
	$(DOTNET) clean Operator.sln $(DOTNET_FLAGS)
