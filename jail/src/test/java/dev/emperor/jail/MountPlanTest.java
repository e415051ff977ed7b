package dev.emperor.jail;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.jail.seccomp.SeccompPolicy;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class MountPlanTest {
    private static JailSpec spec(String homePath, List<BindMount> binds) {
        return new JailSpec("a", "a", Path.of("/srv/distro"), Path.of("/run/a"), Path.of("/srv/home/a"), homePath,
                null, 1 << 20, binds, 1000, 1000, List.of(), List.of("true"), List.of(), "/", Limits.NONE,
                SeccompPolicy.DEFAULT, false);
    }

    @Test
    void acceptsCleanAbsolutePaths() {
        assertThatCode(() -> MountPlan.validate(spec("/home/a", List.of(new BindMount(Path.of("/srv/x"), "/srv/x", false)))))
                .doesNotThrowAnyException();
    }

    @Test
    void refusesAHomePathThatClimbsOut() {
        assertThatThrownBy(() -> MountPlan.validate(spec("/home/../etc", List.of())))
                .isInstanceOf(JailException.class)
                .hasMessageContaining("/home/../etc");
    }

    @Test
    void refusesRelativeOrRootBindTargets() {
        assertThatThrownBy(() -> MountPlan.validate(spec("/home/a", List.of(new BindMount(Path.of("/x"), "srv", true)))))
                .hasMessageContaining("bind target");
        assertThatThrownBy(() -> MountPlan.validate(spec("/home/a", List.of(new BindMount(Path.of("/x"), "/", true)))))
                .hasMessageContaining("bind target");
    }
}
