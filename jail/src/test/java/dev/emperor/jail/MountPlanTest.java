package dev.emperor.jail;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class MountPlanTest {
    private static JailSpec spec(String homePath, List<BindMount> binds) {
        return JailSpec.builder().name("a").hostname("a").distroRoot(Path.of("/srv/distro")).runDir(Path.of("/run/a"))
                .homeDir(Path.of("/srv/home/a")).homePath(homePath).binds(binds).uid(1000).gid(1000)
                .argv(List.of("true")).cwd("/").build();
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
