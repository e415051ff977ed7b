package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.jail.seccomp.SeccompCompiler;
import dev.emperor.jail.seccomp.SeccompPolicy;
import org.junit.jupiter.api.Test;

class RelaxableSyscallsTest {
    @Test
    void everyNameAVassalMayRelaxIsOneTheJailDeniesAndAccepts() {
        assertThat(SeccompCompiler.deniedSyscalls()).containsAll(RelaxableSyscalls.NAMES);
        // the jail compiles a filter with every one of them relaxed
        assertThat(SeccompCompiler.compile(new SeccompPolicy(RelaxableSyscalls.NAMES))).isNotEmpty();
    }
}
