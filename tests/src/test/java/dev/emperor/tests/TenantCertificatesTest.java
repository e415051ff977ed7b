package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Several certificates per tenant, chosen by SNI, as real clients (openssl s_client, curl) see
 * them: a wildcard upload keeps the tenant's certificate for its other names, `cert rm --name`
 * removes one only, and they outlive an emperor restart; another tenant never installs one for
 * a name the first holds.
 */
class TenantCertificatesTest {
    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().build();
    private final EmperorProcess emperor = fixture.process();
    private TestCa ca;

    @BeforeEach
    void makeCa() throws Exception {
        ca = TestCa.create(Files.createDirectories(emperor.root().resolve("pki")));
    }

    @Test
    void aWildcardUploadKeepsTheOtherCertificateBothServeBySniAndCertRmNameRemovesOnlyOne() throws Exception {
        emperor.vassal("shop", EmperorProcess.SLEEPER, "domain = shop.test", "domain = www.shop.test",
                "domain = *.shop.test");
        emperor.waitForRunning("shop");

        assertThat(cert("put", "shop", ca.bundleFor("apex", "shop.test", "www.shop.test").toString()).code()).isZero();
        EmperorProcess.CliResult wild = cert("put", "shop", ca.bundleFor("wild", "*.shop.test").toString());
        assertThat(wild.code()).as("cert put: %s", wild.err()).isZero();
        assertThat(wild.out()).doesNotContain("replaced");

        assertThat(presentedCn("shop.test")).isEqualTo("apex");
        assertThat(presentedCn("www.shop.test")).as("named exactly beats the wildcard").isEqualTo("apex");
        assertThat(presentedCn("api.shop.test")).isEqualTo("wild");
        assertThat(verified("shop.test")).isEqualTo("OK");
        assertThat(verified("api.shop.test")).isEqualTo("OK");
        String list = cert("list", "shop").out();
        assertThat(list).contains("upload").contains("*.shop.test").contains("shop.test, www.shop.test").contains("expires");
        JsonNode certificates = emperor.statusOf("shop").path("certificates");
        assertThat(certificates).hasSize(2);

        // both outlive a restart
        emperor.stop();
        emperor.start();
        emperor.waitForRunning("shop");
        assertThat(presentedCn("shop.test")).isEqualTo("apex");
        assertThat(presentedCn("api.shop.test")).isEqualTo("wild");

        // --name as written: a name only the wildcard covers removes nothing
        EmperorProcess.CliResult none = cert("rm", "shop", "--name", "api.shop.test");
        assertThat(none.code()).isEqualTo(1);
        assertThat(none.err()).contains("no certificate naming api.shop.test");
        EmperorProcess.CliResult removed = cert("rm", "shop", "--name", "*.shop.test");
        assertThat(removed.code()).as("cert rm: %s", removed.err()).isZero();
        assertThat(removed.out()).contains("removed certificate for *.shop.test");
        assertThat(presentedCn("api.shop.test")).as("the wildcard is gone").isNotEqualTo("wild");
        assertThat(presentedCn("shop.test")).as("the other one stays").isEqualTo("apex");
        assertThat(emperor.statusOf("shop").path("certificates")).hasSize(1);

        // the same names again replace it
        EmperorProcess.CliResult again = cert("put", "shop", ca.bundleFor("apex2", "www.shop.test", "shop.test").toString());
        assertThat(again.out()).contains("replaced certificate for shop.test, www.shop.test");
        assertThat(presentedCn("www.shop.test")).isEqualTo("apex2");
        assertThat(emperor.statusOf("shop").path("certificates")).hasSize(1);

        // another tenant naming shop's names never gets a certificate for them, not even beside its own
        emperor.vassal("evil", EmperorProcess.SLEEPER, "domain = evil.test", "domain = shop.test");
        emperor.waitForRunning("evil");
        for (Path bundle : List.of(ca.bundleFor("steal", "shop.test"), ca.bundleFor("steal-wild", "*.shop.test"),
                ca.bundleFor("mixed", "evil.test", "shop.test"))) {
            EmperorProcess.CliResult refused = cert("put", "evil", bundle.toString());
            assertThat(refused.code()).as("%s", bundle).isEqualTo(1);
            assertThat(refused.err()).contains("shop.test");
        }
        assertThat(cert("put", "evil", ca.bundleFor("evil", "evil.test").toString()).code()).isZero();
        assertThat(cert("rm", "evil", "--name", "shop.test").code()).isEqualTo(1);
        assertThat(presentedCn("shop.test")).isEqualTo("apex2");
        assertThat(presentedCn("evil.test")).isEqualTo("evil");
    }

    /** The common name of the leaf the emperor's HTTPS port presents for {@code name}. */
    private String presentedCn(String name) {
        String out = TenantWebApp.run(List.of("bash", "-c", "/usr/bin/openssl s_client -connect 127.0.0.1:"
                + emperor.httpsPort() + " -servername '" + name + "' </dev/null 2>/dev/null"
                + " | /usr/bin/openssl x509 -noout -subject -nameopt multiline"));
        return out.lines().map(String::strip).filter(l -> l.startsWith("commonName")).map(l -> l.replaceFirst(".*= *", ""))
                .findFirst().orElse("(none: " + out + ")");
    }

    /** curl over HTTPS trusting only the test CA: "OK" when the chain verifies for the name. */
    private String verified(String name) {
        int port = emperor.httpsPort();
        return TenantWebApp.run(List.of("bash", "-c", "/usr/bin/curl -s -o /dev/null --max-time 10 --cacert "
                + ca.certificate() + " --resolve '" + name + ":" + port + ":127.0.0.1' 'https://" + name + ":" + port
                + "/' && echo OK || echo \"curl failed $?\"")).strip();
    }

    private EmperorProcess.CliResult cert(String sub, String... args) {
        List<String> all = new ArrayList<>(List.of("cert", sub, "-c", emperor.configFile().toString()));
        all.addAll(List.of(args));
        return EmperorProcess.cli(all.toArray(String[]::new));
    }
}
