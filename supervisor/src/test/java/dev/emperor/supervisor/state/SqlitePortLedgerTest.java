package dev.emperor.supervisor.state;

import static dev.emperor.proxy.l4.ServiceProtocol.TCP;
import static dev.emperor.proxy.l4.ServiceProtocol.TLS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.proxy.l4.PortAllocator;
import dev.emperor.proxy.l4.PortAssignment;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqlitePortLedgerTest {

    @TempDir
    Path tmp;

    StateStore store;

    @BeforeEach
    void open() throws Exception {
        store = StateStore.open(tmp);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void assignmentsSurviveReopeningTheDatabase() throws Exception {
        PortAllocator ports = new PortAllocator(20000, 20099, store.ports());
        ports.assign("shop", "db", TCP);
        ports.assign("shop", "web", TLS);
        store.close();
        store = StateStore.open(tmp);
        PortAllocator again = new PortAllocator(20000, 20099, store.ports());
        assertThat(again.assign("shop", "web", TLS).publicPort()).isEqualTo(20001);
        assertThat(again.assign("blog", "db", TCP).publicPort()).isEqualTo(20002);
        assertThat(store.ports().ofTenant("shop")).containsExactly(
                new PortAssignment("shop", "db", TCP, 20000, false),
                new PortAssignment("shop", "web", TLS, 20001, false));
    }

    @Test
    void theDatabaseRefusesToGiveAPortTwice() {
        store.ports().record(new PortAssignment("shop", "db", TCP, 20000, false));
        assertThatThrownBy(() -> store.ports().record(new PortAssignment("blog", "db", TCP, 20000, false)))
                .isInstanceOf(StateException.class)
                .hasMessageContaining("UNIQUE");
        assertThatThrownBy(() -> store.ports().record(new PortAssignment("shop", "db", TCP, 20001, false)))
                .isInstanceOf(StateException.class);
        assertThat(store.ports().loadAll()).hasSize(1);
    }

    @Test
    void releasingStampsReleasedAtAndReDeclaringClearsIt() throws Exception {
        PortAllocator ports = new PortAllocator(20000, 20099, store.ports());
        Map<String, dev.emperor.proxy.l4.ServiceProtocol> declared = new LinkedHashMap<>();
        declared.put("db", TCP);
        ports.reconcile("shop", declared);
        ports.releaseTenant("shop");
        assertThat(releasedAt("shop", "db")).isNotNull();
        assertThat(store.ports().ofTenant("shop").get(0).released()).isTrue();
        ports.reconcile("shop", declared);
        assertThat(releasedAt("shop", "db")).isNull();
        assertThat(store.ports().ofTenant("shop").get(0).released()).isFalse();
    }

    @Test
    void aDestroyedTenantsPortStaysTakenAfterARestart() throws Exception {
        PortAllocator ports = new PortAllocator(20000, 20000, store.ports());
        ports.assign("old", "db", TCP);
        ports.releaseTenant("old");
        store.close();
        store = StateStore.open(tmp);
        PortAllocator again = new PortAllocator(20000, 20000, store.ports());
        assertThatThrownBy(() -> again.assign("new", "db", TCP)).hasMessageContaining("20000-20000");
    }

    @Test
    void updatingAPortThatWasNeverRecordedFails() {
        assertThatThrownBy(() -> store.ports().update(new PortAssignment("shop", "db", TCP, 20000, true)))
                .isInstanceOf(StateException.class)
                .hasMessageContaining("shop/db");
    }

    private Long releasedAt(String tenant, String service) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + tmp.resolve("emperor.db"));
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT released_at FROM ports WHERE tenant = '" + tenant
                        + "' AND service = '" + service + "'")) {
            rs.next();
            long v = rs.getLong(1);
            return rs.wasNull() ? null : v;
        }
    }
}
