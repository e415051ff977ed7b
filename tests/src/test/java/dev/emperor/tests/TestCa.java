package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;

/**
 * A throw-away certificate authority made with openssl in a test's directory ("Emperor Test
 * CA", P-256), and leaf certificates it signs for tenants' names, in the bundle form
 * {@code emperor cert put} takes: key, leaf, CA.
 */
final class TestCa {
    private final Path dir;

    private TestCa(Path dir) {
        this.dir = dir;
    }

    /** Makes ca.key and ca.pem in {@code dir}. */
    static TestCa create(Path dir) {
        check(TenantWebApp.run(List.of("bash", "-c", "cd " + dir + " && openssl req -x509 -newkey ec"
                + " -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 -subj '/CN=Emperor Test CA'"
                + " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
                + " 2>&1 && echo DONE")));
        return new TestCa(dir);
    }

    /** The CA certificate (PEM). */
    Path certificate() {
        return dir.resolve("ca.pem");
    }

    /** A bundle: leaf key, leaf certificate for {@code name} signed by this CA, CA certificate. */
    Path bundleFor(String name) {
        return bundleFor(name, name);
    }

    /**
     * A bundle whose leaf has common name {@code name} (also its files' name, so no '*') and
     * the DNS names {@code dnsNames} (wildcards allowed).
     */
    Path bundleFor(String name, String... dnsNames) {
        String san = String.join(",", java.util.Arrays.stream(dnsNames).map(n -> "DNS:" + n).toList());
        check(TenantWebApp.run(List.of("bash", "-c", "cd " + dir + " && printf 'subjectAltName=" + san
                + "\\nextendedKeyUsage=serverAuth\\nkeyUsage=critical,digitalSignature\\nbasicConstraints=CA:FALSE\\n' > "
                + name + ".ext && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name
                + ".key -out " + name + ".csr -subj '/CN=" + name + "' 2>&1 && openssl x509 -req -in " + name
                + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 10 -extfile " + name + ".ext -out " + name
                + ".crt 2>&1 && cat " + name + ".key " + name + ".crt ca.pem > " + name + ".bundle.pem && echo DONE")));
        return dir.resolve(name + ".bundle.pem");
    }

    /**
     * The base64 SHA-256 of the subject public key info of {@code name}'s leaf (made by
     * {@link #bundleFor}): what Chromium's --ignore-certificate-errors-spki-list takes.
     */
    String leafSpkiHash(String name) {
        String out = TenantWebApp.run(List.of("bash", "-c", "cd " + dir + " && openssl x509 -in " + name
                + ".crt -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64"));
        String hash = out.strip();
        assertThat(hash).as("SPKI hash of %s", name).matches("[A-Za-z0-9+/]{43}=");
        return hash;
    }

    private static void check(String output) {
        assertThat(output).as("openssl").contains("DONE");
    }
}
