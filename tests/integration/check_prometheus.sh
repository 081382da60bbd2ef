#!/usr/bin/env bash
# check_prometheus.sh SCRATCH - `promtool check config` on the Prometheus
# configuration ./flightops renders for the local stack (rendered into
# SCRATCH, with the default ports) and on prometheus/prometheus.example.yml;
# promtool also checks the rule files each one names. Needs no stack.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
scratch=${1:?usage: check_prometheus.sh SCRATCH}
rm -rf "$scratch"
mkdir -p "$scratch"
env -u FO_PORT_BASE FO_VAR="$scratch" "$root/flightops" prometheus-config
promtool check config "$scratch/prometheus/prometheus.yml"
promtool check config "$root/prometheus/prometheus.example.yml"
rm -rf "$scratch"
