#!/usr/bin/env bash
# Installs the Debian packages a benchmark compares against, when missing:
#   bench/install_peers.sh wrk nginx-light libcurl4-openssl-dev
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]})) || exit 0
sudo=()
[[ $EUID -eq 0 ]] || sudo=(sudo)
echo "installing ${missing[*]}" >&2
"${sudo[@]}" apt-get install -y "${missing[@]}" >&2 ||
  { "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" apt-get install -y "${missing[@]}" >&2; }
