package dev.emperor.supervisor.shell;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShellAdmissionTest {
    private final ShellAdmission admission = new ShellAdmission();

    @Test
    void oneUidHasAtMostEightPendingConnectionsAndStartedOnesFreeTheirPlace() throws Exception {
        List<ShellAdmission.Ticket> pending = new ArrayList<>();
        for (int i = 0; i < ShellAdmission.PENDING_PER_UID; i++) pending.add(admission.admit(1000));
        assertThatThrownBy(() -> admission.admit(1000)).hasMessage(
                "too many shell connections from uid 1000 that have not started (at most 8); try again later");
        admission.admit(1001).close(); // another uid is not affected
        pending.get(0).started();
        admission.admit(1000); // a started session no longer counts as pending
        pending.get(1).close();
        admission.admit(1000);
    }

    @Test
    void oneUidHasAtMost32ConnectionsInAll() throws Exception {
        for (int i = 0; i < ShellAdmission.CONNECTIONS_PER_UID; i++) admission.admit(1000).started();
        assertThatThrownBy(() -> admission.admit(1000))
                .hasMessage("too many shell sessions for uid 1000 (at most 32); try again later");
    }

    @Test
    void nonRootUidsShareABoundThatRootIsNeverCountedIn() throws Exception {
        for (int uid = 0; uid < ShellAdmission.CONNECTIONS_NON_ROOT; uid++) admission.admit(2000 + uid);
        assertThatThrownBy(() -> admission.admit(9999)).hasMessage("too many shell sessions; try again later");
        for (int i = 0; i < 1000; i++) admission.admit(0); // root always gets in
    }

    @Test
    void closingTwiceReleasesOnce() throws Exception {
        ShellAdmission.Ticket ticket = admission.admit(1000);
        for (int i = 1; i < ShellAdmission.PENDING_PER_UID; i++) admission.admit(1000);
        ticket.close();
        ticket.close();
        admission.admit(1000);
        assertThatThrownBy(() -> admission.admit(1000)).isInstanceOf(ShellAdmission.Refused.class);
    }
}
