package dev.gdn.kernels.head;

/**
 * Limited-memory BFGS for smooth functions of a few thousand variables (Nocedal and Wright, algorithm
 * 7.4: the two-loop recursion over the last {@value #HISTORY} steps), with a backtracking line search
 * on the Armijo condition. Pairs whose curvature {@code s.y} is not positive are not kept, so the
 * implied Hessian stays positive definite.
 */
final class Lbfgs {
    private static final int HISTORY = 10;
    private static final double ARMIJO = 1e-4;
    private static final int MAX_BACKTRACKS = 40;

    private Lbfgs() {
    }

    /** A function and its gradient. */
    interface Function {
        /** Returns f(x) and writes its gradient into {@code grad}. */
        double evaluate(double[] x, double[] grad);
    }

    /** Where the search ended. */
    record Result(double[] x, double value, int iterations, boolean converged) {
    }

    /** Minimizes {@code f} from {@code x0} (changed in place) until the gradient's largest entry is below {@code tol}. */
    static Result minimize(Function f, double[] x0, int maxIterations, double tol) {
        int n = x0.length;
        double[] x = x0;
        double[] g = new double[n];
        double fx = f.evaluate(x, g);
        double[][] s = new double[HISTORY][];
        double[][] y = new double[HISTORY][];
        double[] rho = new double[HISTORY];
        double[] alpha = new double[HISTORY];
        int stored = 0;
        int newest = -1;
        double[] xNew = new double[n];
        double[] gNew = new double[n];
        double[] d = new double[n];
        for (int it = 0; it < maxIterations; it++) {
            if (maxAbs(g) < tol) {
                return new Result(x, fx, it, true);
            }
            // d = -H g by the two-loop recursion
            System.arraycopy(g, 0, d, 0, n);
            for (int k = 0; k < stored; k++) {
                int i = Math.floorMod(newest - k, HISTORY);
                alpha[i] = rho[i] * dot(s[i], d);
                axpy(-alpha[i], y[i], d);
            }
            double gamma = stored == 0 ? 1.0 / Math.max(1e-12, Math.sqrt(dot(g, g))) : dot(s[newest], y[newest])
                    / dot(y[newest], y[newest]);
            for (int i = 0; i < n; i++) {
                d[i] *= gamma;
            }
            for (int k = stored - 1; k >= 0; k--) {
                int i = Math.floorMod(newest - k, HISTORY);
                double beta = rho[i] * dot(y[i], d);
                axpy(alpha[i] - beta, s[i], d);
            }
            for (int i = 0; i < n; i++) {
                d[i] = -d[i];
            }
            double slope = dot(g, d);
            if (!(slope < 0)) {
                // not a descent direction (rounding): restart from steepest descent
                stored = 0;
                for (int i = 0; i < n; i++) {
                    d[i] = -g[i] / Math.max(1e-12, Math.sqrt(dot(g, g)));
                }
                slope = dot(g, d);
            }
            double step = 1;
            double fNew = Double.NaN;
            boolean accepted = false;
            for (int b = 0; b < MAX_BACKTRACKS; b++) {
                for (int i = 0; i < n; i++) {
                    xNew[i] = x[i] + step * d[i];
                }
                fNew = f.evaluate(xNew, gNew);
                if (fNew <= fx + ARMIJO * step * slope) {
                    accepted = true;
                    break;
                }
                step *= 0.5;
            }
            if (!accepted) {
                // no decrease to be had along any step: as close as rounding allows
                return new Result(x, fx, it, maxAbs(g) < tol);
            }
            // a pair that is not kept must not overwrite the oldest one still in use: fresh arrays each step
            double[] sk = new double[n];
            double[] yk = new double[n];
            for (int i = 0; i < n; i++) {
                sk[i] = xNew[i] - x[i];
                yk[i] = gNew[i] - g[i];
            }
            double sy = dot(sk, yk);
            if (sy > 1e-12 * Math.sqrt(dot(sk, sk) * dot(yk, yk))) {
                int next = (newest + 1) % HISTORY;
                s[next] = sk;
                y[next] = yk;
                rho[next] = 1 / sy;
                newest = next;
                stored = Math.min(HISTORY, stored + 1);
            }
            System.arraycopy(xNew, 0, x, 0, n);
            System.arraycopy(gNew, 0, g, 0, n);
            boolean flat = Math.abs(fx - fNew) <= 1e-15 * Math.max(1, Math.abs(fx));
            fx = fNew;
            if (flat) {
                return new Result(x, fx, it + 1, maxAbs(g) < tol);
            }
        }
        return new Result(x, fx, maxIterations, maxAbs(g) < tol);
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static void axpy(double a, double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            y[i] += a * x[i];
        }
    }

    private static double maxAbs(double[] v) {
        double m = 0;
        for (double e : v) {
            m = Math.max(m, Math.abs(e));
        }
        return m;
    }
}
