package dev.gdn.kernels.cuda;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;

/**
 * CUDA graphs of a repeating sequence of launches, keyed by shape: the first run of a key goes eagerly
 * (it may allocate buffers), the second is captured from the stream and replayed from then on, as one
 * launch. Graphs hold device addresses, so they are all dropped when a buffer moves (see
 * {@link #validate}). At most {@value #MAX} graphs are kept; one caller at a time.
 */
final class GraphCache implements AutoCloseable {
    private static final int MAX = 64;

    private final CudaDevice device;
    private final CUstream_st stream;
    private final Map<Long, CUgraphExec_st> graphs = new HashMap<>();
    private final Set<Long> seen = new HashSet<>();
    private long generation = -1;
    private int captures;

    GraphCache(CudaDevice device, CUstream_st stream) {
        this.device = device;
        this.stream = stream;
    }

    /** Drops every graph when {@code bufferGeneration} differs from the one they were captured under. */
    void validate(long bufferGeneration) {
        if (bufferGeneration != generation) {
            clear();
            generation = bufferGeneration;
        }
    }

    /** Runs {@code body} for {@code key}: eagerly the first time, then as a captured graph. */
    void run(long key, Runnable body) {
        CUgraphExec_st exec = graphs.get(key);
        if (exec == null && seen.contains(key) && graphs.size() < MAX) {
            exec = capture(body);
            graphs.put(key, exec);
        }
        if (exec == null) {
            seen.add(key);
            body.run();
            return;
        }
        device.bind();
        Cuda.check("cuGraphLaunch", cudart.cuGraphLaunch(exec, stream));
    }

    /** Graphs captured so far. */
    int captures() {
        return captures;
    }

    private CUgraphExec_st capture(Runnable body) {
        device.bind();
        Cuda.check("cuStreamBeginCapture", cudart.cuStreamBeginCapture(stream,
                cudart.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
        CUgraph_st graph = new CUgraph_st();
        try {
            body.run();
        } finally {
            Cuda.check("cuStreamEndCapture", cudart.cuStreamEndCapture(stream, graph));
        }
        CUgraphExec_st exec = new CUgraphExec_st();
        try {
            Cuda.check("cuGraphInstantiate", cudart.cuGraphInstantiate(exec, graph, 0));
        } finally {
            cudart.cuGraphDestroy(graph);
        }
        captures++;
        return exec;
    }

    private void clear() {
        device.bind();
        for (CUgraphExec_st e : graphs.values()) {
            cudart.cuGraphExecDestroy(e);
        }
        graphs.clear();
        seen.clear();
    }

    @Override
    public void close() {
        clear();
    }
}
