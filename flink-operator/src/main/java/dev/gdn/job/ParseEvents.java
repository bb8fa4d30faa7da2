package dev.gdn.job;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.operator.EventParser;
import dev.gdn.operator.GdnOptions;
import dev.gdn.operator.StreamEvent;
import java.nio.file.Path;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/** Valid events go on; malformed ones go to the dead-letter side output with the reason, counted. */
public final class ParseEvents extends ProcessFunction<RawEvent, StreamEvent> {
    private static final long serialVersionUID = 1L;

    /** The side output of refused events. */
    public static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("dead-letters") {
        private static final long serialVersionUID = 1L;
    };

    private final Configuration config;
    private transient EventParser parser;
    private transient dev.gdn.text.ModelTokenizer tokenizer;
    private transient Counter deadLetters;

    public ParseEvents(Configuration config) {
        this.config = config;
    }

    /**
     * The job's parser for a model: its vocabulary, {@code tokenizer} (null: token ids only) and the
     * limits of {@code config} ({@code gdn.event.*}, {@code gdn.generate.max-tokens}).
     */
    public static EventParser parser(Configuration config, ModelConfig mc, dev.gdn.text.ModelTokenizer tokenizer) {
        EventParser p = new EventParser(mc.vocabSize(), config.get(GdnOptions.EVENT_MAX_TOKENS),
                config.get(GdnOptions.EVENT_MAX_KEY_BYTES), config.get(GdnOptions.EVENT_MAX_BYTES));
        p.withGenerateLimit(config.get(GdnOptions.GENERATE_MAX_TOKENS));
        if (tokenizer != null) {
            p.withTokenizer(tokenizer::encode);
        }
        return p;
    }

    @Override
    public void open(OpenContext ctx) {
        ModelConfig mc = ModelConfig.load(Path.of(config.get(GdnOptions.MODEL_PATH)));
        tokenizer = dev.gdn.text.ModelTokenizer.forModel(Path.of(config.get(GdnOptions.MODEL_PATH))).orElse(null);
        parser = parser(config, mc, tokenizer);
        deadLetters = getRuntimeContext().getMetricGroup().addGroup("gdn").counter("deadLetters");
    }

    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
            tokenizer = null;
        }
    }

    @Override
    public void processElement(RawEvent raw, Context ctx, Collector<StreamEvent> out) {
        EventParser.Parsed p = parser.parse(raw.key, raw.keyBytes, raw.value, raw.valueBytes);
        if (p.ok()) {
            out.collect(p.event());
        } else {
            deadLetters.inc();
            ctx.output(DEAD_LETTERS, new DeadLetter(raw, p.error()));
        }
    }
}
