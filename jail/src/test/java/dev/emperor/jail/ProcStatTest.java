package dev.emperor.jail;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ProcStatTest {
    @Test
    void startTimeIsField22CountedFromTheLastParenthesis() {
        // A command name may contain spaces and ')' itself.
        String stat = "4242 (evil) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assertThat(ProcStat.startTimeField(stat)).isEqualTo(987654L);
    }

    @Test
    void ownProcessHasAStartTimeAndACommandLine() {
        int self = (int) ProcessHandle.current().pid();
        assertThat(ProcStat.startTimeOf(self)).isPresent();
        assertThat(ProcStat.commandLineOf(self)).hasValueSatisfying(argv -> assertThat(argv).isNotEmpty());
    }

    @Test
    void missingProcessHasNoStartTime() {
        // Above the kernel's largest possible pid_max (2^22).
        assertThat(ProcStat.startTimeOf(4_194_305)).isEmpty();
        assertThat(ProcStat.commandLineOf(4_194_305)).isEmpty();
    }
}
