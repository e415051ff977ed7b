package dev.emperor.supervisor.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Each vassal's event history, newest first and bounded. */
class EventLogTest extends StoreTestBase {
    @Test
    void eventsComeNewestFirstPerVassal() {
        store.events().record("alice", EventKind.SPAWN, "pid 1");
        store.events().record("bob", EventKind.SPAWN, "pid 2");
        store.events().record("alice", EventKind.EXIT, "exited 0");
        store.events().record("alice", EventKind.ERROR, null);

        List<EventRow> events = store.events().newest("alice", 10);
        assertThat(events).extracting(EventRow::kind).containsExactly(EventKind.ERROR, EventKind.EXIT, EventKind.SPAWN);
        assertThat(events.get(0).detail()).isNull();
        assertThat(events.get(0).at()).isNotNull();
        assertThat(store.events().newest("alice", 2)).hasSize(2);
    }

    @Test
    void onlyTheNewestEventsOfEachVassalAreKept() throws Exception {
        try (StateStore small = StateStore.open(tmp.resolve("small"), 5)) {
            for (int i = 1; i <= 12; i++) {
                small.events().record("alice", EventKind.EXIT, "exit " + i);
            }
            small.events().record("bob", EventKind.SPAWN, "bob's only event");
            assertThat(small.events().newest("alice", 100)).extracting(EventRow::detail)
                    .containsExactly("exit 12", "exit 11", "exit 10", "exit 9", "exit 8");
            assertThat(small.events().newest("bob", 100)).hasSize(1);
        }
    }
}
