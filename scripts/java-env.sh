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

# Rebuilds the supervisor jar when a pom or anything under a module's src/main is newer than it.
build_if_needed() {
    local jar="$emperor_repo/supervisor/target/emperor-supervisor.jar"
    if [ ! -f "$jar" ] || [ -n "$(find "$emperor_repo"/pom.xml "$emperor_repo"/*/pom.xml "$emperor_repo"/*/src/main \
            -newer "$jar" -print -quit 2>/dev/null)" ]; then
        command -v mvn >/dev/null || { echo "emperor: Maven (mvn) is needed to build; apt-get install maven" >&2; return 1; }
        echo "emperor: building (mvn package)..." >&2
        (cd "$emperor_repo" && mvn -q -B -DskipTests -pl supervisor -am package) >&2 || {
            echo "emperor: build failed" >&2; return 1; }
    fi
}

# The class path of a snapshot of the build: a later rebuild writes new jars into
# target/, which would corrupt a daemon still loading classes lazily from the old ones.
emperor_classpath() {
    local jar="$emperor_repo/supervisor/target/emperor-supervisor.jar" id snapshot
    id=$(cat "$jar" "$emperor_repo"/supervisor/target/lib/*.jar | sha1sum | cut -c1-12)
    snapshot="$emperor_repo/.emperor-build/$id"
    if [ ! -d "$snapshot" ]; then
        mkdir -p "$snapshot.partial/lib"
        cp "$jar" "$snapshot.partial/"
        cp "$emperor_repo"/supervisor/target/lib/*.jar "$snapshot.partial/lib/"
        mv "$snapshot.partial" "$snapshot"
        # keep the five newest snapshots: older daemons may still run from them
        ls -1dt "$emperor_repo"/.emperor-build/*/ 2>/dev/null | tail -n +6 | xargs -r rm -rf
    fi
    echo "$snapshot/emperor-supervisor.jar:$snapshot/lib/*"
}
