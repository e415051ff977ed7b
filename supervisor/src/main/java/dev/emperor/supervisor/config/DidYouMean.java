package dev.emperor.supervisor.config;

import java.util.Collection;
import java.util.Optional;

/** Suggests the known key closest to a misspelt one, for "unknown key" errors. */
final class DidYouMean {

    /** Suggestions further than this many edits away would be guesses, not help. */
    static final int MAX_DISTANCE = 2;

    private DidYouMean() {}

    /**
     * The known word closest to {@code unknown}, if one is at most {@link #MAX_DISTANCE} edits
     * away. Among equally close words the one sharing the longest prefix wins ("pid" is as
     * close to "uid" as to "pids"; people get the start of a word right), then the first.
     */
    static Optional<String> closest(String unknown, Collection<String> known) {
        String best = null;
        int bestDistance = MAX_DISTANCE + 1;
        int bestPrefix = -1;
        for (String candidate : known) {
            int distance = distance(unknown, candidate);
            int prefix = commonPrefix(unknown, candidate);
            if (distance < bestDistance || (distance == bestDistance && best != null && prefix > bestPrefix)) {
                best = candidate;
                bestDistance = distance;
                bestPrefix = prefix;
            }
        }
        return Optional.ofNullable(best);
    }

    private static int commonPrefix(String a, String b) {
        int i = 0;
        while (i < a.length() && i < b.length() && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return i;
    }

    /** " (did you mean 'x'?)" or "". */
    static String hint(String unknown, Collection<String> known) {
        return closest(unknown, known).map(k -> " (did you mean '" + k + "'?)").orElse("");
    }

    /**
     * Edit distance counting insertions, deletions, substitutions and swaps of two neighbouring
     * characters as one edit each (optimal string alignment), so "exce" is one edit from "exec".
     */
    static int distance(String a, String b) {
        if (Math.abs(a.length() - b.length()) > MAX_DISTANCE) {
            return MAX_DISTANCE + 1; // cheap exit; also bounds work on hostile long keys
        }
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
