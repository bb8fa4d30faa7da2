package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

/** Compares two results field by field, numbers within a relative tolerance (GPU results across bundles). */
final class JsonWithin {
    private JsonWithin() {
    }

    /** Every field equal, numbers within {@code rel} of each other (relative to the larger, at least 1). */
    static void assertSameWithin(JsonNode actual, JsonNode expected, double rel, String where) {
        if (expected.isNumber() && !expected.isIntegralNumber()) {
            assertThat(actual.isNumber()).as(where).isTrue();
            double a = actual.asDouble();
            double e = expected.asDouble();
            assertThat(Math.abs(a - e)).as(where).isLessThanOrEqualTo(rel * Math.max(1, Math.max(Math.abs(a), Math.abs(e))));
            return;
        }
        if (expected.isContainerNode()) {
            assertThat(actual.size()).as(where).isEqualTo(expected.size());
            var names = expected.fieldNames();
            if (expected.isObject()) {
                while (names.hasNext()) {
                    String n = names.next();
                    assertSameWithin(actual.path(n), expected.get(n), rel, where + "." + n);
                }
            } else {
                for (int i = 0; i < expected.size(); i++) {
                    assertSameWithin(actual.get(i), expected.get(i), rel, where + "[" + i + "]");
                }
            }
            return;
        }
        assertThat(actual).as(where).isEqualTo(expected);
    }
}
