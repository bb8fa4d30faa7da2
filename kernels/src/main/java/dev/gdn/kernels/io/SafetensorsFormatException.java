package dev.gdn.kernels.io;

/** A safetensors file that cannot be read: what was found and what was expected. */
public class SafetensorsFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SafetensorsFormatException(String message) {
        super(message);
    }

    public SafetensorsFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
