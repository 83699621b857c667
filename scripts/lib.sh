# scripts/lib.sh - shared by scripts/run, scripts/test and loadtest/bench (source it).
#
# install_deps PKG...  installs the Debian packages that are missing (apt-get update first);
#                      as root directly, otherwise through sudo.
# build DIR [ARGS...]  configures and builds walletd into DIR (CMake), extra ARGS to cmake.

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)

# Everything walletd needs to build, test and run its local cluster (xz-utils: the shared k6,
# ../shared/tools/k6, unpacks itself with xz on first use).
BASE_PACKAGES=(build-essential cmake pkg-config libmicrohttpd-dev libmariadb-dev libhiredis-dev
    libjansson-dev libsodium-dev libcmocka-dev mariadb-server mariadb-client redis-server
    python3 python3-yaml python3-jsonschema curl procps xz-utils)

# What the deployment tests (ctest label "deploy") need beyond that: promtool, HAProxy, the
# shellcheck the Dockerfile linter runs; scripts/validate/install adds node and the npm tools.
DEPLOY_PACKAGES=(prometheus haproxy shellcheck)

install_deps() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    echo "installing: ${missing[*]}" >&2
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >&2
}

build() {
    local dir=$1
    shift
    cmake -S "$ROOT" -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)"
}
