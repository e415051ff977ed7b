package dev.emperor.tunrouter;

/** The tenant subnet has no address left that was never given out. */
public final class AddressPoolExhaustedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AddressPoolExhaustedException(String message) {
        super(message);
    }
}
