package dev.emperor.proxy.http;

import static dev.emperor.proxy.http.ExchangePhase.ABORTED;
import static dev.emperor.proxy.http.ExchangePhase.AWAITING_RESPONSE;
import static dev.emperor.proxy.http.ExchangePhase.CONNECTING;
import static dev.emperor.proxy.http.ExchangePhase.CONNECTING_REQUEST_READ;
import static dev.emperor.proxy.http.ExchangePhase.DONE;
import static dev.emperor.proxy.http.ExchangePhase.RESPONDING;
import static dev.emperor.proxy.http.ExchangePhase.RESPONDING_EARLY;
import static dev.emperor.proxy.http.ExchangePhase.SENDING_BODY;
import static dev.emperor.proxy.http.ExchangePhase.UPGRADED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class ExchangePhaseTest {

    /** Every event, by name. */
    private static final Map<String, UnaryOperator<ExchangePhase>> EVENTS = Map.of(
            "requestRead", ExchangePhase::requestRead,
            "connected", ExchangePhase::connected,
            "responseBegan", ExchangePhase::responseBegan,
            "responseEnded", ExchangePhase::responseEnded,
            "upgraded", ExchangePhase::upgraded,
            "aborted", ExchangePhase::aborted);

    /** The whole table: phase, event, next phase. Any pair not listed must be refused. */
    private static final Object[][] TRANSITIONS = {
            {CONNECTING, "requestRead", CONNECTING_REQUEST_READ},
            {CONNECTING, "connected", SENDING_BODY},
            {CONNECTING_REQUEST_READ, "connected", AWAITING_RESPONSE},
            {SENDING_BODY, "requestRead", AWAITING_RESPONSE},
            {SENDING_BODY, "responseBegan", RESPONDING_EARLY},
            {SENDING_BODY, "upgraded", UPGRADED},
            {AWAITING_RESPONSE, "responseBegan", RESPONDING},
            {AWAITING_RESPONSE, "upgraded", UPGRADED},
            {RESPONDING_EARLY, "requestRead", RESPONDING},
            {RESPONDING_EARLY, "responseEnded", DONE},
            {RESPONDING, "responseEnded", DONE},
            {CONNECTING, "aborted", ABORTED},
            {CONNECTING_REQUEST_READ, "aborted", ABORTED},
            {SENDING_BODY, "aborted", ABORTED},
            {AWAITING_RESPONSE, "aborted", ABORTED},
            {RESPONDING_EARLY, "aborted", ABORTED},
            {RESPONDING, "aborted", ABORTED},
    };

    @Test
    void everyEventGivesTheTablesNextPhaseOrIsRefused() {
        int allowed = 0;
        for (ExchangePhase phase : ExchangePhase.values()) {
            for (Map.Entry<String, UnaryOperator<ExchangePhase>> event : EVENTS.entrySet()) {
                ExchangePhase expected = next(phase, event.getKey());
                if (expected != null) {
                    assertThat(event.getValue().apply(phase)).as(phase + " + " + event.getKey()).isEqualTo(expected);
                    allowed++;
                } else {
                    assertThatThrownBy(() -> event.getValue().apply(phase)).as(phase + " + " + event.getKey())
                            .isInstanceOf(IllegalStateException.class)
                            .hasMessageContaining(phase.name());
                }
            }
        }
        assertThat(allowed).isEqualTo(TRANSITIONS.length);
    }

    @Test
    void anExchangeThatIsOverTakesNoMoreEvents() {
        for (ExchangePhase over : EnumSet.of(DONE, UPGRADED, ABORTED)) {
            assertThat(over.over()).isTrue();
            // Not even a second abort: the Forwarder checks over() before it ends an exchange.
            assertThatThrownBy(over::aborted).isInstanceOf(IllegalStateException.class);
        }
        assertThat(EnumSet.complementOf(EnumSet.of(DONE, UPGRADED, ABORTED))).noneMatch(ExchangePhase::over);
    }

    @Test
    void aRequestStartsWholeOnlyWhenItCameWithItsEnd() {
        assertThat(ExchangePhase.start(false)).isEqualTo(CONNECTING);
        assertThat(ExchangePhase.start(true)).isEqualTo(CONNECTING_REQUEST_READ);
    }

    @Test
    void theBodyIsOwedUntilItsEndWhateverTheResponseDoes() {
        assertThat(phasesWhere(ExchangePhase::requestBodyOwed)).containsExactlyInAnyOrder(CONNECTING, SENDING_BODY,
                RESPONDING_EARLY);
        assertThat(phasesWhere(ExchangePhase::connecting)).containsExactlyInAnyOrder(CONNECTING,
                CONNECTING_REQUEST_READ);
        // Once response bytes may have left, a failure can only close the client, never send a page.
        assertThat(phasesWhere(ExchangePhase::responseBegun)).containsExactlyInAnyOrder(RESPONDING_EARLY, RESPONDING);
    }

    @Test
    void theUsualKeepAliveExchangeAndTheEarlyAnswer() {
        assertThat(CONNECTING.connected().requestRead().responseBegan().responseEnded()).isEqualTo(DONE);
        // The app answers (413, say) before the client's body is all sent, which then still comes.
        assertThat(CONNECTING.connected().responseBegan().requestRead().responseEnded()).isEqualTo(DONE);
        assertThat(CONNECTING.connected().responseBegan().responseEnded()).isEqualTo(DONE);
    }

    private static ExchangePhase next(ExchangePhase phase, String event) {
        for (Object[] row : TRANSITIONS) {
            if (row[0] == phase && row[1].equals(event)) {
                return (ExchangePhase) row[2];
            }
        }
        return null;
    }

    private static Set<ExchangePhase> phasesWhere(java.util.function.Predicate<ExchangePhase> test) {
        EnumSet<ExchangePhase> phases = EnumSet.noneOf(ExchangePhase.class);
        for (ExchangePhase phase : ExchangePhase.values()) {
            if (test.test(phase)) {
                phases.add(phase);
            }
        }
        return phases;
    }
}
