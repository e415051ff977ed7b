package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.proxy.tls.CertificateStore;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The acme-* keys of emperor.ini: off by default, read when given, and every mistake names key and line. */
class AcmeConfigTest {
    @TempDir
    Path dir;

    private EmperorConfig load(String content) throws Exception {
        return EmperorConfig.load(Files.writeString(dir.resolve("emperor.ini"), content));
    }

    private String error(String content) throws Exception {
        Path file = Files.writeString(dir.resolve("emperor.ini"), content);
        try {
            EmperorConfig.load(file);
        } catch (ConfigError e) {
            return e.getMessage().substring(file.toString().length());
        }
        throw new AssertionError("expected a ConfigError");
    }

    /** A real PEM certificate (the store's self-signed fallback will do as a trust anchor). */
    private Path caFile() throws Exception {
        byte[] der = new CertificateStore(dir.resolve("certs"), "ca.test").presentedFor(null).leaf().getEncoded();
        String pem = "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END CERTIFICATE-----\n";
        return Files.writeString(dir.resolve("ca.pem"), pem, StandardCharsets.US_ASCII);
    }

    @Test
    void acmeIsOffWithoutADirectory() throws Exception {
        assertThat(load("[emperor]\n").proxy().acme()).isEmpty();
        assertThat(EmperorConfig.defaults().proxy().acme()).isEmpty();
    }

    @Test
    void everyAcmeKeyIsReadWithItsDefaults() throws Exception {
        caFile();
        AcmeSettings minimal = load("[emperor]\nacme-directory = https://acme.example/dir\n").proxy().acme().orElseThrow();
        assertThat(minimal).isEqualTo(new AcmeSettings(URI.create("https://acme.example/dir"), Optional.empty(),
                Optional.empty(), 30, false));

        AcmeSettings all = load("""
                [emperor]
                acme-directory = https://localhost:14000/dir
                acme-email = ops@platform.example
                acme-ca-trust = ca.pem
                acme-renew-days = 45
                acme-auto = true
                """).proxy().acme().orElseThrow();
        assertThat(all).isEqualTo(new AcmeSettings(URI.create("https://localhost:14000/dir"),
                Optional.of("ops@platform.example"), Optional.of(dir.resolve("ca.pem")), 45, true));
        assertThat(load("[emperor]\nacme-directory = acme://letsencrypt.org\n").proxy().acme().orElseThrow().directory())
                .isEqualTo(URI.create("acme://letsencrypt.org"));
    }

    @Test
    void aBadDirectoryUrlNamesKeyAndLine() throws Exception {
        assertThat(error("[emperor]\n\nacme-directory = http://acme.example/dir\n"))
                .startsWith(":3: acme-directory: bad URL 'http://acme.example/dir': expected the CA's https:// directory URL");
        assertThat(error("[emperor]\nacme-directory = https://exa mple/dir\n")).startsWith(":2: acme-directory: bad URL");
        assertThat(error("[emperor]\nacme-directory = letsencrypt\n")).startsWith(":2: acme-directory: bad URL 'letsencrypt'");
    }

    @Test
    void aBadNumberOfDaysOrSwitchNamesKeyAndLine() throws Exception {
        String head = "[emperor]\nacme-directory = https://acme.example/dir\n";
        assertThat(error(head + "acme-renew-days = soon\n"))
                .isEqualTo(":3: acme-renew-days: bad number of days 'soon': expected 1 to 3650");
        assertThat(error(head + "acme-renew-days = 0\n")).startsWith(":3: acme-renew-days: bad number of days '0'");
        assertThat(error(head + "acme-renew-days = 99999\n")).startsWith(":3: acme-renew-days: bad number of days");
        assertThat(error(head + "acme-auto = maybe\n")).isEqualTo(":3: acme-auto: expected true or false, not 'maybe'");
        assertThat(error(head + "acme-email = not-an-address\n")).startsWith(":3: acme-email: bad e-mail address");
    }

    @Test
    void aMissingOrWrongTrustFileNamesKeyAndLine() throws Exception {
        String head = "[emperor]\nacme-directory = https://acme.example/dir\n";
        assertThat(error(head + "acme-ca-trust = missing.pem\n"))
                .isEqualTo(":3: acme-ca-trust: no such file " + dir.resolve("missing.pem"));
        Files.writeString(dir.resolve("junk.pem"), "not a certificate\n");
        assertThat(error(head + "acme-ca-trust = junk.pem\n"))
                .startsWith(":3: acme-ca-trust: " + dir.resolve("junk.pem") + " holds no PEM certificate");
    }

    @Test
    void acmeKeysWithoutADirectoryAreRefused() throws Exception {
        assertThat(error("[emperor]\nacme-auto = true\n"))
                .isEqualTo(":2: acme-auto: acme-auto needs acme-directory (the CA's ACME directory URL)");
        assertThat(error("[emperor]\n\nacme-email = ops@example.com\n")).startsWith(":3: acme-email: acme-email needs acme-directory");
    }
}
