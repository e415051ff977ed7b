package dev.emperor.tunrouter;

/**
 * A firewall rule Emperor refuses. The message reads {@code ORIGIN: firewall rule 'TEXT': PROBLEM},
 * e.g. {@code emperor.ini:12: firewall rule 'deny 10.0.0.0/33 0.0.0.0': mask '/33' is not a
 * number from 0 to 32}, so the operator can go straight to the line.
 */
public final class FirewallRuleException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String origin;
    private final String ruleText;
    private final String problem;

    public FirewallRuleException(String origin, String ruleText, String problem) {
        super(problem);
        this.origin = origin;
        this.ruleText = ruleText;
        this.problem = problem;
    }

    /** Where the rule was written, e.g. {@code emperor.ini:12}. */
    public String origin() {
        return origin;
    }

    public String ruleText() {
        return ruleText;
    }

    public String problem() {
        return problem;
    }

    @Override
    public String getMessage() {
        String shown = ruleText.length() > 120 ? ruleText.substring(0, 117) + "..." : ruleText;
        // Per-tenant rules come from files tenants' panels write: keep escapes out of the logs.
        return escapeControlCharacters(origin + ": firewall rule '" + shown + "': " + problem);
    }

    private static String escapeControlCharacters(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
