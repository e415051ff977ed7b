# Sourced by ./emperor and tests/run: picks a JDK >= 21 and builds the project when needed.
# Why not the default `java`: Debian 12 ships 17; Emperor targets 21+ (virtual threads, FFM-free JNA).

emperor_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

java_major() { # prints the major version of the JDK at $1, or nothing
    local release="$1/release" v
    [ -x "$1/bin/java" ] || return 0
    if [ -f "$release" ]; then
        v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release")
    else
        v=$("$1/bin/java" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p')
    fi
    echo "$v"
}

pick_jdk() {
    local candidate best="" best_v=0 v
    for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
        [ -n "$candidate" ] && [ -x "$candidate/bin/javac" ] || continue
        v=$(java_major "$candidate")
        [ -n "$v" ] && [ "$v" -ge 21 ] && [ "$v" -gt "$best_v" ] && { best=$candidate; best_v=$v; }
    done
    if [ -z "$best" ] && command -v javac >/dev/null; then
        candidate=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
        v=$(java_major "$candidate")
        [ -n "$v" ] && [ "$v" -ge 21 ] && best=$candidate
    fi
    if [ -z "$best" ]; then
        echo "emperor: no JDK 21 or newer found (looked at \$JAVA_HOME and /usr/lib/jvm/*)." >&2
        echo "         install one, e.g. 'apt-get install openjdk-21-jdk-headless' or a Temurin JDK" >&2
        return 1
    fi
    export JAVA_HOME=$best
}

# Netty turns sun.misc.Unsafe off on JDK 25+ (the JDK would warn), and without it every
# buffer access is bounds-checked through ByteBuffer views: the proxy's direct buffers are
# its hot path. JDK 23 and later take this flag to allow it without the warning.
netty_unsafe_flag() {
    local v
    v=$(java_major "$JAVA_HOME")
    [ -n "$v" ] && [ "$v" -ge 23 ] && echo "--sun-misc-unsafe-memory-access=allow"
    return 0
}

# The daemon's heap. Without a maximum the JVM may grow it to a quarter of RAM and keep it
# (938 MB RSS over ~60 MB live after a fuzzing run). The live heap measured 16 MB with no
# tenant and 29 MB with 100 (docs/CONFIG.md, "The daemon's memory"), so 256m carries about
# a thousand tenants with room for bursts. G1 with a periodic collection after a quiet minute gives unused heap
# back to the OS (MaxHeapFreeRatio: keep at most 30% of the committed heap free). Netty's
# direct buffers get a bound of their own instead of one equal to the heap.
# EMPEROR_HEAP_MAX and EMPEROR_DIRECT_MAX (e.g. 512m, 1g) override the two bounds.
emperor_memory_flags() {
    local heap="${EMPEROR_HEAP_MAX:-256m}" direct="${EMPEROR_DIRECT_MAX:-256m}" name value
    for name in EMPEROR_HEAP_MAX EMPEROR_DIRECT_MAX; do
        [ "$name" = EMPEROR_HEAP_MAX ] && value=$heap || value=$direct
        if ! [[ $value =~ ^[1-9][0-9]*[kKmMgG]$ ]]; then
            echo "emperor: $name=$value: expected a size such as 256m or 1g" >&2
            return 1
        fi
    done
    echo "-XX:+UseG1GC -Xms8m -Xmx$heap -XX:MaxDirectMemorySize=$direct" \
        "-XX:G1PeriodicGCInterval=60000 -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30"
}

# Rebuilds the supervisor jar when a pom or anything under a module's src/main is newer than it,
# with the Maven Wrapper (./mvnw: the Maven version the build is made with, downloaded once
# into ~/.m2/wrapper; nothing to install first).
build_if_needed() {
    local jar="$emperor_repo/supervisor/target/emperor-supervisor.jar"
    if [ ! -f "$jar" ] || [ -n "$(find "$emperor_repo"/pom.xml "$emperor_repo"/*/pom.xml "$emperor_repo"/*/src/main \
            -newer "$jar" -print -quit 2>/dev/null)" ]; then
        echo "emperor: building (./mvnw package; the first build downloads Maven and the dependencies)..." >&2
        (cd "$emperor_repo" && ./mvnw -q -B -ntp -DskipTests -pl supervisor -am package) >&2 || {
            echo "emperor: build failed" >&2; return 1; }
    fi
}

# What `emperor demo` needs of the host beyond a JDK: debootstrap (the example tenants' distro)
# and nftables (the tenants' NAT). Installed with apt-get, after saying so, as the demo runs as
# root on a fresh Debian; elsewhere it names them and stops.
demo_packages() {
    local missing=()
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v nft >/dev/null || missing+=(nftables)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "emperor demo: needs ${missing[*]}: install them first (run as root: the demo makes jails)" >&2
        return 1
    fi
    echo "emperor demo: installing ${missing[*]} (apt-get install)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; } || {
        echo "emperor demo: could not install ${missing[*]}" >&2; return 1; }
}

# The class path of a snapshot of the build: a later rebuild writes new jars into
# target/, which would corrupt a daemon still loading classes lazily from the old ones.
# The snapshot's name comes from each jar's size, mtime and inode (a rebuild rewrites them):
# hashing the 36 MB of jars took ~60 ms of every CLI command.
emperor_classpath() {
    local jar="$emperor_repo/supervisor/target/emperor-supervisor.jar" id snapshot
    id=$(stat -c '%n %s %Y %i' "$jar" "$emperor_repo"/supervisor/target/lib/*.jar | sha1sum | cut -c1-12)
    snapshot="$emperor_repo/.emperor-build/$id"
    if [ ! -d "$snapshot" ]; then
        rm -rf "$snapshot.partial.$$"
        mkdir -p "$snapshot.partial.$$/lib"
        cp "$jar" "$snapshot.partial.$$/"
        cp "$emperor_repo"/supervisor/target/lib/*.jar "$snapshot.partial.$$/lib/"
        mv -T "$snapshot.partial.$$" "$snapshot" 2>/dev/null || rm -rf "$snapshot.partial.$$" # another command won
        # keep the five newest snapshots: older daemons may still run from them
        ls -1dt "$emperor_repo"/.emperor-build/*/ 2>/dev/null | tail -n +6 | xargs -r rm -rf
    fi
    echo "$snapshot/emperor-supervisor.jar:$snapshot/lib/*"
}

# Sets the array jvm_flags: the JVM flags of every emperor command, the daemon's included
# (its heap flags: emperor_memory_flags; the short commands': client_gc_flags).
set_jvm_flags() {
    jvm_flags=(--enable-native-access=ALL-UNNAMED $(netty_unsafe_flag) -XX:+MaxFDLimit
        -Dio.netty.leakDetection.level=disabled "-Demperor.repo=$emperor_repo")
}

# The short commands (status, start, check...): Serial GC and a small initial heap start
# fastest and use least. Their class cache is made with these same flags.
client_gc_flags="-XX:+UseSerialGC -Xms8m"

# A class cache for the short commands (status, start, stop, check, logs...): most of their
# time was the JVM loading and linking the same classes again. JDK 25+: an AOT cache (classes
# loaded and linked ahead, JEP 483/514); 21-24: a dynamic CDS archive. Made once per build
# snapshot by a training run of `check` on the example vassals, under a temporary name and
# then renamed, so a command never maps a half-written file. EMPEROR_CLI_CACHE=off skips it.
# Takes the class path from emperor_classpath, and jvm_flags set; prints the flag that uses
# the cache (nothing if it cannot be made).
cli_cache_flags() {
    local classpath=$1 snapshot=${1%%/emperor-supervisor.jar:*} v cache use train=()
    [ "${EMPEROR_CLI_CACHE:-on}" = off ] && return 0
    v=$(java_major "$JAVA_HOME")
    if [ "$v" -ge 25 ]; then
        # Without adapter caching: JDK 25.0.3's cached adapters fail to link at every later
        # start, with two warnings on stdout, where a panel reads `status --json`.
        cache="$snapshot/cli.aot"; use=-XX:AOTCache=$cache
        train=(-XX:+UnlockDiagnosticVMOptions -XX:-AOTAdapterCaching -XX:AOTCacheOutput=$cache.$$)
    else
        cache="$snapshot/cli.jsa"; use=-XX:SharedArchiveFile=$cache; train=(-XX:ArchiveClassesAtExit=$cache.$$)
    fi
    if [ ! -s "$cache" ] && [ -w "$snapshot" ]; then
        "$JAVA_HOME/bin/java" "${jvm_flags[@]}" $client_gc_flags "${train[@]}" -cp "$classpath" \
            dev.emperor.supervisor.Main check "$emperor_repo"/vassals/examples/* >/dev/null 2>&1 </dev/null || true
        if [ -s "$cache.$$" ]; then mv -f "$cache.$$" "$cache"; else rm -f "$cache.$$"; fi
    fi
    [ -s "$cache" ] && echo "$use"
    return 0
}
