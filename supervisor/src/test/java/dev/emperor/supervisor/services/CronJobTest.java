package dev.emperor.supervisor.services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CronJobTest {

    @Test
    void theCommandIsHandedWholeToTheTenantsShellAsCrontabDoes() {
        CronJob job = CronJob.parse("@daily cd /home/shop && ./backup > last.log 2>&1");
        assertThat(job.argv()).containsExactly("/bin/sh", "-c", "cd /home/shop && ./backup > last.log 2>&1");
    }

    @Test
    void quotesAndSpacingInsideTheCommandAreKeptAsWritten() {
        CronJob job = CronJob.parse("-5 -1 -1 -1 -1   echo 'a  b' \"$HOME\"");
        assertThat(job.argv()).containsExactly("/bin/sh", "-c", "echo 'a  b' \"$HOME\"");
        assertThat(job.line()).isEqualTo("-5 -1 -1 -1 -1   echo 'a  b' \"$HOME\"");
    }

    @Test
    void aLineWithoutACommandIsRefusedNamingWhatIsMissing() {
        assertThatThrownBy(() -> CronJob.parse("* * * * *")).hasMessageContaining("no command");
        assertThatThrownBy(() -> CronJob.parse("@daily   ")).hasMessageContaining("no command");
    }
}
