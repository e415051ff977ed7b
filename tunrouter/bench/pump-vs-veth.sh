#!/usr/bin/env bash
# TCP throughput through the packet pump (tenant tun0 <-> PacketPump <-> gateway tun) next to a
# plain veth pair between two namespaces, with iperf3. Run as root from anywhere:
#     tunrouter/bench/pump-vs-veth.sh [SECONDS]
# Needs iperf3 (apt-get install -y iperf3), iproute2 and python3. Everything it makes carries a
# random id and is removed on exit.
set -euo pipefail

seconds=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$here/.." && pwd)
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
id=$(printf '%04x' $((RANDOM % 65536)))
tenant_ns=emperor-bench-$id-t
veth_a=emperor-bench-$id-a
veth_b=emperor-bench-$id-b
gateway=emp-b-${id}g
subnet=10.214.$((RANDOM % 250 + 1)).0/24
gateway_address=${subnet%.0/24}.1
log=$(mktemp)
pids=()

cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ns in "$tenant_ns" "$veth_a" "$veth_b"; do ip netns del "$ns" 2>/dev/null || true; done
    grep -E '^(tenant counters|unattributed)' "$log" || true
    rm -f "$log"
}
trap cleanup EXIT

# iperf3 -J ... -> Gbit/s received
gbits() { python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'; }

echo "building test classes..."
(cd "$repo" && mvn -q -B -pl tunrouter test-compile dependency:build-classpath \
    -Dmdep.outputFile=/tmp/tunrouter-bench-cp.txt -Dmdep.includeScope=test >/dev/null)

# --- through the pump
ip netns add "$tenant_ns"
ip netns exec "$tenant_ns" ip link set lo up
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
    -cp "$here/target/test-classes:$here/target/classes:$(cat /tmp/tunrouter-bench-cp.txt)" \
    dev.emperor.tunrouter.bench.PumpBenchmarkMain "/run/netns/$tenant_ns" "$gateway" "$subnet" >"$log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '^ready' "$log" && break; sleep 0.1; done
grep -q '^ready' "$log" || { cat "$log"; echo "pump did not start"; exit 1; }
iperf3 -s -B "$gateway_address" -p 15201 >/dev/null 2>&1 &
pids+=($!)
sleep 0.5
pump_out=$(ip netns exec "$tenant_ns" iperf3 -c "$gateway_address" -p 15201 -t "$seconds" -J | gbits)
pump_in=$(ip netns exec "$tenant_ns" iperf3 -c "$gateway_address" -p 15201 -t "$seconds" -R -J | gbits)

# --- plain veth pair between two namespaces
ip netns add "$veth_a"
ip netns add "$veth_b"
ip -n "$veth_a" link add veth0 type veth peer name veth0 netns "$veth_b"
ip -n "$veth_a" addr add 10.215.0.1/30 dev veth0
ip -n "$veth_b" addr add 10.215.0.2/30 dev veth0
ip -n "$veth_a" link set veth0 up
ip -n "$veth_b" link set veth0 up
ip netns exec "$veth_a" iperf3 -s -B 10.215.0.1 -p 15201 >/dev/null 2>&1 &
pids+=($!)
sleep 0.5
veth_out=$(ip netns exec "$veth_b" iperf3 -c 10.215.0.1 -p 15201 -t "$seconds" -J | gbits)
veth_in=$(ip netns exec "$veth_b" iperf3 -c 10.215.0.1 -p 15201 -t "$seconds" -R -J | gbits)

ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
printf '%-34s %10s %10s %8s\n' "TCP, $seconds s, MTU 1500" "pump" "veth" "ratio"
printf '%-34s %10s %10s %8s\n' "tenant -> gateway (Gbit/s)" "$pump_out" "$veth_out" "$(ratio "$pump_out" "$veth_out")"
printf '%-34s %10s %10s %8s\n' "gateway -> tenant (Gbit/s)" "$pump_in" "$veth_in" "$(ratio "$pump_in" "$veth_in")"
