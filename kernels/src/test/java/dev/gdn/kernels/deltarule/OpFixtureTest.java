package dev.gdn.kernels.deltarule;

import static dev.gdn.kernels.testing.Close.assertClose;

import dev.gdn.kernels.cpu.VectorMath;
import dev.gdn.kernels.parity.OpParity;
import dev.gdn.kernels.testing.Fixtures;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every FLA op case: the oracle and the fused form within 1e-5, the chunkwise form within 1e-4. */
@Timeout(120)
class OpFixtureTest {

    static Stream<Path> cases() {
        return Fixtures.opCases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void referenceMatchesFlaOracle(Path file) {
        check(file, new RecurrentGatedDeltaRule(), 1e-5);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void fusedRecurrentMatchesFlaOracle(Path file) {
        check(file, new FusedRecurrentGatedDeltaRule(VectorMath.best()), 1e-5);
        check(file, new FusedRecurrentGatedDeltaRule(VectorMath.scalar()), 1e-5);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void chunkwiseMatchesFlaOracle(Path file) {
        check(file, new ChunkedGatedDeltaRule(VectorMath.best()), 1e-4);
        check(file, new ChunkedGatedDeltaRule(VectorMath.scalar()), 1e-4);
    }

    private static void check(Path file, GatedDeltaRule rule, double tol) {
        OpParity.Case c = OpParity.read(file);
        float[][] out = c.run(rule);
        String name = file.getFileName() + " " + rule.getClass().getSimpleName();
        assertClose(name + " o", out[0], c.oRef(), tol);
        assertClose(name + " ht", out[1], c.htRef(), tol);
    }
}
