package dev.gdn.demo;

import java.nio.charset.StandardCharsets;
import java.util.Random;

/** The kinds of malformed events the demo mixes in, each refused with its own reason. */
final class BadEvents {
    private BadEvents() {
    }

    static DemoEvent make(int i, Random r, String stream) {
        String id = stream + "/bad" + i;
        String value = switch (i % 7) {
            case 0 -> "{not json";
            case 1 -> "{\"id\":\"" + id + "\",\"tokens\":[1, 999999]}";
            case 2 -> "{\"id\":\"" + id + "\"}";
            case 3 -> "{\"id\":\"" + id + "\",\"control\":\"explode\"}";
            case 4 -> "{\"id\":\"" + id + "\",\"tokens\":\"1,2,3\"}";
            case 5 -> "{\"id\":\"" + id + "\",\"tokens\":[]}";
            default -> "[1,2,3]";
        };
        return new DemoEvent(i % 11 == 10 ? null : stream, id, value.getBytes(StandardCharsets.UTF_8), -1);
    }
}
