package dev.emperor.supervisor.state;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Attached daemons recorded for re-adoption. */
class DaemonStoreTest extends StoreTestBase {
    @Test
    void daemonRecordsSurviveReopeningAndAreForgottenPerKeyOrAll() throws Exception {
        store.daemons().record("alice", "redis-server", 4300, 11L);
        store.daemons().record("alice", "memcached", 4301, 12L);
        store.daemons().record("bob", "redis-server", 4400, 13L);
        store.close();

        store = StateStore.open(stateDir);
        assertThat(store.daemons().of("alice")).containsOnlyKeys("redis-server", "memcached");
        assertThat(store.daemons().of("alice").get("redis-server")).isEqualTo(new RecordedDaemon(4300, 11L));
        store.daemons().forget("alice", "memcached");
        assertThat(store.daemons().of("alice")).containsOnlyKeys("redis-server");
        store.daemons().forget("alice", null);
        assertThat(store.daemons().of("alice")).isEmpty();
        assertThat(store.daemons().of("bob")).containsOnlyKeys("redis-server");
    }
}
