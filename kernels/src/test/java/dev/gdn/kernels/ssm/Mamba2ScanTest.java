package dev.gdn.kernels.ssm;

import static dev.gdn.kernels.testing.Close.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.cpu.VectorMath;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The chunked (SSD) scan against the token-by-token recurrence and against a double-precision loop
 * written from the recurrence, over runs that end before, on and after chunk boundaries, split into
 * pieces, with hard forgets (large dt) among the tokens.
 */
class Mamba2ScanTest {

    record Case(int heads, int p, int n, int groups, int rows, float[] xbc, float[] dt, float[] negA, float[] d,
            float[] state) {
        int inner() {
            return heads * p;
        }

        int conv() {
            return inner() + 2 * groups * n;
        }
    }

    static Case random(int heads, int p, int n, int groups, int rows, long seed) {
        Random r = new Random(seed);
        int conv = heads * p + 2 * groups * n;
        float[] xbc = new float[rows * conv];
        for (int i = 0; i < xbc.length; i++) {
            xbc[i] = (float) r.nextGaussian() * 0.5f;
        }
        float[] dt = new float[rows * heads];
        for (int i = 0; i < dt.length; i++) {
            dt[i] = r.nextInt(10) == 0 ? 5f * r.nextFloat() : 0.1f * r.nextFloat();
        }
        float[] negA = new float[heads];
        float[] d = new float[heads];
        for (int h = 0; h < heads; h++) {
            negA[h] = (float) -Math.exp(r.nextGaussian());
            d[h] = (float) r.nextGaussian();
        }
        float[] state = new float[heads * p * n];
        for (int i = 0; i < state.length; i++) {
            state[i] = (float) r.nextGaussian() * 0.3f;
        }
        return new Case(heads, p, n, groups, rows, xbc, dt, negA, d, state);
    }

    /** The recurrence in double: {y, state}. */
    static double[][] oracle(Case c) {
        double[] s = new double[c.state().length];
        for (int i = 0; i < s.length; i++) {
            s[i] = c.state()[i];
        }
        double[] y = new double[c.rows() * c.inner()];
        for (int r = 0; r < c.rows(); r++) {
            int xo = r * c.conv();
            for (int h = 0; h < c.heads(); h++) {
                int g = h / (c.heads() / c.groups());
                double dt = c.dt()[r * c.heads() + h];
                double a = Math.exp(dt * c.negA()[h]);
                for (int i = 0; i < c.p(); i++) {
                    double x = c.xbc()[xo + h * c.p() + i];
                    double out = 0;
                    for (int k = 0; k < c.n(); k++) {
                        int si = (h * c.p() + i) * c.n() + k;
                        s[si] = a * s[si] + dt * x * c.xbc()[xo + c.inner() + g * c.n() + k];
                        out += s[si] * c.xbc()[xo + c.inner() + c.groups() * c.n() + g * c.n() + k];
                    }
                    y[r * c.inner() + h * c.p() + i] = out + c.d()[h] * x;
                }
            }
        }
        return new double[][] {y, s};
    }

    static float[] floats(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }

    @ParameterizedTest(name = "H={0} P={1} N={2} G={3}, {4} rows in pieces {5}, chunks of {6}")
    @CsvSource({"4, 8, 16, 1, 100, 100, 64", "4, 8, 16, 2, 100, 40;1;1;30;28, 16", "2, 16, 8, 1, 129, 63;64;2, 32",
        "8, 32, 16, 1, 70, 70, 64", "3, 4, 5, 3, 17, 5;12, 4"})
    void chunkedMatchesTheRecurrenceAndTheDoubleOracle(int heads, int p, int n, int groups, int rows, String pieces,
            int chunk) {
        Case c = random(heads, p, n, groups, rows, heads * 31L + rows);
        Mamba2Scan scan = new Mamba2Scan(heads, p, n, groups);
        double[][] want = oracle(c);
        float[] recY = new float[rows * c.inner()];
        float[] recS = c.state().clone();
        float[] chY = new float[rows * c.inner()];
        float[] chS = c.state().clone();
        int r0 = 0;
        for (String piece : pieces.split(";")) {
            int len = Integer.parseInt(piece.trim());
            scan.recurrent(c.xbc(), c.dt(), c.negA(), c.d(), r0, len, recS, recY);
            scan.chunked(VectorMath.best(), c.xbc(), c.dt(), c.negA(), c.d(), r0, len, chunk, chS, chY);
            r0 += len;
        }
        assertThat(r0).isEqualTo(rows);
        assertClose("recurrent y vs fp64", recY, floats(want[0]), 1e-5);
        assertClose("recurrent state vs fp64", recS, floats(want[1]), 1e-5);
        assertClose("chunked y vs fp64", chY, floats(want[0]), 1e-4);
        assertClose("chunked state vs fp64", chS, floats(want[1]), 1e-4);
        assertClose("chunked y vs recurrent", chY, recY, 1e-4);
    }
}
