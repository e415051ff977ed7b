package dev.emperor.proxy.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class HostNamesTest {

    @Test
    void certificateWildcardCoversExactlyOneLabel() {
        assertThat(HostNames.certificateCovers("*.a.com", "x.a.com")).isTrue();
        assertThat(HostNames.certificateCovers("*.a.com", "y.x.a.com")).isFalse();
        assertThat(HostNames.certificateCovers("*.a.com", "a.com")).isFalse();
        assertThat(HostNames.certificateCovers("x.a.com", "x.a.com")).isTrue();
    }

    @Test
    void tenantWildcardClaimsEveryNameBelow() {
        assertThat(HostNames.domainClaims("*.a.com", "y.x.a.com")).isTrue();
        assertThat(HostNames.domainClaims("*.a.com", "a.com")).isFalse();
        assertThat(HostNames.domainClaims("*.a.com", "xa.com")).isFalse();
    }

    @Test
    void certificateNamesMustStayInsideTheDomains() {
        assertThat(HostNames.withinDomains("*.x.a.com", List.of("*.a.com"))).isTrue();
        assertThat(HostNames.withinDomains("*.a.com", List.of("*.x.a.com"))).isFalse();
        assertThat(HostNames.withinDomains("*.a.com", List.of("x.a.com"))).isFalse();
        assertThat(HostNames.withinDomains("x.a.com", List.of("*.a.com"))).isTrue();
    }

    @Test
    void malformedCertificateNamesAreRecognised() {
        assertThat(HostNames.isValidCertificateName("shop.example.com")).isTrue();
        assertThat(HostNames.isValidCertificateName("*.example.com")).isTrue();
        assertThat(HostNames.isValidCertificateName("*")).isFalse();
        assertThat(HostNames.isValidCertificateName("*.com.")).isFalse();
        assertThat(HostNames.isValidCertificateName("f*o.example.com")).isFalse();
        assertThat(HostNames.isValidCertificateName("a..b")).isFalse();
        assertThat(HostNames.normalize("Shop.Example.COM.")).isEqualTo("shop.example.com");
    }
}
