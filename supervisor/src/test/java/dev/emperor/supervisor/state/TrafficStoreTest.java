package dev.emperor.supervisor.state;

import dev.emperor.proxy.TenantTraffic;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Network and web traffic totals: kept across restarts, never lowered. */
class TrafficStoreTest extends StoreTestBase {
    @Test
    void webTrafficSurvivesReopeningAndAStoredCountNeverGoesDown() throws Exception {
        assertThat(store.traffic().web()).isEmpty();
        store.traffic().recordWeb(java.util.Map.of("shop", new TenantTraffic.Totals(3, 100, 2000, 1, 5, 5),
                "blog", new TenantTraffic.Totals(1, 0, 10, 0, 0, 0)));
        store.close();

        store = StateStore.open(stateDir);
        assertThat(store.traffic().web()).containsEntry("shop", new TenantTraffic.Totals(3, 100, 2000, 1, 5, 5))
                .containsEntry("blog", new TenantTraffic.Totals(1, 0, 10, 0, 0, 0));
        // a late or stale write (an emperor that lost its last interval) never lowers a bill
        store.traffic().recordWeb(java.util.Map.of("shop", new TenantTraffic.Totals(2, 150, 1000, 1, 4, 9)));
        assertThat(store.traffic().web()).containsEntry("shop", new TenantTraffic.Totals(3, 150, 2000, 1, 5, 9));
        store.identities().retire("shop", java.time.Instant.now());
        assertThat(store.traffic().web()).as("kept after the tenant is removed").containsKey("shop");
    }

    @Test
    void trafficTotalsSurviveReopeningAndNeverGoBack() throws Exception {
        assertThat(store.traffic().network("shop")).isEmpty();
        store.traffic().recordNetwork("shop", new TrafficTotals(10, 20, 3000, 4000));
        store.traffic().recordNetwork("blog", new TrafficTotals(1, 1, 60, 60));
        store.close();

        store = StateStore.open(stateDir);
        assertThat(store.traffic().network("shop")).contains(new TrafficTotals(10, 20, 3000, 4000));
        // a lower number (a bug, a stale writer) never replaces a higher one; each counter on its own
        store.traffic().recordNetwork("shop", new TrafficTotals(5, 25, 2000, 4500));
        assertThat(store.traffic().network("shop")).contains(new TrafficTotals(10, 25, 3000, 4500));
        assertThat(store.traffic().network("blog")).contains(new TrafficTotals(1, 1, 60, 60));
    }
}
