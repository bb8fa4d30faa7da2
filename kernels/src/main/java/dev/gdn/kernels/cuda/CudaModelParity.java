package dev.gdn.kernels.cuda;

import dev.gdn.kernels.model.ForwardResult;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.kernels.parity.RelativeError;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** The parity gate of the whole-model GPU benchmarks and tests: the GPU's logits against the CPU's. */
final class CudaModelParity {
    private CudaModelParity() {
    }

    /** Relative error of the GPU's logits against the CPU's: 3 streams of 5, 70 and 1 tokens, then a step. */
    static double logitsError(GatedDeltaNetModel cpu, GatedDeltaNetModel gpu) {
        Random r = new Random(3);
        int[] lengths = {5, 70, 1};
        List<StreamMemory> cm = new ArrayList<>();
        List<StreamMemory> gm = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            cm.add(cpu.newMemory());
            gm.add(gpu.newMemory());
        }
        double worst = 0;
        for (int round = 0; round < 2; round++) {
            List<StreamInput> cb = new ArrayList<>();
            List<StreamInput> gb = new ArrayList<>();
            for (int i = 0; i < lengths.length; i++) {
                int[] toks = r.ints(round == 0 ? lengths[i] : 1, 0, cpu.config().vocabSize()).toArray();
                cb.add(new StreamInput(cm.get(i), toks));
                gb.add(new StreamInput(gm.get(i), toks.clone()));
            }
            ForwardResult c = cpu.forward(cb);
            ForwardResult g = gpu.forward(gb);
            worst = Math.max(worst, RelativeError.of(g.logits(), c.logits()).value());
        }
        return worst;
    }
}
