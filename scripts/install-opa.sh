#!/usr/bin/env bash
# Installs the OPA binary used as the oracle by the policy differential tests (test/policy).
# Built from the Go module proxy so the version is pinned and no release download is needed.
# Idempotent: if the pinned binary is already present it is reused. Prints the binary's path.
set -euo pipefail

OPA_VERSION="${OPA_VERSION:-v1.22.3}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${repo_root}/.cache/opa/bin"
opa_bin="${bin_dir}/opa"
stamp="${bin_dir}/.version"

if [[ -x "${opa_bin}" && -f "${stamp}" && "$(cat "${stamp}")" == "${OPA_VERSION}" ]]; then
  echo "${opa_bin}"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "install-opa.sh: the Go toolchain (go >= 1.23) is required to build OPA ${OPA_VERSION}" >&2
  exit 1
fi

mkdir -p "${bin_dir}"
echo "install-opa.sh: building OPA ${OPA_VERSION} (a few minutes on first run)..." >&2
GOBIN="${bin_dir}" go install "github.com/open-policy-agent/opa@${OPA_VERSION}"
"${opa_bin}" version >&2
echo "${OPA_VERSION}" > "${stamp}"
echo "${opa_bin}"
