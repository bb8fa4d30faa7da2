package dev.gdn.state;

/** What to do with a stream memory that another model computed (a different fingerprint). */
public enum ModelChangePolicy {
    /** Refuse to restore, naming both fingerprints (the default: a memory is meaningless to another model). */
    FAIL,
    /** Start such streams afresh: log and count every reset ({@link MemoryResets}). */
    RESET
}
