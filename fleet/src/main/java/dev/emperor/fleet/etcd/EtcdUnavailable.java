package dev.emperor.fleet.etcd;

/** etcd did not answer (or refused) a request the fleet needs; the message says which. */
public final class EtcdUnavailable extends Exception {
    public EtcdUnavailable(String doing, Throwable cause) {
        super("etcd: " + doing + ": " + describe(cause), cause);
    }

    private static String describe(Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String message = root.getMessage();
        return message == null ? root.getClass().getSimpleName() : message;
    }
}
