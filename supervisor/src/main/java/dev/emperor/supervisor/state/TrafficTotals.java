package dev.emperor.supervisor.state;

/** A tenant's network traffic for good: packets and bytes each way, as the wire carries them. */
public record TrafficTotals(long packetsIn, long packetsOut, long bytesIn, long bytesOut) {
    public static final TrafficTotals ZERO = new TrafficTotals(0, 0, 0, 0);

    public TrafficTotals plus(long morePacketsIn, long morePacketsOut, long moreBytesIn, long moreBytesOut) {
        return new TrafficTotals(packetsIn + morePacketsIn, packetsOut + morePacketsOut, bytesIn + moreBytesIn,
                bytesOut + moreBytesOut);
    }
}
