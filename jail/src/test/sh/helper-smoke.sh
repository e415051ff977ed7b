#!/bin/bash
# Smoke test of the native helper emperor-init, without the Java side: as root, util-linux's
# unshare/nsenter stand in for the Java spawn thread, a busybox-static tree for a distro.
#
#   jail/src/test/sh/helper-smoke.sh [path/to/emperor-init]
#
# Without an argument it compiles jail/src/main/c/emperor-init.c itself. Needs root,
# util-linux and a static busybox (Debian: apt-get install busybox-static).
# Exits non-zero if any check fails. Every mount it makes lives in a mount namespace of its
# own and goes away with it; it kills only the processes it started and removes its
# temporary directory and cgroups.
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$here/../../main/c/emperor-init.c
busybox=${BUSYBOX:-/bin/busybox}

[ "$(id -u)" = 0 ] || { echo "helper-smoke: needs root" >&2; exit 2; }
if ! [ -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
    echo "helper-smoke: needs a static busybox at $busybox (apt-get install busybox-static)" >&2
    exit 2
fi

T=$(mktemp -d /tmp/emperor-init-smoke.XXXXXX)
R=$T/root                       # the tenant's root
started=()                      # pids this script started in the background
cgroups=()                      # cgroup directories this script created
cleanup() {
    local p cg
    for p in "${started[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    for cg in "${cgroups[@]}"; do rmdir "$cg" 2>/dev/null; done
    rm -rf --one-file-system "$T"
}
trap cleanup EXIT

if [ $# -ge 1 ]; then
    HELPER=$(realpath "$1")
else
    HELPER=$T/emperor-init
    cc -std=gnu11 -O2 -Wall -Wextra -Werror -static -o "$HELPER" "$src" || exit 1
fi

mkdir -p "$R/bin" "$R/proc" "$R/dev" "$R/tmp"
chmod 1777 "$R/tmp"
cp "$busybox" "$R/bin/busybox"
for applet in sh ps id cat ls sleep hostname grep kill pwd; do ln -s busybox "$R/bin/$applet"; done
mknod -m 666 "$R/dev/null" c 1 3

failures=0
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1"; failures=$((failures + 1)); }
expect_eq() {       # NAME ACTUAL EXPECTED
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected [$3], got [$2]"; fi
}
expect_match() {    # NAME TEXT REGEX: some line of TEXT matches
    if grep -qE -- "$3" <<<"$2"; then pass "$1"; else fail "$1: no line matches /$3/ in:"$'\n'"$2"; fi
}
expect_no_match() { # NAME TEXT REGEX
    if grep -qE -- "$3" <<<"$2"; then fail "$1: a line matches /$3/ in:"$'\n'"$2"; else pass "$1"; fi
}

# run CMD...: runs CMD with fd 3 as the report channel; sets rc, out (stdout+stderr), report.
run() {
    "$@" 3>"$T/report" >"$T/out" 2>&1
    rc=$?
    out=$(cat "$T/out")
    report=$(cat "$T/report")
}

# in_namespaces CMD...: what the Java spawn thread does: new mount/pid/uts/ipc/net
# namespaces, a hostname, the tenant's root made a mount point (bound onto itself) and
# opened as fd 9 once mounted (--root-fd 9).
NS=(unshare --mount --pid --uts --ipc --net --fork --
    /bin/sh -c 'hostname emperor-smoke && mount --bind "$0" "$0" && exec "$@" 9<"$0"' "$R")
in_namespaces() { "${NS[@]}" "$@"; }

INIT=("$HELPER" init --root-fd 9 --proc --uid 1234 --gid 1234 --report-fd 3)

# start_init [options] -- PROGRAM...: runs an init in the background; sets upid (unshare's
# pid, to wait for) and init_pid (the helper's pid on the host) once the payload has exec'd.
start_init() {
    "${NS[@]}" "${INIT[@]}" "$@" 3>"$T/report" >"$T/out" 2>&1 &
    upid=$!
    started+=("$upid")
    init_pid=
    local i child
    for i in $(seq 200); do
        init_pid=$(pgrep -P "$upid" -x emperor-init)
        child=$([ -n "$init_pid" ] && pgrep -P "$init_pid")
        if [ -n "$child" ] && [ "$(cat "/proc/$child/comm" 2>/dev/null)" != emperor-init ]; then
            payload_pid=$child
            return 0
        fi
        sleep 0.05
    done
    fail "start_init $*: the payload did not start"
    return 1
}
# finish_init: waits for the background init; sets rc.
finish_init() {
    wait "$upid"
    rc=$?
}

echo "# pid 1, root, credentials, fds"
run in_namespaces "${INIT[@]}" -- /bin/sh -c '
    id; echo "pid=$$"; echo "pid1=$(cat /proc/1/comm)"; echo "root="$(ls /)
    grep -E "^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/1/status
    ls /proc/self/fd >/tmp/fds; echo "fds="$(cat /tmp/fds)
    cat /proc/1/environ >/dev/null 2>&1 || echo "pid1-environ=denied"
    exit 0' 7</dev/null
expect_eq   "payload exits 0" "$rc" 0
expect_eq   "no report on success" "$report" ""
expect_match "payload runs as uid/gid 1234 without groups" "$out" '^uid=1234 gid=1234$'
expect_match "payload is not pid 1" "$out" '^pid=[0-9]+$'
expect_no_match "payload is not pid 1 (2)" "$out" '^pid=1$'
expect_match "pid 1 is emperor-init" "$out" '^pid1=emperor-init$'
expect_match "pid 1 runs as uid 1234" "$out" '^Uid:\s+1234\s+1234\s+1234\s+1234$'
expect_match "pid 1 runs as gid 1234" "$out" '^Gid:\s+1234\s+1234\s+1234\s+1234$'
expect_match "pid 1 has no supplementary groups" "$out" '^Groups:\s*$'
for set in CapInh CapPrm CapEff CapBnd CapAmb; do
    expect_match "pid 1 has an empty $set" "$out" "^$set:\s+0000000000000000$"
done
expect_match "pid 1 has no_new_privs" "$out" '^NoNewPrivs:\s+1$'
expect_match "the tenant sees only its root" "$out" '^root=bin dev proc tmp$'
expect_match "payload inherits only fds 0 1 2 (stray fd 7 and the report fd are gone; 3 is ls's own)" "$out" '^fds=0 1 2 3$'
expect_match "pid 1 is not dumpable: the tenant can't read its /proc entries" "$out" '^pid1-environ=denied$'

echo "# supplementary groups and cwd"
run in_namespaces "${INIT[@]}" --groups 5000,5001 --cwd /tmp -- /bin/sh -c 'id; pwd'
expect_match "--groups sets supplementary groups" "$out" '^uid=1234 gid=1234 groups=5000,5001$'
expect_match "--cwd changes directory" "$out" '^/tmp$'
run in_namespaces "${INIT[@]}" --cwd /nonexistent -- /bin/true
expect_eq "bad --cwd: exit 126" "$rc" 126
expect_eq "bad --cwd: report names chdir" "$report" "chdir /nonexistent: No such file or directory"

echo "# exit status"
run in_namespaces "${INIT[@]}" -- /bin/sh -c 'exit 42'
expect_eq "payload exit code is pid 1's" "$rc" 42
run in_namespaces "${INIT[@]}" -- /bin/sh -c 'kill -KILL $$'
expect_eq "payload killed by SIGKILL: 128+9" "$rc" 137

echo "# signals from the host"
start_init -- /bin/sleep 30 && {
    grep -E '^(Uid|CapEff|NoNewPrivs):' "/proc/$init_pid/status" >"$T/status"
    expect_match "host view: pid 1 runs as uid 1234" "$(cat "$T/status")" '^Uid:\s+1234\s'
    expect_match "host view: pid 1 has no capabilities" "$(cat "$T/status")" '^CapEff:\s+0+$'
    expect_eq "host view: pid 1 keeps only fds 0 1 2" "$(ls "/proc/$init_pid/fd" | tr '\n' ' ')" "0 1 2 "
    expect_eq "host view: the payload keeps only fds 0 1 2" "$(ls "/proc/$payload_pid/fd" | tr '\n' ' ')" "0 1 2 "
    kill -TERM "$init_pid"
    finish_init
    expect_eq "SIGTERM to pid 1 is forwarded: sleep dies, 128+15" "$rc" 143
}
start_init -- /bin/sh -c 'trap "exit 7" TERM; sleep 30 & wait' && {
    kill -TERM "$init_pid"
    finish_init
    expect_eq "SIGTERM reaches the payload's trap" "$rc" 7
}
start_init -- /bin/sh -c 'trap "exit 8" HUP; sleep 30 & wait' && {
    kill -HUP "$init_pid"
    finish_init
    expect_eq "SIGHUP is forwarded too" "$rc" 8
}

echo "# zombies"
run in_namespaces "${INIT[@]}" -- /bin/sh -c '
    for i in 1 2 3 4 5; do sh -c "sleep 0.1 & exit 0"; done
    sleep 1; cat /proc/[0-9]*/stat'
expect_eq "zombie test payload exits 0" "$rc" 0
expect_no_match "orphans re-parented to pid 1 are reaped" "$out" '^[0-9]+ \([^)]*\) Z '

echo "# program not found"
run in_namespaces "${INIT[@]}" -- /nonexistent
expect_eq "missing program: exit 127" "$rc" 127
expect_eq "missing program: report" "$report" "exec /nonexistent: No such file or directory"
run in_namespaces "${INIT[@]}" -- no-such-command
expect_eq "missing program on PATH: exit 127" "$rc" 127
expect_eq "missing program on PATH: report" "$report" "exec no-such-command: No such file or directory"

echo "# bad root"
mkdir "$T/plain"
touch "$T/file"
in_root() {   # DIR CMD...: CMD in new mount and pid namespaces with DIR as fd 9
    unshare --mount --pid --fork -- /bin/sh -c 'd=$0; exec "$@" 9<"$d"' "$@"
}
run in_root "$T/file" "$HELPER" init --root-fd 9 --uid 1234 --gid 1234 --report-fd 3 -- /bin/true
expect_eq "root fd on a file: exit 126" "$rc" 126
expect_eq "root fd on a file: report" "$report" "root fd 9: Not a directory"
run in_root / "$HELPER" init --root-fd 9 --uid 1234 --gid 1234 --report-fd 3 -- /bin/true
expect_eq "root fd on the host's root: exit 126" "$rc" 126
expect_eq "root fd on the host's root: report" "$report" "root fd 9: is the host's root, not a tenant's"
run in_root "$T/plain" "$HELPER" init --root-fd 9 --uid 1234 --gid 1234 --report-fd 3 -- /bin/true
expect_eq "root that is no mount point: exit 126" "$rc" 126
expect_match "root that is no mount point: report names pivot_root" "$report" "^pivot_root \(root fd 9\): "
run in_namespaces "${INIT[@]}" -- /bin/sh -c 'cut -d" " -f6 /proc/1/stat'
expect_eq "pid 1 leads its own session (not the caller's)" "$out" "1"
run in_namespaces "${INIT[@]}" -- /bin/sh -c 'tr "\0" " " </proc/1/cmdline'
expect_no_match "no host path in pid 1's command line" "$out" "$R"

echo "# masks and read-only paths"
run in_namespaces "${INIT[@]}" --mask /proc/kcore --mask /proc/kallsyms --mask /proc/irq \
    --mask /proc/no-such-file --ro /proc/sys -- /bin/sh -c '
    symbols=$(cat /proc/kallsyms) && echo "kallsyms=${#symbols}"
    echo "irq=$(ls -A /proc/irq)"
    cat /proc/self/mountinfo'
expect_eq "masks: exit 0" "$rc" 0
expect_match "masked /proc/kallsyms reads as /dev/null" "$out" '^kallsyms=0$'
expect_match "masked /proc/kallsyms is a mount" "$out" ' /proc/kallsyms '
if [ -e /proc/kcore ]; then expect_match "masked /proc/kcore is a mount" "$out" ' /proc/kcore '; fi
expect_match "masked /proc/irq is an empty read-only tmpfs" "$out" ' /proc/irq ro,.* - tmpfs '
expect_match "masked /proc/irq is empty" "$out" '^irq=$'
expect_match "--ro /proc/sys is read-only" "$out" ' /proc/sys ro,nosuid,nodev,noexec'
expect_no_match "a missing mask is skipped" "$out" 'no-such-file'

echo "# seccomp"
# struct sock_filter {u16 code; u8 jt, jf; u32 k}, little endian (x86_64):
#   ld [4] (arch); jeq AUDIT_ARCH_X86_64 ? next : allow; ld [0] (nr); jeq 39 (getpid) ? next : allow;
#   ret ERRNO(EPERM); ret ALLOW
printf '\x20\x00\x00\x00\x04\x00\x00\x00''\x15\x00\x00\x03\x3e\x00\x00\xc0''\x20\x00\x00\x00\x00\x00\x00\x00''\x15\x00\x00\x01\x27\x00\x00\x00''\x06\x00\x00\x00\x01\x00\x05\x00''\x06\x00\x00\x00\x00\x00\xff\x7f' >"$T/getpid-eperm.bpf"
printf '\x06\x00\x00\x00\x00\x00\xff\x7f' >"$T/allow.bpf"
printf 'garbage' >"$T/garbage.bpf"
run in_namespaces "${INIT[@]}" --seccomp-fd 5 -- /bin/sh -c 'grep -E "^Seccomp:" /proc/1/status /proc/$$/status' 5<"$T/allow.bpf"
expect_eq "allow-all filter: exit 0" "$rc" 0
expect_match "filter installed in pid 1" "$out" '^/proc/1/status:Seccomp:\s+2$'
expect_match "filter installed in the payload" "$out" '^/proc/[0-9]+/status:Seccomp:\s+2$'
if [ "$(uname -m)" = x86_64 ]; then
    run in_namespaces "${INIT[@]}" --seccomp-fd 5 -- /bin/sh -c 'echo "pid=$$"' 5<"$T/getpid-eperm.bpf"
    expect_match "getpid filter: getpid fails in the payload" "$out" '^pid=-1$'
fi
run in_namespaces "${INIT[@]}" --seccomp-fd 5 -- /bin/true 5<"$T/garbage.bpf"
expect_eq "malformed filter: exit 126" "$rc" 126
expect_match "malformed filter: report" "$report" '^seccomp fd 5: 7 bytes is not a program'

echo "# cgroups"
pids_cg=/sys/fs/cgroup/pids/emperor-test-$$-$RANDOM
v2_cg=/sys/fs/cgroup/unified/emperor-test-$$-$RANDOM
if mkdir "$pids_cg" 2>/dev/null; then cgroups+=("$pids_cg"); else pids_cg=; fi
if mkdir "$v2_cg" 2>/dev/null; then cgroups+=("$v2_cg"); else v2_cg=; fi
if [ -n "$pids_cg" ] && [ -n "$v2_cg" ]; then
    run in_namespaces "${INIT[@]}" --cgroup-fd 4 --cgroup-fd 6 -- /bin/cat /proc/self/cgroup \
        4>"$pids_cg/cgroup.procs" 6>"$v2_cg/cgroup.procs"
    expect_eq "cgroup join: exit 0" "$rc" 0
    expect_match "joined the v1 pids cgroup" "$out" ":pids:/${pids_cg##*/}$"
    expect_match "joined the v2 cgroup" "$out" "^0::/${v2_cg##*/}$"
    run in_namespaces "${INIT[@]}" --cgroup-fd 6 --new-cgroupns -- /bin/cat /proc/self/cgroup \
        6>"$v2_cg/cgroup.procs"
    expect_match "--new-cgroupns: the tenant's cgroup is its /" "$out" '^0::/$'
    run in_namespaces "${INIT[@]}" --cgroup-fd 6 -- /bin/true 6<"$v2_cg/cgroup.procs"
    expect_eq "read-only cgroup fd: exit 126" "$rc" 126
    expect_eq "read-only cgroup fd: report" "$report" "cgroup fd 6: Bad file descriptor"
else
    fail "could not create test cgroups under /sys/fs/cgroup/{pids,unified}"
fi

echo "# ksm"
if [ -r /proc/self/ksm_stat ]; then
    run in_namespaces "${INIT[@]}" --ksm -- /bin/grep ksm_merge_any /proc/self/ksm_stat
    expect_eq "--ksm: exit 0" "$rc" 0
    expect_eq "--ksm: merging enabled in the payload" "$out" "ksm_merge_any: yes"
else
    echo "skip - this kernel has no /proc/PID/ksm_stat"
fi

echo "# enter"
start_init -- /bin/sleep 30 && {
    enter=("$HELPER" enter --mntns-fd 5 --uid 1234 --gid 1234 --report-fd 3)
    run nsenter --target "$init_pid" --pid --uts --ipc --net -- "${enter[@]}" --cwd /tmp -- /bin/sh -c '
        id; hostname; pwd; echo "root="$(ls /); echo "pid1=$(cat /proc/1/comm)"; echo "pid=$$"
        grep -E "^(CapEff|CapBnd|NoNewPrivs):" /proc/self/status
        ls /proc/self/fd >/tmp/fds-enter; echo "fds="$(cat /tmp/fds-enter)' 5<"/proc/$init_pid/ns/mnt" 7</dev/null
    expect_eq "enter: exit 0" "$rc" 0
    expect_eq "enter: no report" "$report" ""
    expect_match "enter: runs as uid 1234" "$out" '^uid=1234 gid=1234$'
    expect_match "enter: in the tenant's uts namespace" "$out" '^emperor-smoke$'
    expect_match "enter: --cwd" "$out" '^/tmp$'
    expect_match "enter: sees the tenant's root" "$out" '^root=bin dev proc tmp$'
    expect_match "enter: sees the tenant's /proc and pid 1" "$out" '^pid1=emperor-init$'
    expect_no_match "enter: is not pid 1" "$out" '^pid=1$'
    expect_match "enter: no capabilities" "$out" '^CapEff:\s+0+$'
    expect_match "enter: empty bounding set" "$out" '^CapBnd:\s+0+$'
    expect_match "enter: no_new_privs" "$out" '^NoNewPrivs:\s+1$'
    expect_match "enter: inherits only fds 0 1 2 (3 is ls's own)" "$out" '^fds=0 1 2 3$'

    run nsenter --target "$init_pid" --pid --uts --ipc --net -- "${enter[@]}" --setsid -- /bin/sh -c '
        set -- $(cat /proc/$$/stat); echo "pid=$1 sid=$6"' 5<"/proc/$init_pid/ns/mnt"
    expect_match "enter --setsid: own session" "$out" '^pid=([0-9]+) sid=\1$'

    run nsenter --target "$init_pid" --pid --uts --ipc --net -- "${enter[@]}" --seccomp-fd 6 -- \
        /bin/grep -E '^Seccomp:' /proc/self/status 5<"/proc/$init_pid/ns/mnt" 6<"$T/allow.bpf"
    expect_match "enter --seccomp-fd: filter installed" "$out" '^Seccomp:\s+2$'

    run nsenter --target "$init_pid" --pid --uts --ipc --net -- "${enter[@]}" -- /usr/bin/env \
        5<"/proc/$init_pid/ns/mnt"
    expect_eq "enter: host program not visible: exit 127" "$rc" 127
    expect_eq "enter: host program not visible: report" "$report" "exec /usr/bin/env: No such file or directory"

    kill -TERM "$init_pid"
    finish_init
    expect_eq "init still stops on SIGTERM after enters" "$rc" 143
}

echo "# arguments"
args() {   # EXPECTED-REPORT ARGS...
    local expected=$1
    shift
    run "$HELPER" "$@"
    expect_eq "args $*: exit 126" "$rc" 126
    expect_eq "args $*: report" "$report" "$expected"
}
ok_opts=(--root-fd 9 --uid 1234 --gid 1234 --report-fd 3)
args "args: unknown option --bogus" init --report-fd 3 --bogus -- /bin/true
args "args: unknown option --bogus" init --bogus --report-fd 3 -- /bin/true
args "args: --uid 0: a tenant must not run as root" init --root-fd 9 --uid 0 --gid 1234 --report-fd 3 -- /bin/true
args "args: --gid 0: a tenant must not run as root" init --root-fd 9 --uid 1234 --gid 0 --report-fd 3 -- /bin/true
args "args: --groups: a tenant must not have group 0" init "${ok_opts[@]}" --groups 5,0 -- /bin/true
args "args: --groups 5,,6: expected gids separated by commas" init "${ok_opts[@]}" --groups 5,,6 -- /bin/true
args "args: --groups 5,: expected gids separated by commas" init "${ok_opts[@]}" --groups 5, -- /bin/true
args "args: --groups x: expected a decimal number" init "${ok_opts[@]}" --groups x -- /bin/true
args "args: fd 3 named twice" init "${ok_opts[@]}" --seccomp-fd 3 -- /bin/true
args "args: --uid 12x: expected a decimal number in 0..4294967294" init --root-fd 9 --uid 12x --gid 1 --report-fd 3 -- /bin/true
args "args: --uid -1: expected a decimal number" init --root-fd 9 --uid -1 --gid 1 --report-fd 3 -- /bin/true
args "args: --uid 4294967295: expected a decimal number in 0..4294967294" init --root-fd 9 --uid 4294967295 --gid 1 --report-fd 3 -- /bin/true
args "args: --seccomp-fd 2: expected a decimal number in 3..2147483647" init "${ok_opts[@]}" --seccomp-fd 2 -- /bin/true
args "args: --gid needs a value" init --root-fd 9 --uid 1234 --report-fd 3 --gid -- /bin/true
args "args: --cwd needs a value" init "${ok_opts[@]}" --cwd
args "args: unexpected argument /bin/true: options end with --" init "${ok_opts[@]}" /bin/true
args "args: missing -- before the program" init "${ok_opts[@]}" --proc
args "args: missing program after --" init "${ok_opts[@]}" --
args "args: --uid and --gid are required" init --root-fd 9 --uid 1234 --report-fd 3 -- /bin/true
args "args: init needs --root-fd" init --uid 1234 --gid 1234 --report-fd 3 -- /bin/true
args "args: enter needs --mntns-fd" enter --uid 1234 --gid 1234 --report-fd 3 -- /bin/true
args "args: --root-fd is only valid with init" enter --root-fd 9 --uid 1234 --gid 1234 --report-fd 3 -- /bin/true
args "args: --setsid is only valid with enter" init "${ok_opts[@]}" --setsid -- /bin/true
args "args: --root-fd given twice" init "${ok_opts[@]}" --root-fd 9 -- /bin/true
args "args: unknown option --root" init --root /srv --uid 1234 --gid 1234 --report-fd 3 -- /bin/true
args "args: --mask proc/kcore: expected an absolute path" init "${ok_opts[@]}" --mask proc/kcore -- /bin/true
args "args: usage: emperor-init init|enter [options] -- PROGRAM [ARGS...]" start --report-fd 3 -- /bin/true
run "$HELPER" init "${ok_opts[@]}" -- /bin/true
expect_eq "init outside a new pid namespace: exit 126" "$rc" 126
expect_match "init outside a new pid namespace: report" "$report" '^init: running as pid [0-9]+, not as pid 1 of a new pid namespace$'
run "$HELPER" init --bogus -- /bin/true
expect_eq "without --report-fd the report goes to stderr" "$out" "args: unknown option --bogus"

echo
if [ "$failures" -eq 0 ]; then echo "helper-smoke: all checks passed"; else echo "helper-smoke: $failures check(s) FAILED"; fi
[ "$failures" -eq 0 ]
