# make bench's tools (issue 4): the cluster suite runs a 3-member etcd 3.4 beside Kuorum.
#   make bench-tools   installs Debian's etcd-server and etcd-client with apt-get when `etcd` is missing
#                      (root, as on every machine here); last line "bench-tools: etcd <version>"
.PHONY: bench-tools

bench-tools:
	@if ! command -v etcd >/dev/null 2>&1; then \
	  echo "bench-tools: installing etcd-server etcd-client (apt-get)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get install -y -q --no-install-recommends etcd-server etcd-client >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends etcd-server etcd-client >/dev/null; }; } || \
	  { echo "bench-tools: apt-get could not install etcd-server etcd-client" >&2; exit 1; }; \
	fi
	@echo "bench-tools: etcd $$(etcd --version 2>/dev/null | sed -n 's/^etcd Version: *//p')"
