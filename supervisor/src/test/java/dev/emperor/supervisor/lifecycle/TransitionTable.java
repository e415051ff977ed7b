package dev.emperor.supervisor.lifecycle;

import dev.emperor.supervisor.lifecycle.Lifecycle.Phase;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders {@link Transition#next} as the markdown table docs/ARCHITECTURE.md prints: for each
 * phase and event, the next phase and the effects, split by the flags the outcome depends on.
 * Events with the same rows are merged; a pair that changes nothing is left out.
 */
final class TransitionTable {
    private static final String[] FLAGS = {"wanted", "valid", "waiting"};

    private TransitionTable() {}

    /** One row without its state and event: when, next phase, effects. */
    private record Row(String when, String next, String effects) {}

    static String render() {
        StringBuilder out = new StringBuilder();
        out.append("| State | Event | When | Next | Effects |\n");
        out.append("|---|---|---|---|---|\n");
        for (Phase phase : Phase.values()) {
            if (phase == Phase.GONE) continue;
            Map<List<Row>, List<String>> eventsByRows = new LinkedHashMap<>();
            for (LifecycleEvent event : LifecycleEvent.values()) {
                List<Row> rows = rows(phase, event);
                if (!rows.isEmpty()) eventsByRows.computeIfAbsent(rows, k -> new ArrayList<>()).add(event.label());
            }
            eventsByRows.forEach((rows, events) -> {
                for (Row row : rows) {
                    out.append("| ").append(phase.label()).append(" | ").append(String.join(", ", events)).append(" | ")
                            .append(row.when()).append(" | ").append(row.next()).append(" | ").append(row.effects())
                            .append(" |\n");
                }
            });
        }
        out.append("| gone | any | | gone | — |\n");
        return out.toString();
    }

    private static List<Row> rows(Phase phase, LifecycleEvent event) {
        List<boolean[]> all = assignments();
        boolean[] written = new boolean[FLAGS.length];
        for (boolean[] f : all) {
            Lifecycle next = Transition.next(lifecycle(phase, f), event).next();
            boolean[] after = {next.wanted(), next.valid(), next.waitingForStateDirectory()};
            for (int i = 0; i < FLAGS.length; i++) written[i] |= after[i] != f[i];
        }
        Map<String, List<boolean[]>> byOutcome = new LinkedHashMap<>();
        for (boolean[] f : all) {
            byOutcome.computeIfAbsent(outcome(phase, event, f, written), k -> new ArrayList<>()).add(f);
        }
        if (byOutcome.size() == 1 && byOutcome.containsKey(phase.label() + "|—")) return List.of();
        List<Row> rows = new ArrayList<>();
        Row otherwise = null;
        for (var group : byOutcome.entrySet()) {
            String[] nextAndEffects = group.getKey().split("\\|", -1);
            String when = condition(group.getValue(), all);
            if (when == null) {
                if (otherwise != null) throw new IllegalStateException("two complex conditions: " + phase + " " + event);
                otherwise = new Row("otherwise", nextAndEffects[0], nextAndEffects[1]);
            } else {
                rows.add(new Row(when, nextAndEffects[0], nextAndEffects[1]));
            }
        }
        if (otherwise != null) rows.add(otherwise);
        return rows;
    }

    private static Lifecycle lifecycle(Phase phase, boolean[] f) {
        return new Lifecycle(phase, f[0], f[1], true, f[2], 0);
    }

    /** Every combination of the flags (wanted, valid, waiting for the state directory). */
    private static List<boolean[]> assignments() {
        List<boolean[]> all = new ArrayList<>();
        for (int bits = 0; bits < 8; bits++) {
            all.add(new boolean[] {(bits & 1) == 0, (bits & 2) == 0, (bits & 4) == 0});
        }
        return all;
    }

    private static String outcome(Phase phase, LifecycleEvent event, boolean[] f, boolean[] written) {
        Transition.Step step = Transition.next(lifecycle(phase, f), event);
        Lifecycle next = step.next();
        List<String> parts = new ArrayList<>(step.effects().stream().map(Effect::label).toList());
        boolean[] after = {next.wanted(), next.valid(), next.waitingForStateDirectory()};
        for (int i = 0; i < FLAGS.length; i++) {
            if (written[i]) parts.add(FLAGS[i] + " := " + (after[i] ? "yes" : "no"));
        }
        return next.phase().label() + "|" + (parts.isEmpty() ? "—" : String.join(", ", parts));
    }

    /** "" for every combination, one or two flags, or null (the row is "otherwise"). */
    private static String condition(List<boolean[]> group, List<boolean[]> all) {
        if (group.size() == all.size()) return "";
        for (int f = 0; f < FLAGS.length; f++) {
            int flag = f;
            for (boolean x : new boolean[] {true, false}) {
                if (exactly(group, all, s -> s[flag] == x)) return literal(f, x);
            }
        }
        for (int f = 0; f < FLAGS.length; f++) {
            for (int g = f + 1; g < FLAGS.length; g++) {
                for (boolean x : new boolean[] {true, false}) {
                    for (boolean y : new boolean[] {true, false}) {
                        int a = f;
                        int b = g;
                        if (exactly(group, all, s -> s[a] == x && s[b] == y)) return literal(f, x) + ", " + literal(g, y);
                    }
                }
            }
        }
        if (exactly(group, all, s -> s[0] && s[1] && s[2])) return "wanted, valid, waiting";
        return null;
    }

    private static boolean exactly(List<boolean[]> group, List<boolean[]> all, java.util.function.Predicate<boolean[]> p) {
        return group.size() == all.stream().filter(p).count() && group.stream().allMatch(p);
    }

    private static String literal(int flag, boolean value) {
        return (value ? "" : "not ") + FLAGS[flag];
    }
}
