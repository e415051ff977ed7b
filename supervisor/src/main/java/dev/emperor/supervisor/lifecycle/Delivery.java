package dev.emperor.supervisor.lifecycle;

import dev.emperor.jail.ExitStatus;
import dev.emperor.supervisor.config.VassalConfig;
import java.time.Duration;
import java.time.Instant;

/**
 * One event as it reaches a vassal's mailbox, with the data it came with: {@link Transition}
 * sees only the event, the effects use the data. Fields the event does not carry are null.
 */
record Delivery(LifecycleEvent event, VassalConfig config, String error, boolean configError,
        Payload payload, Instant since, ExitStatus exit, Duration ranFor, PayloadRunner.Spawned spawned) {
    static Delivery of(LifecycleEvent event) {
        return new Delivery(event, null, null, false, null, null, null, null, null);
    }

    static Delivery file(LifecycleEvent event, VassalConfig config) {
        return new Delivery(event, config, null, false, null, null, null, null, null);
    }

    static Delivery error(LifecycleEvent event, String error, boolean configError) {
        return new Delivery(event, null, error, configError, null, null, null, null, null);
    }

    static Delivery adopted(Payload payload, Instant since) {
        return new Delivery(LifecycleEvent.ADOPTED, null, null, false, payload, since, null, null, null);
    }

    static Delivery exited(LifecycleEvent event, Payload payload, ExitStatus exit, Duration ranFor) {
        return new Delivery(event, null, null, false, payload, null, exit, ranFor, null);
    }

    static Delivery spawned(PayloadRunner.Spawned spawned) {
        return new Delivery(LifecycleEvent.SPAWNED, null, null, false, null, null, null, null, spawned);
    }
}
