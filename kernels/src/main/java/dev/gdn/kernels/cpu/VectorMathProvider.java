package dev.gdn.kernels.cpu;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Chooses the {@link VectorMath} once per JVM and says why in one log line. */
final class VectorMathProvider {
    private static final Logger LOG = LoggerFactory.getLogger(VectorMathProvider.class);
    static final VectorMath BEST = choose();

    private VectorMathProvider() {
    }

    private static VectorMath choose() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            LOG.info("CPU kernels: plain loops (module jdk.incubator.vector not present; "
                    + "run java with --add-modules jdk.incubator.vector for SIMD)");
            return ScalarMath.INSTANCE;
        }
        try {
            VectorMath simd = (VectorMath) Class.forName("dev.gdn.kernels.cpu.SimdMath")
                    .getDeclaredField("INSTANCE").get(null);
            LOG.info("CPU kernels: {} (jdk.incubator.vector)", simd.name());
            return simd;
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("jdk.incubator.vector is present but the SIMD kernels failed to load", e);
        }
    }
}
