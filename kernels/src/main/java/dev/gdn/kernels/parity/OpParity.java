package dev.gdn.kernels.parity;

import dev.gdn.kernels.cpu.VectorMath;
import dev.gdn.kernels.deltarule.ChunkedGatedDeltaRule;
import dev.gdn.kernels.deltarule.DeltaRuleInputs;
import dev.gdn.kernels.deltarule.DeltaRuleShape;
import dev.gdn.kernels.deltarule.FusedRecurrentGatedDeltaRule;
import dev.gdn.kernels.deltarule.GatedDeltaRule;
import dev.gdn.kernels.deltarule.RecurrentGatedDeltaRule;
import dev.gdn.kernels.io.SafetensorsFile;
import dev.gdn.kernels.io.SafetensorsFormatException;
import dev.gdn.kernels.io.TensorInfo;
import java.nio.file.Path;

/**
 * A gated delta rule case in FLA's op fixture format: q, k {@code [B,T,H,K]}, v {@code [B,T,HV,V]},
 * g, beta {@code [B,T,HV]}, h0 {@code [B,HV,K,V]}, and the oracle outputs o_ref, ht_ref.
 */
public final class OpParity {
    /** The inputs and references of one case. */
    public record Case(DeltaRuleShape shape, int batch, int tokens, float[] q, float[] k, float[] v, float[] g,
            float[] beta, float[] h0, float[] oRef, float[] htRef) {

        /** Runs {@code rule} over every sequence; returns {o, ht}. */
        public float[][] run(GatedDeltaRule rule) {
            float[] o = new float[oRef.length];
            float[] state = h0.clone();
            float scale = (float) (1.0 / Math.sqrt(shape.keyDim()));
            for (int b = 0; b < batch; b++) {
                DeltaRuleInputs in = new DeltaRuleInputs(shape, b * tokens, tokens, q, k, v, g, beta, scale);
                rule.forward(in, state, b * shape.stateSize(), o);
            }
            return new float[][] {o, state};
        }
    }

    private OpParity() {
    }

    /**
     * Reads a case.
     *
     * @throws SafetensorsFormatException naming a missing tensor or inconsistent shapes
     */
    public static Case read(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            TensorInfo qi = f.info("q");
            TensorInfo vi = f.info("v");
            if (qi.shape().length != 4 || vi.shape().length != 4) {
                throw new SafetensorsFormatException(file + ": q and v must be 4-d [B,T,H,K] / [B,T,HV,V], found "
                        + qi.shapeString() + " and " + vi.shapeString());
            }
            int[] qs = qi.intShape();
            int[] vs = vi.intShape();
            int b = qs[0];
            int t = qs[1];
            if (qs[2] < 1 || vs[2] % qs[2] != 0) {
                throw new SafetensorsFormatException(file + ": HV=" + vs[2] + " is not a multiple of H=" + qs[2]);
            }
            DeltaRuleShape shape = new DeltaRuleShape(qs[2], vs[2], qs[3], vs[3]);
            expect(f, "k", b, t, qs[2], qs[3]);
            expect(f, "v", b, t, vs[2], vs[3]);
            expect(f, "g", b, t, vs[2]);
            expect(f, "beta", b, t, vs[2]);
            expect(f, "h0", b, vs[2], qs[3], vs[3]);
            expect(f, "o_ref", b, t, vs[2], vs[3]);
            expect(f, "ht_ref", b, vs[2], qs[3], vs[3]);
            return new Case(shape, b, t, f.floats("q"), f.floats("k"), f.floats("v"), f.floats("g"), f.floats("beta"),
                    f.floats("h0"), f.floats("o_ref"), f.floats("ht_ref"));
        }
    }

    private static void expect(SafetensorsFile f, String name, int... shape) {
        TensorInfo t = f.info(name);
        if (!t.hasShape(shape)) {
            throw new SafetensorsFormatException(f.path() + ": tensor '" + name + "' has shape " + t.shapeString()
                    + ", expected " + java.util.Arrays.toString(shape));
        }
    }

    /**
     * Compares the reference loop and the fused recurrent form within {@code tolerance}, and the
     * chunkwise form within {@code 10 * tolerance}, against o_ref and ht_ref.
     */
    public static ParityReport check(Case c, double tolerance) {
        ParityReport r = new ParityReport();
        VectorMath m = VectorMath.best();
        compare(r, "reference", c, new RecurrentGatedDeltaRule(), tolerance);
        compare(r, "fused_recurrent", c, new FusedRecurrentGatedDeltaRule(m), tolerance);
        compare(r, "chunk", c, new ChunkedGatedDeltaRule(m), 10 * tolerance);
        return r;
    }

    /** Adds the lines of another form (a GPU kernel, say) to a report. */
    public static void compare(ParityReport r, String form, Case c, GatedDeltaRule rule, double tol) {
        float[][] out = c.run(rule);
        r.add(form + " o", out[0], c.oRef(), tol);
        r.add(form + " ht", out[1], c.htRef(), tol);
    }
}
