package dev.emperor.supervisor.config;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A parsed INI file: its sections in the order they first appear, each with its entries in
 * file order. Repeated keys are all kept; a section that appears twice is one section whose
 * entries are those of both parts, in file order (as uWSGI reads them).
 */
public final class IniDocument {

    /** One {@code key = value} line; {@code line} is 1-based. */
    public record Entry(String key, String value, int line) {}

    private final Path file;
    private final Map<String, List<Entry>> sections;
    private final Map<String, Integer> sectionLines;

    IniDocument(Path file, Map<String, List<Entry>> sections, Map<String, Integer> sectionLines) {
        this.file = file;
        Map<String, List<Entry>> copy = new LinkedHashMap<>();
        sections.forEach((name, entries) -> copy.put(name, List.copyOf(entries)));
        this.sections = Collections.unmodifiableMap(copy);
        this.sectionLines = Map.copyOf(sectionLines);
    }

    /** The file this document was read from (used in error messages). */
    public Path file() {
        return file;
    }

    /** Section names in order of first appearance. */
    public Set<String> sectionNames() {
        return sections.keySet();
    }

    public boolean hasSection(String name) {
        return sections.containsKey(name);
    }

    /** Line of the section's first header, or 0 if there is no such section. */
    public int sectionLine(String name) {
        return sectionLines.getOrDefault(name, 0);
    }

    /** The section's entries in file order; empty if there is no such section. */
    public List<Entry> entries(String section) {
        return sections.getOrDefault(section, List.of());
    }
}
