package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A real browser (headless Chromium) loads a tenant's page through the emperor's HTTPS
 * listener, served with the certificate the tenant uploaded (signed by a test CA).
 *
 * <p>Chromium trusts that certificate through --ignore-certificate-errors-spki-list, pinned to
 * the leaf's public key: the machine's trust store and NSS databases are never touched, and a
 * page only loads if the emperor served exactly the uploaded certificate. HOME and the
 * profile are temporary directories under the test's root.
 */
class BrowserOverHttpsTest {
    private static final String NAME = "shop.example.test";

    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().webApp().logsOnFailure("shop").build();
    private final EmperorProcess emperor = fixture.process();

    @Test
    void chromiumLoadsTheTenantsPageOverHttp2WithTheUploadedCertificate() throws Exception {
        TenantWebApp.tenant(emperor, "shop", "domain = " + NAME);
        emperor.waitForRunning("shop");
        emperor.waitFor("the page", Duration.ofSeconds(60),
                () -> TenantWebApp.curl(emperor, NAME, false, "/").text().contains("hello from shop"));

        TestCa ca = TestCa.create(Files.createDirectories(emperor.root().resolve("pki")));
        Path bundle = ca.bundleFor(NAME);
        EmperorProcess.CliResult put = EmperorProcess.cli("cert", "put", "-c", emperor.configFile().toString(), "shop",
                bundle.toString());
        assertThat(put.code()).as("cert put: %s", put.err()).isZero();
        String pin = ca.leafSpkiHash(NAME);

        String dom = chromium("trusted", "--ignore-certificate-errors-spki-list=" + pin);
        assertThat(dom).contains("<p>hello from shop</p>");
        assertThat(dom).as("the protocol the page's script saw").contains("protocol=h2");

        // the control: without the pin the test CA is unknown to Chromium, and the page does not load
        String untrusted = chromium("untrusted");
        assertThat(untrusted).doesNotContain("hello from shop");
    }

    /** {@code chromium --headless=new --dump-dom} of the tenant's page; the DOM it printed. */
    private String chromium(String label, String... extra) throws IOException, InterruptedException {
        Path home = Files.createDirectories(emperor.root().resolve("browser-" + label));
        List<String> cmd = new ArrayList<>(List.of("chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--user-data-dir=" + home.resolve("profile"),
                "--host-resolver-rules=MAP " + NAME + " 127.0.0.1", "--virtual-time-budget=5000"));
        cmd.addAll(List.of(extra));
        cmd.addAll(List.of("--dump-dom", "https://" + NAME + ":" + emperor.httpsPort() + "/page.html"));
        ProcessBuilder builder = new ProcessBuilder(cmd)
                .redirectOutput(home.resolve("dom.html").toFile())
                .redirectError(home.resolve("stderr.txt").toFile());
        builder.environment().put("HOME", home.toString());
        Process browser = builder.start();
        try {
            if (!browser.waitFor(60, TimeUnit.SECONDS)) {
                throw new AssertionError("chromium did not finish in 60 s:\n" + Files.readString(home.resolve("stderr.txt")));
            }
        } finally {
            // by pid: the browser and whatever helpers (zygote, renderer, GPU) it left
            List<ProcessHandle> family = new ArrayList<>(browser.descendants().toList());
            family.add(browser.toHandle());
            family.forEach(ProcessHandle::destroyForcibly);
        }
        String dom = Files.readString(home.resolve("dom.html"));
        System.out.println("--- chromium (" + label + ") DOM:\n" + dom);
        return dom;
    }
}
