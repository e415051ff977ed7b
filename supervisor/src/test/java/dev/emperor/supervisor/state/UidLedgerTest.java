package dev.emperor.supervisor.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The uid ledger: lowest free uid, explicit claims, never reused. */
class UidLedgerTest extends StoreTestBase {
    @Test
    void removingAVassalKeepsItsUidAndEvents() {
        int uid = store.uids().allocate("alice", 2001, 2999);
        store.vassals().setDesired("alice", Desired.RUN);
        store.events().record("alice", EventKind.CONFIG, "removed");
        store.identities().retire("alice", Instant.now());

        assertThat(store.vassals().get("alice")).isEmpty();
        assertThat(store.uids().owner(uid)).contains("alice");
        assertThat(store.events().newest("alice", 10)).hasSize(1);
        assertThat(store.uids().allocate("bob", 2001, 2999)).as("never handed to another tenant").isNotEqualTo(uid);
        assertThat(store.uids().allocate("alice", 2001, 2999)).as("a returning tenant gets its uid back").isEqualTo(uid);
    }

    @Test
    void allocatesTheLowestFreeUidAndReturnsTheSameOneAgain() {
        assertThat(store.uids().allocate("alice", 2001, 2999)).isEqualTo(2001);
        assertThat(store.uids().allocate("bob", 2001, 2999)).isEqualTo(2002);
        assertThat(store.uids().allocate("alice", 2001, 2999)).isEqualTo(2001);
        store.uids().claim("carol", 2004);
        assertThat(store.uids().allocate("dave", 2001, 2999)).isEqualTo(2003);
        assertThat(store.uids().allocate("erin", 2001, 2999)).as("skips the claimed 2004").isEqualTo(2005);
    }

    @Test
    void aFullUidRangeIsAnError() {
        store.uids().allocate("alice", 2001, 2002);
        store.uids().allocate("bob", 2001, 2002);
        assertThatThrownBy(() -> store.uids().allocate("carol", 2001, 2002))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("uid range 2001-2002 exhausted");
        assertThat(store.uids().owner(2002)).contains("bob");
    }

    @Test
    void aTenantKeepsItsUidWhenTheRangeChanges() {
        store.uids().allocate("alice", 2001, 2999);
        assertThat(store.uids().allocate("alice", 5000, 5999)).isEqualTo(2001);
    }

    @Test
    void claimingAnotherTenantsUidIsRefused() {
        store.uids().claim("bob", 1234);
        assertThatThrownBy(() -> store.uids().claim("alice", 1234))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("uid 1234 already belongs to tenant bob");
        assertThatThrownBy(() -> store.uids().claim("alice", 0)).isInstanceOf(IllegalArgumentException.class);
        store.uids().claim("bob", 1234); // claiming one's own uid again is fine
        assertThat(store.uids().owner(1234)).contains("bob");
    }

    @Test
    void aTenantThatSwitchesUidKeepsTheOldOneReserved() {
        store.uids().claim("alice", 2001);
        store.uids().claim("alice", 3000);
        assertThat(store.uids().allocate("alice", 2001, 2999)).as("its current uid").isEqualTo(3000);
        assertThat(store.uids().owner(2001)).contains("alice");
        assertThat(store.uids().allocate("bob", 2001, 2999)).isEqualTo(2002);
        assertThatThrownBy(() -> store.uids().claim("bob", 2001)).hasMessage("uid 2001 already belongs to tenant alice");
        store.uids().claim("alice", 2001); // and may go back to it
        assertThat(store.uids().allocate("alice", 2001, 2999)).isEqualTo(2001);
    }
}
