package dev.emperor.jail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.jail.seccomp.SeccompPolicy;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class JailSpecTest {
    private static JailSpec.Builder required() {
        return JailSpec.builder().name("alice").hostname("alice.test").distroRoot(Path.of("/srv/distro"))
                .runDir(Path.of("/run/alice")).homeDir(Path.of("/srv/home/alice")).homePath("/home/alice")
                .uid(100_000).gid(100_001).argv(List.of("/bin/sh")).cwd("/home/alice");
    }

    @Test
    void theBuilderPutsEachPartWhereItsNameSays() {
        JailSpec spec = required().optDir(Path.of("/srv/opt")).tmpBytes(64L << 20)
                .binds(List.of(new BindMount(Path.of("/srv/data"), "/data", true))).groups(List.of(27))
                .env(List.of("PATH=/bin")).limits(new Limits(1L << 30, 50, 100))
                .seccomp(new SeccompPolicy(java.util.Set.of("ptrace"))).ksm(true).build();
        assertThat(spec).isEqualTo(new JailSpec("alice", "alice.test", Path.of("/srv/distro"), Path.of("/run/alice"),
                Path.of("/srv/home/alice"), "/home/alice", Path.of("/srv/opt"), 64L << 20,
                List.of(new BindMount(Path.of("/srv/data"), "/data", true)), 100_000, 100_001, List.of(27),
                List.of("/bin/sh"), List.of("PATH=/bin"), "/home/alice", new Limits(1L << 30, 50, 100),
                new SeccompPolicy(java.util.Set.of("ptrace")), true));
    }

    @Test
    void whatIsNotGivenIsNothingExtra() {
        JailSpec spec = required().build();
        assertThat(spec.optDir()).isNull();
        assertThat(spec.tmpBytes()).isEqualTo(1 << 20);
        assertThat(spec.binds()).isEmpty();
        assertThat(spec.groups()).isEmpty();
        assertThat(spec.env()).isEmpty();
        assertThat(spec.limits()).isEqualTo(Limits.NONE);
        assertThat(spec.seccomp()).isEqualTo(SeccompPolicy.DEFAULT);
        assertThat(spec.ksm()).isFalse();
    }

    @Test
    void aSpecWithoutItsIdentityIsRefusedNamingThePart() {
        assertThatThrownBy(() -> required().uid(-1).build()).hasMessage("jail spec without uid");
        assertThatThrownBy(() -> required().homePath(null).build()).hasMessage("jail spec without homePath");
        assertThatThrownBy(() -> JailSpec.builder().build()).hasMessage("jail spec without name");
    }

    @Test
    void toBuilderChangesOnlyWhatIsSet() {
        JailSpec spec = required().ksm(true).build();
        assertThat(spec.toBuilder().build()).isEqualTo(spec);
        assertThat(spec.toBuilder().cwd("/").build()).isEqualTo(new JailSpec("alice", "alice.test", Path.of("/srv/distro"),
                Path.of("/run/alice"), Path.of("/srv/home/alice"), "/home/alice", null, 1 << 20, List.of(), 100_000,
                100_001, List.of(), List.of("/bin/sh"), List.of(), "/", Limits.NONE, SeccompPolicy.DEFAULT, true));
    }
}
