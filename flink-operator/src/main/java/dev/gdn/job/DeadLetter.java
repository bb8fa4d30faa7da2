package dev.gdn.job;

/** A malformed event with the reason it was refused: written to the dead-letter topic as it came. */
public final class DeadLetter {
    public RawEvent event;
    public String reason;

    public DeadLetter() {
    }

    public DeadLetter(RawEvent event, String reason) {
        this.event = event;
        this.reason = reason;
    }
}
