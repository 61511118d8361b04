#!/usr/bin/env bash
# Installs what flink-jepsen needs on a Debian 12 machine (as root), then builds and installs the
# package into a virtualenv (.venv beside this repository, or $FJ_VENV), editable: the Python
# sources are used in place, the C++ core is rebuilt when its sources change (incrementally: the
# build directory under build/ is kept). Idempotent and quick when nothing changed.
# FJ_NO_BROWSER=1 leaves out the browser the web UI's tests drive (chromium, selenium): the
# control image has no use for it. `install.sh --list-packages` prints the Debian packages and
# stops.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
venv="${FJ_VENV:-$here/.venv}"
quiet="${1:-}"
say() { [ "$quiet" = "--quiet" ] || echo "install: $*" >&2; }
browser=1
case "${FJ_NO_BROWSER:-}" in 1|ON|on|true|yes) browser=0 ;; esac

packages=(libfaketime build-essential cmake ninja-build pkg-config python3 python3-venv python3-dev
          libssh-dev librdkafka-dev libspdlog-dev nlohmann-json3-dev libgtest-dev googletest
          iproute2 iptables openssh-server openssh-client util-linux procps psmisc openssl
          openjdk-17-jdk-headless maven curl ca-certificates)
[ "$browser" = 1 ] && packages+=(chromium chromium-driver)
if [ "$quiet" = "--list-packages" ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install: missing Debian packages (${missing[*]}); run this as root" >&2
    exit 1
  fi
  echo "install: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -x "$venv/bin/python" ]; then
  say "creating virtualenv $venv"
  python3 -m venv "$venv" >&2
fi
py="$venv/bin/python"
modules="scikit_build_core, pybind11, pytest, xdist, yaml, kazoo, confluent_kafka, pandas"
modules="$modules, matplotlib, nbclient, nbformat, ipykernel"
tools=("scikit-build-core>=0.10" "pybind11>=2.12" "pytest>=7" "pytest-xdist>=3" "ruff>=0.5"
       "PyYAML>=6" "kazoo>=2.9" "confluent-kafka>=2.3" "pandas>=2.0" "matplotlib>=3.7"
       "nbclient>=0.10" "nbformat>=5.9" "ipykernel>=6.29")
if [ "$browser" = 1 ]; then
  modules="$modules, selenium"
  tools+=("selenium>=4.20")
fi
if ! "$py" -c "import $modules" 2>/dev/null; then
  say "installing build and test tools from PyPI"
  "$py" -m pip install -q --upgrade pip >&2
  "$py" -m pip install -q "${tools[@]}" >&2
fi

# The repository's own build: the GoogleTest suite and the benchmarks too (a pip build of the
# package leaves them out: pyproject.toml), -Werror under CI (.ci/run sets FJ_WERROR=ON), in
# build/<wheel tag>, kept between builds.
werror=OFF
case "${FJ_WERROR:-}" in 1|ON|on|true|yes) werror=ON ;; esac
build_settings=(-C "build-dir=build/{wheel_tag}" -C cmake.define.FJ_BUILD_TESTS=ON
                -C cmake.define.FJ_BUILD_BENCHMARKS=ON -C "cmake.define.FJ_WERROR=$werror")
stamp="$venv/.flink-jepsen-sources"
sum=$(cd "$here" && { find cpp CMakeLists.txt pyproject.toml tests/cpp -type f -print0 \
        | sort -z | xargs -0 sha256sum; echo "${build_settings[*]}"; } | sha256sum)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ] || ! "$py" -c "import flink_jepsen._core" 2>/dev/null; then
  say "building and installing flink-jepsen (C++ core and Python package)"
  (cd "$here" && "$py" -m pip install -q --no-build-isolation "${build_settings[@]}" -e . >&2)
  echo "$sum" > "$stamp"
fi
