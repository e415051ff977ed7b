package dev.emperor.supervisor.services;

import java.util.ArrayList;
import java.util.List;

final class RecordingEvents implements ServiceEvents {
    final List<String> events = new ArrayList<>();
    final List<String> notes = new ArrayList<>();

    @Override
    public void event(String detail) {
        events.add(detail);
    }

    @Override
    public void note(String line) {
        notes.add(line);
    }
}
