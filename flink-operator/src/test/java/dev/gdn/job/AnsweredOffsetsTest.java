package dev.gdn.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** A restored source position is checked against the job's own record of the offsets it answered. */
class AnsweredOffsetsTest {
    private final List<String> probed = new ArrayList<>();

    /** Kafka as a read_committed reader sees it: records at the offsets given, markers elsewhere. */
    private AnsweredOffsets.GapProbe records(long... at) {
        return (topic, partition, from, before) -> {
            probed.add(topic + "-" + partition + ":" + from + ".." + before);
            for (long o : at) {
                if (o >= from && o < before) {
                    return OptionalLong.of(o);
                }
            }
            return OptionalLong.empty();
        };
    }

    @Test
    void aSourceThatContinuesRightAfterTheRecordPassesWithoutAskingKafka() {
        AnsweredOffsets o = new AnsweredOffsets(Map.of("in-0", 2036L), records());
        o.pass("in", 0, 2037);
        o.pass("in", 0, 2038);
        assertThat(probed).isEmpty();
        assertThat(o.snapshot()).containsEntry("in-0", 2038L);
    }

    @Test
    void aRewoundSourceIsRefusedWithBothOffsets() {
        AnsweredOffsets o = new AnsweredOffsets(Map.of("in-0", 2036L), records());
        assertThatThrownBy(() -> o.pass("in", 0, 1037)).isInstanceOf(AnsweredOffsets.OffsetMismatchException.class)
                .hasMessageContaining("resumes partition in-0 at offset 1037")
                .hasMessageContaining("records events up to offset 2036 as answered")
                .hasMessageContaining("(rewound)");
        AnsweredOffsets same = new AnsweredOffsets(Map.of("in-0", 2036L), records());
        assertThatThrownBy(() -> same.pass("in", 0, 2036)).hasMessageContaining("(rewound)");
    }

    @Test
    void aSourceMovedForwardOverRecordsIsRefused() {
        AnsweredOffsets o = new AnsweredOffsets(Map.of("in-0", 2036L), records(2037, 2038, 2087));
        assertThatThrownBy(() -> o.pass("in", 0, 2087))
                .hasMessageContaining("resumes partition in-0 at offset 2087")
                .hasMessageContaining("only up to offset 2036")
                .hasMessageContaining("the record at offset 2037 lies between")
                .hasMessageContaining("(moved forward)");
        assertThat(probed).containsExactly("in-0:2037..2087");
    }

    @Test
    void aGapOfTransactionMarkersAloneIsAccepted() {
        AnsweredOffsets o = new AnsweredOffsets(Map.of("in-0", 2036L), records(2040));
        o.pass("in", 0, 2040);
        assertThat(probed).containsExactly("in-0:2037..2040");
        o.pass("in", 0, 2045);
        assertThat(probed).as("only the first record after a restore is checked").hasSize(1);
    }

    @Test
    void eachPartitionIsCheckedOnceAndAFreshStartChecksNothing() {
        AnsweredOffsets o = new AnsweredOffsets(Map.of("in-0", 10L, "in-1", 20L), records());
        o.pass("in", 1, 21);
        assertThatThrownBy(() -> o.pass("in", 0, 3)).hasMessageContaining("partition in-0");
        AnsweredOffsets fresh = new AnsweredOffsets(Map.of(), records());
        fresh.pass("in", 0, 0);
        fresh.pass("in", 0, 7);
        assertThat(fresh.snapshot()).containsExactly(Map.entry("in-0", 7L));
    }

    @Test
    void theRecordKeepsPartitionsNotSeenSinceTheRestoreAndMergesSubtasksByTheHighestOffset() {
        AnsweredOffsets o = new AnsweredOffsets(Map.of("in-0", 10L, "in-1", 20L), records());
        o.pass("in", 1, 21);
        assertThat(o.snapshot()).containsOnly(Map.entry("in-0", 10L), Map.entry("in-1", 21L));
        assertThat(AnsweredOffsets.merge(List.of(Map.entry("in-0", 10L), Map.entry("in-0", 15L),
                Map.entry("in-1", 3L)))).containsOnly(Map.entry("in-0", 15L), Map.entry("in-1", 3L));
    }
}
