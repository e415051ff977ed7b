package dev.emperor.supervisor.control;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Answers one control request ({@code {"cmd":"status",...}}) with one response
 * ({@code {"ok":true,...}} or {@code {"ok":false,"error":"..."}}). Called concurrently, one call
 * per connection; an exception becomes {@code {"ok":false,"error":MESSAGE}}.
 */
@FunctionalInterface
public interface ControlHandler {
    ObjectNode handle(ObjectNode request) throws Exception;
}
