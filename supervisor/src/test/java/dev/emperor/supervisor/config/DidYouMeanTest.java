package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class DidYouMeanTest {

    @Test
    void suggestsTheClosestKeyWithinTwoEdits() {
        assertThat(DidYouMean.closest("exce", VassalKey.keys())).contains("exec");
        assertThat(DidYouMean.closest("memroy", VassalKey.keys())).contains("memory");
        assertThat(DidYouMean.closest("tmpsize", VassalKey.keys())).contains("tmp-size");
        assertThat(DidYouMean.closest("Exec", VassalKey.keys())).contains("exec");
        assertThat(DidYouMean.closest("binds", VassalKey.keys())).contains("bind");
    }

    @Test
    void suggestsNothingForFarOffWords() {
        assertThat(DidYouMean.closest("socket", VassalKey.keys())).isEmpty();
        assertThat(DidYouMean.closest("x".repeat(10_000), VassalKey.keys())).isEmpty();
    }

    @Test
    void tiesGoToTheLongestCommonPrefixThenTheFirst() {
        assertThat(DidYouMean.closest("ab", List.of("bb", "cb"))).contains("bb");
        assertThat(DidYouMean.closest("ab", List.of("xb", "aa", "ac"))).contains("aa");
    }

    @Test
    void distanceCountsSwapsAsOneEdit() {
        assertThat(DidYouMean.distance("exec", "exec")).isZero();
        assertThat(DidYouMean.distance("exec", "exce")).isEqualTo(1);
        assertThat(DidYouMean.distance("cpu", "pcu")).isEqualTo(1);
        assertThat(DidYouMean.distance("user", "uid")).isEqualTo(3);
    }

    @Test
    void hintIsAParentheticalOrNothing() {
        assertThat(DidYouMean.hint("pid", VassalKey.keys())).isEqualTo(" (did you mean 'pids'?)");
        assertThat(DidYouMean.hint("zzzzzzzz", VassalKey.keys())).isEmpty();
    }
}
