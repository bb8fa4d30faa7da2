package dev.gdn.state;

/** Serialized stream memory that cannot be read: says what was found and what was expected. */
public class MemoryFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public MemoryFormatException(String message) {
        super(message);
    }

    public MemoryFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
