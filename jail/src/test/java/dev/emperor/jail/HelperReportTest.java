package dev.emperor.jail;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HelperReportTest {
    @Test
    void stepIsTheHelpersFirstWord() {
        JailException e = HelperReport.toException("exec sleepy: No such file or directory", "spawn of tenant a");
        assertThat(e.step()).isEqualTo("exec");
        assertThat(e.getMessage()).isEqualTo("exec: sleepy: No such file or directory (spawn of tenant a)");
    }

    @Test
    void stepFollowedByColonIsUnderstoodToo() {
        JailException e = HelperReport.toException("ksm: PR_SET_MEMORY_MERGE not supported by this kernel", "x");
        assertThat(e.step()).isEqualTo("ksm");
        assertThat(e.getMessage()).startsWith("ksm: PR_SET_MEMORY_MERGE not supported");
    }

    @Test
    void endOfFileWithoutALineMeansThePayloadRuns() {
        try (HelperReport report = new HelperReport()) {
            report.closeWriteEnd();
            assertThat(report.await(1000, "test")).isNull();
        }
    }

    @Test
    void aWrittenLineIsTheFailure() {
        try (HelperReport report = new HelperReport()) {
            byte[] line = "pivot_root /srv/x: Invalid argument\n".getBytes();
            LibC.INSTANCE.write(report.writeFd(), line, line.length);
            report.closeWriteEnd();
            assertThat(report.await(1000, "test")).isEqualTo("pivot_root /srv/x: Invalid argument");
        }
    }
}
