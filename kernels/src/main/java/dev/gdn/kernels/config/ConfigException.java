package dev.gdn.kernels.config;

/** A model configuration that cannot be used: names the key, the value found and what is expected. */
public class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
