package dev.emperor.tests;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The emperor of one integration test, as a JUnit extension: a fresh {@link EmperorProcess}
 * (its own temporary root, cgroup subtree, ports), started before each test and stopped and
 * cleaned up after it, also when the test or the start fails.
 *
 * <pre>
 * &#64;RegisterExtension
 * final EmperorFixture fixture = EmperorFixture.builder().webApp().logsOnFailure("shop").build();
 * private final EmperorProcess emperor = fixture.process();
 * </pre>
 *
 * JUnit makes a new test instance per test method, so each test gets its own emperor.
 */
public final class EmperorFixture implements BeforeEachCallback, AfterEachCallback {
    private final EmperorProcess process;
    private final boolean webApp;
    private final boolean start;
    private final List<String> logsOnFailure;
    private boolean closed;

    private EmperorFixture(Builder builder) {
        this.process = new EmperorProcess();
        builder.settings.forEach(process::set);
        if (builder.openFileLimit > 0) process.withOpenFileLimit(builder.openFileLimit);
        this.webApp = builder.webApp;
        this.start = builder.start;
        this.logsOnFailure = List.copyOf(builder.logsOnFailure);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The emperor under test; it exists (root, emperor.ini settings) from construction on. */
    public EmperorProcess process() {
        return process;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        try {
            if (webApp) TenantWebApp.install(process);
            if (start) process.start();
        } catch (RuntimeException | AssertionError e) {
            close(); // a failed start leaves nothing behind either
            throw e;
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (context.getExecutionException().isPresent()) {
            for (String tenant : logsOnFailure) { // for the report
                System.out.println("--- log of " + tenant + ":\n"
                        + String.join("\n", EmperorProcess.readLines(process.logOf(tenant))));
            }
        }
        close();
    }

    private void close() {
        if (closed) return;
        closed = true;
        process.close();
    }

    /** What the tests need to differ in; everything else is {@link EmperorProcess}'s default. */
    public static final class Builder {
        private final Map<String, String> settings = new LinkedHashMap<>();
        private final List<String> logsOnFailure = new ArrayList<>();
        private boolean webApp;
        private boolean start = true;
        private int openFileLimit;

        private Builder() {
        }

        /** Overrides one `[emperor]` key of emperor.ini (see {@link EmperorProcess#set}). */
        public Builder set(String key, String value) {
            settings.put(key, value);
            return this;
        }

        /** Installs {@link TenantWebApp}'s app in the emperor's opt-dir before the start. */
        public Builder webApp() {
            this.webApp = true;
            return this;
        }

        /** Runs the daemon with this RLIMIT_NOFILE (see {@link EmperorProcess#withOpenFileLimit}). */
        public Builder openFileLimit(int limit) {
            this.openFileLimit = limit;
            return this;
        }

        /** Leaves the start to the test (which prepares more first); stopping and clean-up stay. */
        public Builder notStarted() {
            this.start = false;
            return this;
        }

        /** Prints these tenants' logs after a failed test. */
        public Builder logsOnFailure(String... tenants) {
            logsOnFailure.addAll(List.of(tenants));
            return this;
        }

        public EmperorFixture build() {
            return new EmperorFixture(this);
        }
    }
}
