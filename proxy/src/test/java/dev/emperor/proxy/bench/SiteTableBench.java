package dev.emperor.proxy.bench;

import dev.emperor.proxy.SiteTable;
import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.Upstream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Host → tenant, run once per request on the event loop: an exact name, a name served by a
 * wildcard two labels up, and a miss, against tables of 10 and 10,000 tenants (two names
 * each, one of them a wildcard). Run it with:
 * <pre>
 *   mvn -q -B -ntp -pl proxy -am test-compile
 *   cd proxy &amp;&amp; mvn -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.classpath
 *   java -cp target/classes:target/test-classes:$(cat target/bench.classpath) org.openjdk.jmh.Main SiteTableBench
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SiteTableBench {

    @Param({"10", "10000"})
    int tenants;

    SiteTable table;
    String exactHost;
    String wildcardHost;
    String missHost;

    @Setup
    public void build() {
        List<TenantSite> sites = new ArrayList<>();
        for (int i = 0; i < tenants; i++) {
            String domain = "shop" + i + ".example.com";
            sites.add(new TenantSite("t" + i, List.of(domain, "*." + domain),
                    new Upstream.UnixSocket(Path.of("/run/emperor/vassals/t" + i + "/app.sock")),
                    null, false, false, 1 << 20, 1000));
        }
        table = SiteTable.build(sites).table();
        int middle = tenants / 2;
        exactHost = "Shop" + middle + ".example.com:8080"; // as browsers send it: mixed case, a port
        wildcardHost = "a.b.shop" + middle + ".example.com";
        missHost = "nobody.example.org";
    }

    @Benchmark
    public TenantSite exact() {
        return table.find(exactHost);
    }

    @Benchmark
    public TenantSite wildcard() {
        return table.find(wildcardHost);
    }

    @Benchmark
    public TenantSite miss() {
        return table.find(missHost);
    }
}
